import {
  type APIApplicationCommandBasicOption,
  type APIApplicationCommandOption,
  type APIApplicationCommandSubcommandOption,
  type APIModalInteractionResponseCallbackData,
  ApplicationCommandOptionType,
  ApplicationCommandType,
  type CommandInteractionOption,
  ComponentType,
  InteractionContextType,
  type RESTPostAPIApplicationCommandsJSONBody,
  TextInputStyle,
} from "discord.js";
import type { Command, CommandParameter } from "../../core/commands/command.js";
import type { Attachment } from "../../core/types.js";

/**
 * Discord's documented limits for application commands
 * (@see https://discord.com/developers/docs/interactions/application-commands#registering-a-command).
 */
const DISCORD_LIMITS = {
  commands: 100,
  messageCommands: 5,
  options: 25,
  nameLength: 32,
  descriptionLength: 100,
  choices: 25,
  choiceLength: 100,
  modalTitle: 45,
  modalFields: 5,
  labelLength: 45,
  textInputLength: 4000,
} as const;

const OPTION_NAME = /^[-_\p{L}\p{N}]{1,32}$/u;

/** Message context-menu commands (right-click a message → Apps), and what each does with it. */
export const MESSAGE_COMMANDS = {
  summarize: "Summarize thread",
  translate: "Translate",
  ask: "Ask about this",
} as const;

/** A modal's `custom_id` prefix: the core command whose longer parameters it asks for. */
export const COMMAND_FORM = "command-form:";
/** A modal's `custom_id` prefix: the question about one message (`ask-about:<message id>`). */
export const ASK_ABOUT_FORM = "ask-about:";

export interface DiscordCommandSet {
  /** The registration payload (bulk overwrite): chat-input commands, then message commands. */
  definitions: RESTPostAPIApplicationCommandsJSONBody[];
  /** The core command a slash command (and its subcommand, if any) stands for. */
  find(commandName: string, subcommand: string | null): Command | undefined;
  /** The core command a modal was opened for, from its `custom_id`. */
  findForm(customId: string): Command | undefined;
}

/** Whether a command's arguments are asked in a modal: it has a longer text (a persona, a brief). */
export function asksInForm(command: Command): boolean {
  return (command.parameters ?? []).some((parameter) => parameter.long);
}

/**
 * Generates teammate's Discord commands from core's command list, so the two cannot drift: a
 * one-word command becomes `/name`, two-word ones sharing a first word become subcommands of it
 * (`/memory show`), and a one-word command that others extend becomes the subcommand its
 * `subcommandName` says (`/sync now`, because Discord cannot run a command that has subcommands).
 * Parameters become options (required ones first, as Discord demands; the command line keeps
 * core's order); parameters with suggestions get autocomplete; a command with a longer text
 * parameter has no options and opens a modal instead. Throws when core's list breaks a rule
 * Discord would refuse, so start-up (and the drift test) fails instead of Discord.
 */
