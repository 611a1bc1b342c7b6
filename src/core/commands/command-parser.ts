import type { Command } from "./command.js";

export type ParsedInput =
  | { kind: "command"; command: Command; args: string }
  | { kind: "usage"; command: Command }
  | { kind: "unknown"; word: string }
  | { kind: "conversation"; text: string };

/**
 * Splits an inbound text into a command or a conversation message. The longest command name that
 * the text starts with wins (`memory show` before `memory`). A leading `/` is accepted so the
 * terminal can type `/help` like a slash command.
 *
 * @param explicit true when the platform said this is a command (slash command), so an unknown
 *   word is reported instead of being treated as a question.
 */
export function parseInput(text: string, commands: readonly Command[], explicit: boolean): ParsedInput {
  const trimmed = text.trim().replace(/^\/(?=\S)/, "");
  const lower = trimmed.toLowerCase();
  const byLength = [...commands].sort((a, b) => b.name.length - a.name.length);
  for (const command of byLength) {
    if (!lower.startsWith(command.name)) continue;
    const rest = trimmed.slice(command.name.length);
    if (rest.length > 0 && !/^\s/.test(rest)) continue;
    const args = rest.trim();
    if (command.arguments === "none" && args.length > 0) {
      if (explicit) return { kind: "usage", command };
      continue;
    }
    if (command.arguments === "required" && args.length === 0) {
      // "remember" alone in conversation is more likely a question than a command.
      if (!explicit) continue;
      return { kind: "usage", command };
    }
    return { kind: "command", command, args };
  }
  if (explicit) {
    const word = lower.split(/\s+/)[0] ?? "";
    return word ? { kind: "unknown", word } : { kind: "conversation", text: "" };
  }
  return { kind: "conversation", text: trimmed };
}
