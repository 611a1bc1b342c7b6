import {
  ApplicationCommandOptionType,
  ApplicationCommandType,
  type CommandInteractionOption,
  InteractionContextType,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
} from "discord.js";
import type { Attachment } from "../../core/types.js";

/**
 * teammate's slash commands, as data. Each becomes the core command line `<name> <option values…>`
 * (`/index url:x` → `index x`, `/memory forget` → `memory forget`), so core parses every platform's
 * commands the same way. A later issue adds a command by appending an entry here; the registration
 * payload is this list as-is (bulk overwrite), checked against the spec in the adapter tests.
 */
const DEFINITIONS: Array<Omit<RESTPostAPIChatInputApplicationCommandsJSONBody, "type" | "contexts">> = [
  {
    name: "ask",
    description: "Ask teammate a question; it answers from the team's documents with sources",
    options: [
      {
        type: ApplicationCommandOptionType.String,
        name: "question",
        description: "What do you want to know?",
        required: true,
        max_length: 2000,
      },
    ],
  },
  {
    name: "index",
    description: "Admins: teach teammate a document, a site, a #channel or github:owner/repo",
    options: [
      {
        type: ApplicationCommandOptionType.String,
        name: "url",
        description: "A link, a #channel or github:owner/repo/path; add --every 1d to keep it synced",
        required: false,
        max_length: 2000,
      },
      {
        type: ApplicationCommandOptionType.Attachment,
        name: "attachment",
        description: "A file to index (PDF, Markdown, text, HTML)",
        required: false,
      },
    ],
  },
  { name: "docs", description: "List the documents teammate has indexed, with chunk counts" },
  {
    name: "forget-doc",
    description: "Admins: remove an indexed document and all its chunks",
    options: [
      {
        type: ApplicationCommandOptionType.String,
        name: "id",
        description: "The document id, as shown by /docs",
        required: true,
        max_length: 200,
      },
    ],
  },
  {
    name: "sync",
    description: "Admins: sync a source now (ids are shown by /docs)",
    options: [
      {
        type: ApplicationCommandOptionType.String,
        name: "source",
        description: "The source id, as shown by /docs; `stop <id>` drops its schedule",
        required: true,
        max_length: 200,
      },
    ],
  },
  {
    name: "memory",
    description: "See or clear what teammate remembers in this channel",
    options: [
      {
        type: ApplicationCommandOptionType.Subcommand,
        name: "show",
        description: "Show the conversation summary and notes teammate keeps here",
      },
      {
        type: ApplicationCommandOptionType.Subcommand,
        name: "forget",
        description: "Admins: clear the conversation summary and notes teammate keeps here",
      },
    ],
  },
  {
    name: "remember",
    description: "Give teammate a long-term note for this channel",
    options: [
      {
        type: ApplicationCommandOptionType.String,
        name: "note",
        description: "What teammate should remember",
        required: true,
        max_length: 1000,
      },
    ],
  },
  {
    name: "persona",
    description: "Admins: set how teammate speaks in this channel",
    options: [
      {
        type: ApplicationCommandOptionType.String,
        name: "text",
        description: "The persona, e.g. 'a concise senior engineer'",
        required: true,
        max_length: 1000,
      },
    ],
  },
  {
    name: "summarize",
    description: "Summarize the recent conversation in this channel or thread",
  },
  { name: "sources", description: "Show the passages teammate's last answer here was based on" },
  // Core's `feedback` takes no words: it shows the channel's 👍/👎 counts to admins.
  { name: "feedback", description: "👍/👎 counts for this channel and the latest 👎 answers (admins)" },
  {
    name: "usage",
    description: "Tokens and estimated cost of teammate's LLM calls, for you, this channel or the server",
    options: [
      {
        type: ApplicationCommandOptionType.String,
        name: "for",
        description: "Whose usage (default: you)",
        required: false,
        choices: [
          { name: "me", value: "me" },
          { name: "this channel", value: "channel" },
          { name: "the whole server (admins)", value: "workspace" },
        ],
      },
      {
        type: ApplicationCommandOptionType.String,
        name: "period",
        description: "Which period (default: today, UTC)",
        required: false,
        choices: [
          { name: "today", value: "today" },
          { name: "last 7 days", value: "week" },
          { name: "this month", value: "month" },
        ],
      },
    ],
  },
  { name: "help", description: "What teammate can do and how to ask" },
];

/** The registration payload: every definition as a chat-input command usable in guilds and bot DMs. */
export const DISCORD_COMMANDS: RESTPostAPIChatInputApplicationCommandsJSONBody[] = DEFINITIONS.map(
  (command) => ({
    ...command,
    type: ApplicationCommandType.ChatInput,
    // Guilds and DMs with the bot; teammate is a guild install, not a user-installed app.
    contexts: [InteractionContextType.Guild, InteractionContextType.BotDM],
  }),
);

/** What one slash-command interaction means to core. */
export interface CommandLine {
  text: string;
  attachments: Attachment[];
}

/**
 * Turns an interaction's resolved options into the core command line and its attachments.
 * Subcommand names become words; option values follow in the order Discord sent them;
 * attachment options become `Attachment`s with their CDN URL instead of text.
 */
export function toCommandLine(
  commandName: string,
  options: readonly CommandInteractionOption[],
): CommandLine {
  const words: string[] = [commandName];
  const attachments: Attachment[] = [];
  const visit = (list: readonly CommandInteractionOption[]) => {
    for (const option of list) {
      if (
        option.type === ApplicationCommandOptionType.Subcommand ||
        option.type === ApplicationCommandOptionType.SubcommandGroup
      ) {
        words.push(option.name);
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
        words.push(String(option.value).trim());
      }
    }
  };
  visit(options);
  return { text: words.join(" "), attachments };
}