export function generateDiscordCommands(commands: readonly Command[]): DiscordCommandSet {
  const groups = new Map<string, Command[]>();
  for (const command of commands) {
    const words = command.name.split(" ");
    if (words.length > 2) throw new Error(`"${command.name}": Discord commands take at most two words`);
    const group = groups.get(words[0] ?? "") ?? [];
    group.push(command);
    groups.set(words[0] ?? "", group);
  }
  const routes = new Map<string, Command>();
  const definitions: RESTPostAPIApplicationCommandsJSONBody[] = [];
  for (const [name, group] of groups) {
    checkName(name);
    const base = group.find((command) => command.name === name);
    const subcommands = group.filter((command) => command !== base);
    if (subcommands.length === 0 && base) {
      routes.set(name, base);
      definitions.push({
        ...chatInput(name, describe(base)),
        ...(asksInForm(base) ? {} : optionsOf(base)),
      });
      continue;
    }
    const options: APIApplicationCommandSubcommandOption[] = [];
    const members = base ? [base, ...subcommands] : subcommands;
    for (const command of members) {
      const subcommand = command === base ? base.subcommandName : command.name.split(" ")[1];
      if (!subcommand) {
        throw new Error(
          `"${name}" has subcommands, so it needs a subcommandName to be offered on Discord as well`,
        );
      }
      checkName(subcommand);
      if (routes.has(`${name} ${subcommand}`)) throw new Error(`"${name} ${subcommand}" is generated twice`);
      routes.set(`${name} ${subcommand}`, command);
      options.push({
        type: ApplicationCommandOptionType.Subcommand,
        name: subcommand,
        description: describe(command),
        ...(asksInForm(command)
          ? {}
          : (optionsOf(command) as { options?: APIApplicationCommandBasicOption[] })),
      });
    }
    if (options.length > DISCORD_LIMITS.options) throw new Error(`"${name}" has more than 25 subcommands`);
    definitions.push({
      ...chatInput(name, `${capitalize(name)}: ${members.map((command) => command.name).join(", ")}`),
      options,
    });
  }
  if (definitions.length > DISCORD_LIMITS.commands) throw new Error("more than 100 slash commands");
  for (const name of Object.values(MESSAGE_COMMANDS)) {
    definitions.push({
      type: ApplicationCommandType.Message,
      name,
      contexts: [InteractionContextType.Guild, InteractionContextType.BotDM],
    });
  }
  const forms = new Map(
    commands.filter(asksInForm).map((command) => [`${COMMAND_FORM}${command.name}`, command]),
  );
  return {
    definitions,
    find: (commandName, subcommand) => routes.get(subcommand ? `${commandName} ${subcommand}` : commandName),
    findForm: (customId) => forms.get(customId),
  };
}

function chatInput(name: string, description: string) {
  return {
    type: ApplicationCommandType.ChatInput as const,
    name,
    description: shorten(description, DISCORD_LIMITS.descriptionLength),
    // Guilds and DMs with the bot; teammate is a guild install, not a user-installed app.
    contexts: [InteractionContextType.Guild, InteractionContextType.BotDM],
  };
}

function describe(command: Command): string {
  const text = `${capitalize(command.summary)}${command.adminOnly ? " (admins)" : ""}`;
  return shorten(text, DISCORD_LIMITS.descriptionLength);
}

function optionsOf(command: Command): { options?: APIApplicationCommandOption[] } {
  const parameters = command.parameters ?? [];
  if (parameters.length === 0) return {};
  if (parameters.length > DISCORD_LIMITS.options) throw new Error(`"${command.name}" has over 25 parameters`);
  const options = parameters.map(toOption);
  // Discord refuses a required option after an optional one; the command line keeps core's order.
  options.sort((a, b) => Number(b.required ?? false) - Number(a.required ?? false));
  return { options };
}

function toOption(parameter: CommandParameter): APIApplicationCommandBasicOption {
  checkName(parameter.name);
  const common = {
    name: parameter.name,
    description: shorten(parameter.description, DISCORD_LIMITS.descriptionLength),
    required: parameter.required ?? false,
  };
  if (parameter.type === "attachment") return { ...common, type: ApplicationCommandOptionType.Attachment };
  if (parameter.type === "integer") {
    return {
      ...common,
      type: ApplicationCommandOptionType.Integer,
      ...(parameter.minValue === undefined ? {} : { min_value: parameter.minValue }),
      ...(parameter.maxValue === undefined ? {} : { max_value: parameter.maxValue }),
    };
  }
  const maxLength = Math.min(parameter.maxLength ?? 6000, 6000);
  if (parameter.choices) {
    if (parameter.choices.length > DISCORD_LIMITS.choices)
      throw new Error(`"${parameter.name}": over 25 choices`);
    return {
      ...common,
      type: ApplicationCommandOptionType.String,
      choices: parameter.choices.map((choice) => ({
        name: shorten(choice.label, DISCORD_LIMITS.choiceLength),
        value: choice.value,
      })),
    };
  }
  return {
    ...common,
    type: ApplicationCommandOptionType.String,
    max_length: maxLength,
    ...(parameter.suggest ? { autocomplete: true } : {}),
  };
}

