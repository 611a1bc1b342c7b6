import Database from "better-sqlite3";
import { ApplicationCommandOptionType } from "discord.js";
import { describe, expect, it } from "vitest";
import { DISCORD_COMMANDS } from "../../../src/adapters/discord/discord-commands.js";
import { stripMentions } from "../../../src/adapters/discord/discord-platform-adapter.js";
import { SqliteMemoryStore } from "../../../src/adapters/sqlite/sqlite-memory-store.js";
import { createAssistant } from "../../../src/core/assistant.js";
import { parseInput } from "../../../src/core/commands/command-parser.js";
import { createKnowledgeCommands } from "../../../src/core/commands/knowledge-commands.js";
import type { KnowledgeBase } from "../../../src/core/knowledge/knowledge-base.js";
import { silentLogger } from "../../../src/core/ports/logger.js";

describe("Discord text and commands", () => {
  it("keeps line breaks when the mention is taken out", () => {
    const text = stripMentions(
      "<@123> summarize this:\n- first point\n- second   point\n\n```\ncode\n```",
      "123",
      undefined,
    );
    expect(text).toBe("summarize this:\n- first point\n- second point\n\n```\ncode\n```");
  });

  it("every slash command without required options is a complete core command (no usage line)", () => {
    const database = new Database(":memory:");
    const assistant = createAssistant({
      store: new SqliteMemoryStore(database),
      llm: undefined,
      logger: silentLogger,
      promptTokenBudget: 6000,
      allowGeneralKnowledge: false,
      // Only names and argument rules are read here; no command runs.
      commands: createKnowledgeCommands({} as KnowledgeBase),
    });
    const checked: string[] = [];
    type Option = { type: number; name: string; required?: boolean; options?: Option[] };
    const lines = (prefix: string, options: Option[]): string[] => {
      const subcommands = options.filter(
        (option) =>
          option.type === ApplicationCommandOptionType.Subcommand ||
          option.type === ApplicationCommandOptionType.SubcommandGroup,
      );
      if (subcommands.length > 0) {
        return subcommands.flatMap((option) => lines(`${prefix} ${option.name}`, option.options ?? []));
      }
      return options.some((option) => option.required) ? [] : [prefix];
    };
    for (const command of DISCORD_COMMANDS) {
      for (const line of lines(command.name, (command.options ?? []) as Option[])) {
        expect(parseInput(line, assistant.commands, true).kind, `/${line}`).toBe("command");
        checked.push(line);
      }
    }
    expect(checked).toContain("feedback");
    database.close();
  });
});
