import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ApplicationCommandOptionType } from "discord.js";
import { describe, expect, it } from "vitest";
import { DISCORD_COMMANDS } from "../../../src/adapters/discord/discord-commands.js";
import { stripMentions } from "../../../src/adapters/discord/discord-platform-adapter.js";
import { createApplication } from "../../../src/application.js";
import { loadConfig } from "../../../src/config.js";
import { parseInput } from "../../../src/core/commands/command-parser.js";
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

  it("every slash command without required options is a complete core command (no usage line)", async () => {
    // The whole application's command list, as the bot builds it (usage, sources and all).
    const directory = mkdtempSync(join(tmpdir(), "teammate-discord-commands-"));
    const application = await createApplication(
      loadConfig({ DATA_DIR: directory, ENABLE_TOOLS: "false" }),
      silentLogger,
    );
    const assistant = application.assistant;
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
    expect(checked).toContain("usage");
    await application.close();
    rmSync(directory, { recursive: true, force: true });
  });
});
