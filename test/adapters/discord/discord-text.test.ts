import {
  type APIApplicationCommandOption,
  ApplicationCommandOptionType,
  ApplicationCommandType,
  type CommandInteractionOption,
} from "discord.js";
import { beforeAll, describe, expect, it } from "vitest";
import {
  asksInForm,
  commandForm,
  commandLine,
  generateDiscordCommands,
  toCommandLine,
} from "../../../src/adapters/discord/discord-commands.js";
import { stripMentions } from "../../../src/adapters/discord/discord-inbound.js";
import type { Command } from "../../../src/core/commands/command.js";
import { parseInput } from "../../../src/core/commands/command-parser.js";
import { applicationCommands } from "../../support/application-commands.js";
import { documentedLimitProblem } from "../../support/discord-stand-in.js";
import { OpenApiValidator } from "../../support/openapi-validator.js";

let commands: readonly Command[] = [];

beforeAll(async () => {
  commands = await applicationCommands();
});

type Option = APIApplicationCommandOption & { options?: Option[]; required?: boolean };

/** Every invocable path of the generated commands: `[name]` or `[name, subcommand]`, with its options. */
function invocations(definitions: ReturnType<typeof generateDiscordCommands>["definitions"]) {
  const found: Array<{ path: string[]; options: Option[] }> = [];
  for (const definition of definitions) {
    if ((definition.type ?? ApplicationCommandType.ChatInput) !== ApplicationCommandType.ChatInput) continue;
    const options = ((definition as { options?: Option[] }).options ?? []) as Option[];
    const subcommands = options.filter((option) => option.type === ApplicationCommandOptionType.Subcommand);
    if (subcommands.length === 0) found.push({ path: [definition.name], options });
    for (const subcommand of subcommands) {
      found.push({ path: [definition.name, subcommand.name], options: subcommand.options ?? [] });
    }
  }
  return found;
}

/** A value a person might give an option: the first choice, the smallest number, a word. */
function sampleValue(option: Option): string | number | undefined {
  if (option.type === ApplicationCommandOptionType.Attachment) return undefined;
  if ("choices" in option && option.choices?.[0]) return option.choices[0].value;
  if (option.type === ApplicationCommandOptionType.Integer)
    return (option as { min_value?: number }).min_value ?? 3;
  return `sample-${option.name}`;
}

/** The resolved options discord.js would hand the adapter, for these options filled in. */
function resolved(path: string[], options: Option[], only: (option: Option) => boolean) {
  const values = options
    .filter(only)
    .map((option) => ({ name: option.name, type: option.type, value: sampleValue(option) }))
    .filter((option) => option.value !== undefined) as CommandInteractionOption[];
  return path.length === 2
    ? [{ name: path[1] ?? "", type: ApplicationCommandOptionType.Subcommand, options: values }]
    : values;
}

describe("Discord text and commands", () => {
  it("keeps line breaks when the mention is taken out", () => {
    const text = stripMentions(
      "<@123> summarize this:\n- first point\n- second   point\n\n```\ncode\n```",
      "123",
      undefined,
    );
    expect(text).toBe("summarize this:\n- first point\n- second point\n\n```\ncode\n```");
  });

  it("cannot drift from core: every core command is reachable, and every generated one parses to it with its arguments", () => {
    const set = generateDiscordCommands(commands);
    const reached = new Set<Command>();
    for (const { path, options } of invocations(set.definitions)) {
      const command = set.find(path[0] ?? "", path[1] ?? null);
      expect(command, `/${path.join(" ")}`).toBeDefined();
      if (!command) continue;
      reached.add(command);
      if (asksInForm(command)) {
        // No options: the modal asks for every parameter, and its submission parses the same way.
        expect(options, `/${path.join(" ")}`).toEqual([]);
        const form = commandForm(command);
        const fields = form.components.map(
          (component) => (component as { component: { custom_id: string } }).component.custom_id,
        );
        expect(fields).toEqual((command.parameters ?? []).map((parameter) => parameter.name));
        const values = new Map(fields.map((field) => [field, `sample-${field}`]));
        const line = commandLine(command, values);
        const parsed = parseInput(line, commands, true);
        expect(parsed.kind === "command" && parsed.command, line).toBe(command);
        for (const value of values.values())
          expect(parsed.kind === "command" && parsed.args, line).toContain(value);
        continue;
      }
      // Everything filled in: the command, with every value in its arguments.
      const full = toCommandLine(
        command,
        resolved(path, options, () => true),
      );
      const parsed = parseInput(full.text, commands, true);
      expect(parsed.kind === "command" && parsed.command, `/${path.join(" ")} → ${full.text}`).toBe(command);
      for (const option of options) {
        const value = sampleValue(option);
        if (value !== undefined && parsed.kind === "command")
          expect(parsed.args, full.text).toContain(String(value));
      }
      // Only what Discord requires: still that command, never its usage line.
      const minimal = toCommandLine(
        command,
        resolved(path, options, (option) => option.required === true),
      );
      const parsedMinimal = parseInput(minimal.text, commands, true);
      expect(parsedMinimal.kind, `/${path.join(" ")} → ${minimal.text}`).toBe("command");
      expect(parsedMinimal.kind === "command" && parsedMinimal.command).toBe(command);
    }
    for (const command of commands) expect(reached.has(command), command.name).toBe(true);
    expect([...reached].map((command) => command.name)).toEqual(
      expect.arrayContaining([
        "feedback",
        "usage",
        "sync",
        "sync stop",
        "index",
        "config quota",
        "finetune use",
      ]),
    );
  });

  it("generates what Discord accepts: the spec's schema and its documented limits", () => {
    const { definitions } = generateDiscordCommands(commands);
    const validator = new OpenApiValidator("discord/openapi.subset.json", "/api/v10");
    const template = "/applications/{application_id}/commands";
    const result = validator.validateRequestBody(template, "PUT", definitions);
    expect(result.errors).toBeFalsy();
    expect(documentedLimitProblem(template, definitions)).toBeUndefined();
    expect(
      definitions
        .filter((definition) => definition.type === ApplicationCommandType.Message)
        .map((definition) => definition.name),
    ).toEqual(["Summarize thread", "Translate", "Ask about this"]);
  });

  it("refuses a core list Discord could not take, instead of registering part of it", () => {
    const base = commands.find((command) => command.name === "help") as Command;
    expect(() =>
      generateDiscordCommands([
        { ...base, name: "report" },
        { ...base, name: "report weekly" },
      ]),
    ).toThrow(/subcommandName/);
    expect(() => generateDiscordCommands([{ ...base, name: "Help Me" }])).toThrow(/not a valid/);
    expect(() =>
      generateDiscordCommands(
        Array.from({ length: 101 }, (_, index) => ({ ...base, name: `command-${index}` })),
      ),
    ).toThrow(/100/);
    expect(() =>
      generateDiscordCommands(
        Array.from({ length: 26 }, (_, index) => ({ ...base, name: `group sub-${index}` })),
      ),
    ).toThrow(/25/);
  });
});