/** The modal that asks for a command's parameters (at most five text fields). */
export function commandForm(command: Command): APIModalInteractionResponseCallbackData {
  const parameters = (command.parameters ?? []).filter((parameter) => parameter.type !== "attachment");
  if (parameters.length > DISCORD_LIMITS.modalFields)
    throw new Error(`"${command.name}": over 5 modal fields`);
  return {
    custom_id: `${COMMAND_FORM}${command.name}`,
    title: shorten(capitalize(command.name), DISCORD_LIMITS.modalTitle),
    components: parameters.map((parameter) => ({
      type: ComponentType.Label,
      label: shorten(capitalize(parameter.name), DISCORD_LIMITS.labelLength),
      description: shorten(parameter.description, DISCORD_LIMITS.descriptionLength),
      component: {
        type: ComponentType.TextInput,
        custom_id: parameter.name,
        style: parameter.long ? TextInputStyle.Paragraph : TextInputStyle.Short,
        required: parameter.required ?? false,
        max_length: Math.min(
          parameter.maxLength ?? DISCORD_LIMITS.textInputLength,
          DISCORD_LIMITS.textInputLength,
        ),
      },
    })),
  };
}

/** The modal "Ask about this" opens: one question about the message it was used on. */
export function askAboutForm(messageId: string): APIModalInteractionResponseCallbackData {
  return {
    custom_id: `${ASK_ABOUT_FORM}${messageId}`,
    title: "Ask teammate about this message",
    components: [
      {
        type: ComponentType.Label,
        label: "Your question",
        description: "teammate answers it with this message and the team's documents",
        component: {
          type: ComponentType.TextInput,
          custom_id: "question",
          style: TextInputStyle.Paragraph,
          required: true,
          max_length: 2000,
        },
      },
    ],
  };
}

/** What one slash command or modal means to core. */
export interface CommandLine {
  text: string;
  attachments: Attachment[];
}

/**
 * The core command line for a command and the values given for its parameters: the name, then each
 * given value after its separator, in core's parameter order (`translate French: bonjour`).
 */
export function commandLine(command: Command, values: ReadonlyMap<string, string>): string {
  let text = command.name;
  for (const parameter of command.parameters ?? []) {
    const value = values.get(parameter.name)?.trim();
    if (!value) continue;
    text += `${parameter.separator ?? " "}${value}`;
  }
  return text;
}

/**
 * Turns a slash command's resolved options into the core command line and its attachments:
 * option values by name (Discord's order is not core's), attachment options as `Attachment`s with
 * their CDN URL instead of text.
 */
export function toCommandLine(command: Command, options: readonly CommandInteractionOption[]): CommandLine {
  const values = new Map<string, string>();
  const attachments: Attachment[] = [];
  const visit = (list: readonly CommandInteractionOption[]) => {
    for (const option of list) {
      if (
        option.type === ApplicationCommandOptionType.Subcommand ||
        option.type === ApplicationCommandOptionType.SubcommandGroup
      ) {
        visit(option.options ?? []);
      } else if (option.type === ApplicationCommandOptionType.Attachment) {
        const file = option.attachment;
        if (file) {
          attachments.push({
            name: file.name,
            url: file.url,
            mimeType: file.contentType ?? undefined,
            sizeBytes: file.size,
          });
        }
      } else if (option.value !== undefined && option.value !== "") {
        values.set(option.name, String(option.value));
      }
    }
  };
  visit(options);
  return { text: commandLine(command, values), attachments };
}

function checkName(name: string): void {
  if (!OPTION_NAME.test(name) || name !== name.toLowerCase() || name.length > DISCORD_LIMITS.nameLength) {
    throw new Error(`"${name}" is not a valid Discord command or option name`);
  }
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function shorten(text: string, limit: number): string {
  const characters = [...text];
  return characters.length <= limit ? text : `${characters.slice(0, limit - 1).join("")}…`;
}
