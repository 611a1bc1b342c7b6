import { randomUUID } from "node:crypto";
import {
  type AutocompleteInteraction,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  Client,
  type ClientOptions,
  type CloseEvent,
  DiscordAPIError,
  Events,
  GatewayCloseCodes,
  type IIdentifyThrottler,
  type Interaction,
  type Message,
  type MessageContextMenuCommandInteraction,
  type ModalSubmitInteraction,
  Partials,
  PermissionFlagsBits,
  type PermissionsBitField,
  Routes,
  type SendableChannels,
} from "discord.js";
import type { Command } from "../../core/commands/command.js";
import { AppError, describeForUser, toAppError } from "../../core/errors.js";
import type { Logger } from "../../core/ports/logger.js";
import type {
  Addressing,
  AssistantHandler,
  ConversationRef,
  InboundAction,
  InboundMessage,
  PriorMessage,
  ThreadHistory,
} from "../../core/types.js";
import { DISCORD_GATEWAY_INTENTS } from "./discord-bot-setup.js";
import {
  ASK_ABOUT_FORM,
  askAboutForm,
  asksInForm,
  COMMAND_FORM,
  commandForm,
  commandLine,
  type DiscordCommandSet,
  generateDiscordCommands,
  MESSAGE_COMMANDS,
  toCommandLine,
} from "./discord-commands.js";
import {
  DiscordReplySink,
  type DiscordReplySinkOptions,
  type DiscordReplyTarget,
} from "./discord-reply-sink.js";
import {
  createInteractionReplyTarget,
  createMessageReplyTarget,
  threadNameFor,
} from "./discord-reply-targets.js";
import { DiscordThreadHistory, toPriorMessages } from "./discord-thread-history.js";

export interface DiscordAdapterOptions {
  token: string;
  applicationId: string;
  /** REST base URL, e.g. `http://127.0.0.1:8080/api` for a stand-in; discord.com when unset. */
  apiUrl?: string | undefined;
  /** Registers the commands in this guild only (instant, for development) instead of globally. */
  guildId?: string | undefined;
  /** Platform-qualified extra admins (`discord:456`); other platforms' entries are ignored. */
  adminUserIds: readonly string[];
  assistant: AssistantHandler;
  /** Core's commands: the slash commands are generated from them (see `generateDiscordCommands`). */
  commands: readonly Command[];
  logger: Logger;
  /** Minimum time between two edits of one message. Default 1000 ms. */
  editIntervalMs?: number;
  /** How long an interaction token is used before replies fall back to channel messages. Default 14.5 min. */
  interactionTokenLifetimeMs?: number;
  /** An interaction core has not started replying to is deferred publicly after this long. Default 1000 ms. */
  acknowledgeAfterMs?: number;
  /** Answers needing more messages than this are attached as a Markdown file. Default 4. */
  maxMessagesPerAnswer?: number;
  /**
   * Gateway shards: the bot's total (`auto`: Discord's recommendation) and, when several processes
   * share the gateway, the ids this one runs. Default: every recommended shard in this process.
   */
  shards?: DiscordShards | undefined;
  /**
   * Spaces IDENTIFYs with the other bot processes of this deployment (see `RedisIdentifyThrottler`);
   * without it discord.js spaces only this process's own shards.
   */
  identifyThrottler?: ((maxConcurrency: number) => IIdentifyThrottler) | undefined;
}

export interface DiscordShards {
  count: number | "auto";
  /** This process's shards; all of `count` when absent. */
  ids?: number[] | undefined;
}

/**
 * discord.js's own sharding inside this process (the client's `shards` / `shardCount` options), not
 * its ShardingManager: the bot process also serves Slack, health and metrics, so forking one full
 * bot per shard would duplicate all of that, and what shards must share (approvals, de-duplication,
 * memory) is in Redis already, not in the manager's IPC. Several bot processes split the shards
 * between them with `ids`.
 */
function shardingOptions(shards: DiscordShards | undefined): Pick<ClientOptions, "shards" | "shardCount"> {
  if (!shards || shards.count === "auto") return { shards: "auto" };
  return shards.ids ? { shards: shards.ids, shardCount: shards.count } : { shardCount: shards.count };
}

