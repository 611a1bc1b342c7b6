import { afterEach, describe, expect, it } from "vitest";
import type { Command } from "../../src/core/commands/command.js";
import { createTestAssistant, inbound } from "./assistant-fixtures.js";

let close: (() => void) | undefined;
afterEach(() => close?.());

/** A command whose suggestions echo where they were asked, or fail when told to. */
function probe(adminOnly: boolean): Command {
  return {
    name: "probe",
    usage: "probe <thing>",
    summary: "test",
    adminOnly,
    arguments: "required",
    visibility: "asker",
    parameters: [
      {
        name: "thing",
        description: "a thing",
        required: true,
        suggest: async ({ message, partial, filled }) => {
          if (partial === "boom") throw new Error("store down");
          return [
            { label: `from ${message.workspaceId}/${message.channelId}`, value: `${message.channelId}-a` },
            { label: `filled ${JSON.stringify(filled)}`, value: `${message.channelId}-b` },
            ...Array.from({ length: 40 }, (_, index) => ({ label: `n${index}`, value: `n${index}` })),
          ];
        },
      },
    ],
    run: async () => undefined,
  };
}

function setup(commands: Command[]) {
  const created = createTestAssistant(undefined, { commands });
  close = created.close;
  return created.assistant;
}

describe("suggestions while typing a command's parameter", () => {
  it("asks the parameter with the asker's place and filled values, narrows by what was typed, at most 25", async () => {
    const assistant = setup([probe(false)]);
    const request = (partial: string) =>
      assistant.suggest({
        message: inbound({ workspaceId: "W9", channelId: "C9" }),
        command: "probe",
        parameter: "thing",
        partial,
        filled: { other: "x" },
      });
    const all = await request("");
    expect(all).toHaveLength(25);
    expect(all[0]).toEqual({ label: "from W9/C9", value: "C9-a" });
    expect(all[1]?.label).toBe('filled {"other":"x"}');
    expect((await request("C9-")).map((suggestion) => suggestion.value)).toEqual(["C9-a", "C9-b"]);
  });

  it("offers nothing for an admin command to a non-admin, for unknown commands or parameters, or when the lookup fails", async () => {
    const assistant = setup([probe(true)]);
    const base = { command: "probe", parameter: "thing", partial: "", filled: {} };
    expect(await assistant.suggest({ ...base, message: inbound({ isAdmin: false }) })).toEqual([]);
    expect(await assistant.suggest({ ...base, message: inbound({ isAdmin: true }) })).toHaveLength(25);
    // A guest from another organisation is never an admin here.
    expect(
      await assistant.suggest({ ...base, message: inbound({ isAdmin: true, isExternal: true }) }),
    ).toEqual([]);
    expect(
      await assistant.suggest({ ...base, command: "nope", message: inbound({ isAdmin: true }) }),
    ).toEqual([]);
    expect(
      await assistant.suggest({ ...base, parameter: "nope", message: inbound({ isAdmin: true }) }),
    ).toEqual([]);
    expect(
      await assistant.suggest({ ...base, partial: "boom", message: inbound({ isAdmin: true }) }),
    ).toEqual([]);
  });
});
