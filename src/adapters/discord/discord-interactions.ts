import type {
  AutocompleteInteraction,
  ButtonInteraction,
  ChatInputCommandInteraction,
  Client,
  MessageContextMenuCommandInteraction,
  ModalSubmitInteraction,
  PermissionsBitField,
} from "discord.js";
import type { InboundAction, InboundMessage, SuggestionRequest } from "../../core/ports/assistant-handler.js";
import {
  ASK_ABOUT_FORM,
  askAboutForm,
  asksInForm,
  COMMAND_FORM,
  commandForm,
  commandLine,
  type DiscordCommandSet,
  MESSAGE_COMMANDS,
  toCommandLine,
} from "./discord-commands.js";
import { conversationOf } from "./discord-inbound.js";
import { threadAroundHistory } from "./discord-thread-history.js";

/** Every interaction teammate takes: each has a user, a channel and an id. */
type CommandLikeInteraction =
  | ChatInputCommandInteraction
  | ButtonInteraction
  | MessageContextMenuCommandInteraction
  | ModalSubmitInteraction
  | AutocompleteInteraction;

/** An interaction that asks core something (not a click, not autocomplete). */
type AskingInteraction =
  | ChatInputCommandInteraction
  | MessageContextMenuCommandInteraction
  | ModalSubmitInteraction;

export interface DiscordInteractionReaderOptions {
  commandSet: DiscordCommandSet;
  /** The adapter's verdict on a member's rights (Manage Server, or listed in ADMIN_USER_IDS). */
  isAdmin(userId: string, permissions: Readonly<PermissionsBitField> | null | undefined): boolean;
  /** The logged-in client, for what an interaction only names by id (a thread). */
  client(): Client | undefined;
}

/**
 * What an interaction asks of core, in core's words: the modal to show first, the inbound message
 * (the command line, its attachments, a message command's material), the click, or the
 * autocomplete request. Translation only: nothing here answers Discord.
 */
export class DiscordInteractionReader {
  private readonly options: DiscordInteractionReaderOptions;

  constructor(options: DiscordInteractionReaderOptions) {
    this.options = options;
  }

  /** The modal a slash command or "Ask about this" opens, when it needs one. */
  formFor(
    interaction: ChatInputCommandInteraction | ButtonInteraction | MessageContextMenuCommandInteraction,
  ) {
    if (interaction.isMessageContextMenuCommand()) {
      return interaction.commandName === MESSAGE_COMMANDS.ask
        ? askAboutForm(interaction.targetId)
        : undefined;
    }
    if (!interaction.isChatInputCommand()) return undefined;
    const command = this.options.commandSet.find(
      interaction.commandName,
      interaction.options.getSubcommand(false),
    );
    if (!command || !asksInForm(command)) return undefined;
    // Values already given (a client with the older, option-taking command) run the command directly.
    const given = toCommandLine(command, interaction.options.data).text;
    return given === command.name ? commandForm(command) : undefined;
  }

  /** What a slash command, message command or modal asks of core, or the sentence that says why not. */
  async messageOf(interaction: AskingInteraction): Promise<InboundMessage | string> {
    const base = this.commandMessage(interaction);
    if (interaction.isChatInputCommand()) {
      const command = this.options.commandSet.find(
        interaction.commandName,
        interaction.options.getSubcommand(false),
      );
      // A command Discord still lists but core no longer has: core answers that it does not know it.
      if (!command) return { ...base, text: interaction.commandName };
      const line = toCommandLine(command, interaction.options.data);
      return { ...base, text: line.text, attachments: line.attachments };
    }
    if (interaction.isModalSubmit()) {
      const values = new Map<string, string>();
      for (const [id, field] of interaction.fields.fields) {
        if ("value" in field && typeof field.value === "string") values.set(id, field.value);
      }
      if (interaction.customId.startsWith(ASK_ABOUT_FORM)) {
        return this.askAboutMessage(interaction, base, values.get("question") ?? "");
      }
      const command = interaction.customId.startsWith(COMMAND_FORM)
        ? this.options.commandSet.findForm(interaction.customId)
        : undefined;
      if (!command) return "That form is no longer in use; run the command again.";
      return { ...base, text: commandLine(command, values) };
    }
    // Message commands: the message is someone's words, handed to core as data to work on, never
    // as a command line of its own (its text only ever follows the command's own name).
    const target = interaction.targetMessage;
    if (interaction.commandName === MESSAGE_COMMANDS.translate) {
      if (target.content.trim() === "") return "That message has no text to translate.";
      return { ...base, text: `translate ${languageOf(interaction.locale)}: ${target.content}` };
    }
    if (interaction.commandName === MESSAGE_COMMANDS.summarize) {
      const client = this.options.client();
      return {
        ...base,
        text: "summarize",
        history: threadAroundHistory(target, client, client?.user?.id ?? ""),
      };
    }
    return "I don't know that message command.";
  }