/**
 * A DM has no guild, so it gets a workspace of its own per person: documents indexed "workspace-wide"
 * in one person's DM, and their answers and buttons, stay theirs.
 */
export function directMessageWorkspace(userId: string): string {
  return `dm-${userId}`;
}
/** How many messages "Summarize thread" reads (Discord serves at most 100 per request). */
const SUMMARY_MESSAGE_LIMIT = 50;
const AUTOCOMPLETE_VALUE_LENGTH = 100;
const AUTOCOMPLETE_DEADLINE_MS = 2000;

type CommandLikeInteraction =
  | ChatInputCommandInteraction
  | ButtonInteraction
  | MessageContextMenuCommandInteraction
  | ModalSubmitInteraction
  | AutocompleteInteraction;
const SEEN_EVENT_LIMIT = 5000;

/**
 * Creates the Discord adapter: a discord.js gateway client with only the intents teammate needs,
 * slash commands registered at start-up, mentions and DMs answered as replies. Transport only:
 * every message and click goes to the `AssistantHandler`, which owns commands and permissions.
 */
export function createDiscordAdapter(options: DiscordAdapterOptions): DiscordPlatformAdapter {
  return new DiscordPlatformAdapter(options);
}

/** The Discord transport: what the composition root starts and stops. Build it with `createDiscordAdapter`. */
export class DiscordPlatformAdapter {
  private readonly options: DiscordAdapterOptions;
  private readonly logger: Logger;
  private readonly admins: Set<string>;
  private client: Client | undefined;
  // Interaction and message ids already taken, so a re-delivered dispatch is neither deferred nor answered twice.
  private readonly seen = new Set<string>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly commandSet: DiscordCommandSet;

  constructor(options: DiscordAdapterOptions) {
    this.options = options;
    this.commandSet = generateDiscordCommands(options.commands);
    this.logger = options.logger.child({ component: "discord" });
    this.admins = new Set(
      options.adminUserIds.filter((id) => id.startsWith("discord:")).map((id) => id.slice("discord:".length)),
    );
  }

  async start(): Promise<void> {
    const identifyThrottler = this.options.identifyThrottler;
    const client = new Client({
      intents: [...DISCORD_GATEWAY_INTENTS],
      // DM channels are not cached before their first message arrives.
      partials: [Partials.Channel],
      ...(this.options.apiUrl ? { rest: { api: this.options.apiUrl } } : {}),
      ...shardingOptions(this.options.shards),
      ...(identifyThrottler
        ? {
            ws: {
              buildIdentifyThrottler: async (manager) =>
                identifyThrottler(
                  (await manager.fetchGatewayInformation()).session_start_limit.max_concurrency,
                ),
            },
          }
        : {}),
    });
    this.client = client;
    let closeCode: number | undefined;
    client.on(Events.ShardDisconnect, (event: CloseEvent) => {
      closeCode = event.code;
      this.logger.error({ code: event.code }, "discord gateway closed and will not reconnect");
    });
    client.on(Events.ShardError, (error) => this.logger.warn({ err: error }, "discord gateway error"));
    client.on(Events.Error, (error) => this.logger.error({ err: error }, "discord client error"));
    client.on(Events.InteractionCreate, (interaction) => this.track(this.onInteraction(interaction)));
    client.on(Events.MessageCreate, (message) => this.track(this.onMessage(message)));

    client.rest.setToken(this.options.token);
    try {
      await this.registerCommands(client);
      const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
      await client.login(this.options.token);
      await ready;
    } catch (error) {
      await client.destroy();
      this.client = undefined;
      throw translateStartError(error, closeCode);
    }
    this.logger.info(
      {
        user: client.user?.id,
        guilds: client.guilds.cache.size,
        shards: client.options.shards,
        shardCount: client.options.shardCount,
      },
      "discord adapter started",
    );
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    await Promise.allSettled([...this.inFlight]);
    if (client) await client.destroy();
  }

