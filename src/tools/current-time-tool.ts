import { z } from "zod";
import type { Tool } from "../core/ports/tool.js";

const input = z.object({
  timeZone: z
    .string()
    .trim()
    .min(1)
    .max(64)
    .default("UTC")
    .describe('An IANA time zone such as "Europe/Berlin" or "America/New_York". Defaults to UTC.'),
});

/** `current_time`: today's date and the time in a time zone, from the host clock via `Intl`. */
export function createCurrentTimeTool(now: () => Date = () => new Date()): Tool<z.output<typeof input>> {
  return {
    name: "current_time",
    description:
      "Get the current date, weekday and time in an IANA time zone. Use it for anything about 'today' or 'now'.",
    inputSchema: input,
    risk: "read",
    async execute({ timeZone }) {
      let format: Intl.DateTimeFormat;
      try {
        format = new Intl.DateTimeFormat("en-US", {
          timeZone,
          dateStyle: "full",
          timeStyle: "long",
          hourCycle: "h23",
        });
      } catch {
        throw new Error(`"${timeZone}" is not a known IANA time zone (try "Europe/Paris" or "UTC").`);
      }
      const instant = now();
      return `${format.format(instant)} (${timeZone}; ISO ${instant.toISOString()})`;
    },
  };
}