  /** A click on one of teammate's buttons (`action:value`), or undefined for someone else's. */
  actionOf(interaction: ButtonInteraction): InboundAction | undefined {
    const separator = interaction.customId.indexOf(":");
    if (separator <= 0) return undefined;
    return {
      ...this.actor(interaction),
      action: interaction.customId.slice(0, separator),
      value: interaction.customId.slice(separator + 1),
    };
  }

  /** What someone is typing into an autocomplete option, or undefined for a command core no longer has. */
  suggestionRequest(interaction: AutocompleteInteraction): SuggestionRequest | undefined {
    const command = this.options.commandSet.find(
      interaction.commandName,
      interaction.options.getSubcommand(false),
    );
    if (!command) return undefined;
    const focused = interaction.options.getFocused(true);
    const filled: Record<string, string> = {};
    const visit = (
      list: readonly { name: string; value?: unknown; focused?: boolean; options?: unknown }[],
    ) => {
      for (const option of list) {
        if (Array.isArray(option.options)) visit(option.options);
        else if (!option.focused && option.value !== undefined) filled[option.name] = String(option.value);
      }
    };
    visit(interaction.options.data);
    return {
      message: { ...this.commandMessage(interaction), text: "" },
      command: command.name,
      parameter: focused.name,
      partial: String(focused.value),
      filled,
    };
  }

  /**
   * "Ask about this": the question, then the message quoted. The message is read again from the
   * channel the form was submitted in, so a form can only ever ask about a message there.
   */
  private async askAboutMessage(
    interaction: ModalSubmitInteraction,
    base: Omit<InboundMessage, "text">,
    question: string,
  ): Promise<InboundMessage | string> {
    const messageId = interaction.customId.slice(ASK_ABOUT_FORM.length);
    const channel = interaction.channel;
    if (!question.trim()) return "Ask a question about the message.";
    if (!/^\d{1,25}$/.test(messageId) || !channel || !("messages" in channel)) {
      return "I can't find that message here any more.";
    }
    const message = await channel.messages.fetch(messageId).catch(() => undefined);
    if (!message) return "I can't find that message here any more.";
    const author = message.author.globalName ?? message.author.username;
    const quoted = message.content
      .split("\n")
      .map((line) => `> ${line}`)
      .join("\n");
    return { ...base, text: `ask ${question.trim()}\n\nAbout this message from ${author}:\n${quoted}` };
  }

  /** A command to core from this interaction, before its text: who, where, addressed as a command. */
  private commandMessage(interaction: CommandLikeInteraction): Omit<InboundMessage, "text"> {
    return { ...this.actor(interaction), attachments: [], isCommand: true, addressedBy: "command" };
  }

  /** Who acts through an interaction, and where. */
  private actor(interaction: CommandLikeInteraction): Omit<InboundMessage, "text" | "attachments"> {
    return {
      ...conversationOf({
        guildId: interaction.guildId,
        userId: interaction.user.id,
        channelId: interaction.channelId,
        channel: interaction.channel,
      }),
      userId: interaction.user.id,
      userName: interaction.user.globalName ?? interaction.user.username,
      isAdmin: this.options.isAdmin(interaction.user.id, interaction.memberPermissions),
      eventId: interaction.id,
    };
  }
}

/** The asker's Discord language in English words (`de` → German), for "Translate". */
function languageOf(locale: string): string {
  const language = locale.split("-")[0] ?? "en";
  try {
    return new Intl.DisplayNames(["en"], { type: "language" }).of(language) ?? "English";
  } catch {
    return "English";
  }
}