  private async registerCommands(client: Client): Promise<void> {
    const { applicationId, guildId } = this.options;
    const route = guildId
      ? Routes.applicationGuildCommands(applicationId, guildId)
      : Routes.applicationCommands(applicationId);
    const definitions = this.commandSet.definitions;
    await client.rest.put(route, { body: definitions });
    this.logger.info({ count: definitions.length, guildId }, "discord commands registered");
  }

  // Event handlers must not leak promises: every handler runs here, is logged once if it fails,
  // and is awaited by stop().
  private track(work: Promise<void>): void {
    const tracked = work
      .catch((error: unknown) => this.logger.error({ err: error }, "discord event handling failed"))
      .finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
  }

  private firstSighting(id: string): boolean {
    if (this.seen.has(id)) return false;
    this.seen.add(id);
    if (this.seen.size > SEEN_EVENT_LIMIT) {
      const oldest = this.seen.values().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
    return true;
  }

  private isAdmin(userId: string, permissions: Readonly<PermissionsBitField> | null | undefined): boolean {
    if (this.admins.has(userId)) return true;
    // `has` counts Administrator as every permission.
    return permissions?.has(PermissionFlagsBits.ManageGuild) ?? false;
  }

  private async onInteraction(interaction: Interaction): Promise<void> {
    if (interaction.isAutocomplete()) return this.onAutocomplete(interaction);
    if (
      !interaction.isChatInputCommand() &&
      !interaction.isButton() &&
      !interaction.isMessageContextMenuCommand() &&
      !interaction.isModalSubmit()
    )
      return;
    if (!this.firstSighting(interaction.id)) {
      this.logger.debug({ interactionId: interaction.id }, "duplicate interaction ignored");
      return;
    }
    // A modal must be Discord's first answer to its interaction: shown at once, before anything else.
    const form = interaction.isModalSubmit() ? undefined : this.formFor(interaction);
    if (form && !interaction.isModalSubmit()) {
      await interaction.showModal(form);
      return;
    }
    const receivedAt = Date.now();
    const logger = this.logger.child({ interactionId: interaction.id });
    const target = createInteractionReplyTarget({
      interaction,
      receivedAt,
      tokenLifetimeMs: this.options.interactionTokenLifetimeMs ?? 14.5 * 60_000,
      fallbackChannel: () => this.sendableChannel(interaction.channelId),
      logger,
    });
    const sink = this.sinkFor(target, logger);
    // Discord drops an interaction not acknowledged within 3 s; core usually starts the reply at
    // once (with the right visibility), but a slow start must not lose the interaction.
    let acknowledging: Promise<void> | undefined;
    const timer = setTimeout(() => {
      if (sink.hasStarted || target.acknowledged) return;
      acknowledging = interaction.isButton()
        ? interaction.deferUpdate().then(() => undefined)
        : target.acknowledge("everyone");
      acknowledging = acknowledging.catch((error: unknown) =>
        logger.error({ err: error }, "discord interaction acknowledgement failed"),
      );
    }, this.options.acknowledgeAfterMs ?? 1000);

    try {
      if (interaction.isButton()) {
        const action = this.buttonAction(interaction);
        if (action) await this.options.assistant.handleAction(action, sink);
      } else {
        const message = await this.interactionMessage(interaction);
        if (typeof message === "string") {
          await sink.start({ visibility: "asker" });
          await sink.fail(message);
        } else {
          await this.options.assistant.handle(message, sink);
        }
      }
    } catch (error) {
      const referenceId = randomUUID().slice(0, 8);
      logger.error({ err: toAppError(error), referenceId }, "assistant failed on a discord interaction");
      await sink.fail(describeForUser(new AppError("internal", "discord interaction failed"), referenceId));
    } finally {
      clearTimeout(timer);
      await acknowledging;
    }
    // Core said nothing: a click still needs its acknowledgement.
    if (!sink.hasStarted && !target.acknowledged && !interaction.deferred && interaction.isButton()) {
      await interaction.deferUpdate();
    }
  }

  /** The modal a slash command or "Ask about this" opens, when it needs one. */
  private formFor(
    interaction: ChatInputCommandInteraction | ButtonInteraction | MessageContextMenuCommandInteraction,
  ) {
    if (interaction.isMessageContextMenuCommand()) {
      return interaction.commandName === MESSAGE_COMMANDS.ask
        ? askAboutForm(interaction.targetId)
        : undefined;
    }
    if (!interaction.isChatInputCommand()) return undefined;
    const command = this.commandSet.find(interaction.commandName, interaction.options.getSubcommand(false));
    if (!command || !asksInForm(command)) return undefined;
    // Values already given (a client with the older, option-taking command) run the command directly.
    const given = toCommandLine(command, interaction.options.data).text;
    return given === command.name ? commandForm(command) : undefined;
  }

  /** What a slash command, message command or modal asks of core, or the sentence that says why not. */
  private async interactionMessage(
    interaction: ChatInputCommandInteraction | MessageContextMenuCommandInteraction | ModalSubmitInteraction,
  ): Promise<InboundMessage | string> {
    const base = {
      ...this.actor(interaction),
      attachments: [],
      isCommand: true,
      addressedBy: "command",
    } satisfies Omit<InboundMessage, "text">;
    if (interaction.isChatInputCommand()) {
      const command = this.commandSet.find(interaction.commandName, interaction.options.getSubcommand(false));
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
        ? this.commandSet.findForm(interaction.customId)
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
      return { ...base, text: "summarize", history: this.threadAround(target) };
    }
    return "I don't know that message command.";
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

  /**
   * The conversation "Summarize thread" works on, read when core asks: the thread the message
   * started, or the thread it is in, or else the channel's messages up to it. Oldest first.
   */
  private threadAround(target: Message): ThreadHistory {
    const botId = this.client?.user?.id ?? "";
    let read: Promise<PriorMessage[]> | undefined;
    const messages = () => {
      read ??= this.readThreadAround(target, botId);
      return read;
    };
    return {
      earlier: async (limit) => (await messages()).slice(-limit),
      includesTeammate: async () => (await messages()).some((message) => message.fromAssistant),
    };
  }

  private async readThreadAround(target: Message, botId: string): Promise<PriorMessage[]> {
    const collected = new Map<string, Message>([[target.id, target]]);
    // A thread started from a message has the message's id; it may not be in the cache yet.
    let thread = target.thread;
    if (!thread && target.hasThread && this.client) {
      const channel = await this.client.channels.fetch(target.id).catch(() => null);
      if (channel?.isThread()) thread = channel;
    }
    const fetched = thread
      ? await thread.messages.fetch({ limit: SUMMARY_MESSAGE_LIMIT })
      : await target.channel.messages.fetch({ limit: SUMMARY_MESSAGE_LIMIT, before: target.id });
    for (const message of fetched.values()) collected.set(message.id, message);
    if (!thread && target.channel.isThread()) {
      const after = await target.channel.messages.fetch({ limit: SUMMARY_MESSAGE_LIMIT, after: target.id });
      for (const message of after.values()) collected.set(message.id, message);
    }
    return toPriorMessages([...collected.values()], botId);
  }

  private async onAutocomplete(interaction: AutocompleteInteraction): Promise<void> {
    const command = this.commandSet.find(interaction.commandName, interaction.options.getSubcommand(false));
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
    const lookup =
      command && this.options.assistant.suggest
        ? this.options.assistant.suggest({
            message: {
              ...this.actor(interaction),
              text: "",
              attachments: [],
              isCommand: true,
              addressedBy: "command",
            },
            command: command.name,
            parameter: focused.name,
            partial: String(focused.value),
            filled,
          })
        : Promise.resolve([]);
    // Discord drops an autocomplete not answered within 3 s: a slow lookup offers nothing instead.
    let timer: NodeJS.Timeout | undefined;
    const suggestions = await Promise.race([
      lookup,
      new Promise<[]>((resolve) => {
        timer = setTimeout(() => resolve([]), AUTOCOMPLETE_DEADLINE_MS);
      }),
    ]).finally(() => clearTimeout(timer));
    await interaction.respond(
      suggestions
        // Discord refuses a longer value; a cut id would name the wrong thing, so it is left out.
        .filter((suggestion) => suggestion.value.length <= AUTOCOMPLETE_VALUE_LENGTH)
        .slice(0, 25)
        .map((suggestion) => ({
          name: [...suggestion.label].slice(0, 100).join(""),
          value: suggestion.value,
        })),
    );
  }

  /** Who acts through an interaction, and where. */
  private actor(interaction: CommandLikeInteraction): Omit<InboundMessage, "text" | "attachments"> {
    return {
      ...this.interactionConversation(interaction),
      userId: interaction.user.id,
      userName: interaction.user.globalName ?? interaction.user.username,
      isAdmin: this.isAdmin(interaction.user.id, interaction.memberPermissions),
      eventId: interaction.id,
    };
  }

  private buttonAction(interaction: ButtonInteraction): InboundAction | undefined {
    const separator = interaction.customId.indexOf(":");
    if (separator <= 0) return undefined;
    return {
      ...this.interactionConversation(interaction),
      userId: interaction.user.id,
      userName: interaction.user.globalName ?? interaction.user.username,
      isAdmin: this.isAdmin(interaction.user.id, interaction.memberPermissions),
      action: interaction.customId.slice(0, separator),
      value: interaction.customId.slice(separator + 1),
      eventId: interaction.id,
    };
  }

  private interactionConversation(interaction: CommandLikeInteraction): ConversationRef {
    const channel = interaction.channel;
    const workspaceId = interaction.guildId ?? directMessageWorkspace(interaction.user.id);
    if (channel?.isThread() && channel.parentId) {
      return { platform: "discord", workspaceId, channelId: channel.parentId, threadId: channel.id };
    }
    return { platform: "discord", workspaceId, channelId: interaction.channelId ?? channel?.id ?? "unknown" };
  }

  private async sendableChannel(channelId: string | null): Promise<SendableChannels | undefined> {
    if (!channelId || !this.client) return undefined;
    const channel = await this.client.channels.fetch(channelId);
    return channel?.isSendable() ? channel : undefined;
  }

  private async onMessage(message: Message): Promise<void> {
    const botId = this.client?.user?.id;
    if (!botId || message.author.bot || message.system || message.webhookId) return;
    if (!this.firstSighting(message.id)) return;

    const botRoleId = message.guild?.roles.botRoleFor(botId)?.id;
    const addressedBy = addressingOf(message, botId, botRoleId);
    // A channel message that does not address teammate is none of its business. Everything else
    // goes to core, which decides whether to answer (a thread message without a mention is answered
    // only where teammate takes part and the channel listens to whole threads).
    if (!addressedBy) return;
    const logger = this.logger.child({ messageId: message.id });
    const text = stripMentions(message.content, botId, botRoleId);
    const inbound: InboundMessage = {
      ...messageConversation(message),
      userId: message.author.id,
      userName: message.member?.displayName ?? message.author.globalName ?? message.author.username,
      text,
      attachments: message.attachments.map((file) => ({
        name: file.name,
        url: file.url,
        mimeType: file.contentType ?? undefined,
        sizeBytes: file.size,
      })),
      isAdmin: this.isAdmin(message.author.id, memberPermissions(message)),
      eventId: message.id,
      messageId: message.id,
      addressedBy,
      ...(DiscordThreadHistory.applies(message)
        ? { history: new DiscordThreadHistory(message, botId, logger) }
        : {}),
    };
    const target = createMessageReplyTarget(message, logger, threadNameFor(text));
    const sink = this.sinkFor(target, logger, (placement) => target.place(placement));
    try {
      await this.options.assistant.handle(inbound, sink);
    } catch (error) {
      const referenceId = randomUUID().slice(0, 8);
      logger.error({ err: toAppError(error), referenceId }, "assistant failed on a discord message");
      await sink.fail(describeForUser(new AppError("internal", "discord message failed"), referenceId));
    }
  }

  /** The sink core writes one reply to, paced and split as configured. */
  private sinkFor(
    target: DiscordReplyTarget,
    logger: Logger,
    place?: DiscordReplySinkOptions["place"],
  ): DiscordReplySink {
    const { editIntervalMs, maxMessagesPerAnswer } = this.options;
    return new DiscordReplySink({
      target,
      logger,
      ...(editIntervalMs === undefined ? {} : { editIntervalMs }),
      ...(maxMessagesPerAnswer === undefined ? {} : { maxMessages: maxMessagesPerAnswer }),
      ...(place ? { place } : {}),
    });
  }
}

/**
 * How a message addresses teammate, as Discord shows it: a DM is for teammate; a mention of the bot,
 * of its managed role, or an inline reply to one of its messages is a mention; any other message in
 * a thread is `none` (core decides); any other channel message is not for teammate (undefined).
 */
function addressingOf(
  message: Message,
  botId: string,
  botRoleId: string | undefined,
): Addressing | undefined {
  if (!message.inGuild()) return "direct";
  const mentioned =
    message.mentions.users.has(botId) ||
    message.mentions.repliedUser?.id === botId ||
    (botRoleId !== undefined && message.mentions.roles.has(botRoleId)) ||
    message.mentions.roles.some((role) => role.tags?.botId === botId);
  if (mentioned) return "mention";
  return message.channel.isThread() ? "none" : undefined;
}

/** The asker's Discord language in English words (`de` → German), for "Translate". */
export function languageOf(locale: string): string {
  const language = locale.split("-")[0] ?? "en";
  try {
    return new Intl.DisplayNames(["en"], { type: "language" }).of(language) ?? "English";
  } catch {
    return "English";
  }
}

function messageConversation(message: Message): ConversationRef {
  const workspaceId = message.guildId ?? directMessageWorkspace(message.author.id);
  const channel = message.channel;
  if (channel.isThread() && channel.parentId) {
    return { platform: "discord", workspaceId, channelId: channel.parentId, threadId: channel.id };
  }
  return { platform: "discord", workspaceId, channelId: message.channelId };
}

function memberPermissions(message: Message): Readonly<PermissionsBitField> | undefined {
  try {
    return message.member?.permissions;
  } catch {
    // Permissions need the guild's roles in cache; without them the member is simply not an admin.
    return undefined;
  }
}

/**
 * The message without the bot's mention. Spaces left by the mention collapse; line breaks stay, so
 * a pasted list or code block reaches the model (and commands like `classify a, b: text`) intact.
 */
export function stripMentions(content: string, botId: string, botRoleId: string | undefined): string {
  let text = content.replace(new RegExp(`<@!?${botId}>`, "g"), " ");
  if (botRoleId) text = text.replace(new RegExp(`<@&${botRoleId}>`, "g"), " ");
  return text
    .replace(/[^\S\n]+/g, " ")
    .replace(/ *\n */g, "\n")
    .trim();
}

function translateStartError(error: unknown, closeCode: number | undefined): AppError {
  if (closeCode === GatewayCloseCodes.DisallowedIntents) {
    return new AppError(
      "config_invalid",
      "Discord refused the gateway connection (close code 4014, disallowed intents): enable the Message Content intent for this bot under Privileged Gateway Intents in the Discord Developer Portal (Applications → your app → Bot).",
      { cause: error, category: "user" },
    );
  }
  if (closeCode === GatewayCloseCodes.AuthenticationFailed || isUnauthorized(error)) {
    return new AppError("config_invalid", "Discord rejected DISCORD_TOKEN (authentication failed).", {
      cause: error,
      category: "user",
    });
  }
  if (error instanceof DiscordAPIError) {
    return new AppError("internal", `Discord start-up request failed: ${error.message}`, {
      cause: error,
      category: "third_party",
    });
  }
  return toAppError(error);
}

function isUnauthorized(error: unknown): boolean {
  return (
    (error instanceof DiscordAPIError && error.status === 401) ||
    (error instanceof Error && "code" in error && error.code === "TokenInvalid")
  );
}
