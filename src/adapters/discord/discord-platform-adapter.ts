import {
  type AutocompleteInteraction,
  Client,
  type ClientOptions,
  type CloseEvent,
  DiscordAPIError,
  Events,
  GatewayCloseCodes,
  type IIdentifyThrottler,
  type Interaction,
  type Message,
  Partials,
  PermissionFlagsBits,
  type PermissionsBitField,
  Routes,
  type SendableChannels,
} from "discord.js";
import type { Command } from "../../core/commands/command.js";
import { AppError, reportFailure, toAppError } from "../../core/errors.js";
import type { AssistantHandler, InboundMessage } from "../../core/ports/assistant-handler.js";
import type { Logger } from "../../core/ports/logger.js";
import { DISCORD_GATEWAY_INTENTS } from "./discord-bot-setup.js";
import { type DiscordCommandSet, generateDiscordCommands } from "./discord-commands.js";
import { addressingOf, memberPermissions, messageConversation, stripMentions } from "./discord-inbound.js";
import { DiscordInteractionReader } from "./discord-interactions.js";
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
import { DiscordThreadHistory } from "./discord-thread-history.js";

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

interface DiscordShards {
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

const AUTOCOMPLETE_VALUE_LENGTH = 100;
const AUTOCOMPLETE_DEADLINE_MS = 2000;
const SEEN_EVENT_LIMIT = 5000;

/**
 * Creates the Discord adapter: a discord.js gateway client with only the intents teammate needs,
 * slash commands registered at start-up. Transport only: every command, click, mention, DM and
 * thread message goes to the `AssistantHandler`, which owns commands, permissions and whether to
 * answer at all; the reply shows nothing until core starts it.
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
  private readonly interactions: DiscordInteractionReader;

  constructor(options: DiscordAdapterOptions) {
    this.options = options;
    this.commandSet = generateDiscordCommands(options.commands);
    this.logger = options.logger.child({ component: "discord" });
    this.admins = new Set(
      options.adminUserIds.filter((id) => id.startsWith("discord:")).map((id) => id.slice("discord:".length)),
    );
    this.interactions = new DiscordInteractionReader({
      commandSet: this.commandSet,
      isAdmin: (userId, permissions) => this.isAdmin(userId, permissions),
      client: () => this.client,
    });
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
    const form = interaction.isModalSubmit() ? undefined : this.interactions.formFor(interaction);
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
        const action = this.interactions.actionOf(interaction);
        if (action) await this.options.assistant.handleAction(action, sink);
      } else {
        const message = await this.interactions.messageOf(interaction);
        if (typeof message === "string") {
          await sink.start({ visibility: "asker" });
          await sink.fail(message);
        } else {
          await this.options.assistant.handle(message, sink);
        }
      }
    } catch (error) {
      const failure = new AppError("internal", "discord interaction failed", { cause: error });
      await sink.fail(reportFailure(failure, logger, "assistant failed on a discord interaction").sentence);
    } finally {
      clearTimeout(timer);
      await acknowledging;
    }
    // Core said nothing: a click still needs its acknowledgement.
    if (!sink.hasStarted && !target.acknowledged && !interaction.deferred && interaction.isButton()) {
      await interaction.deferUpdate();
    }
  }

  private async onAutocomplete(interaction: AutocompleteInteraction): Promise<void> {
    const request = this.interactions.suggestionRequest(interaction);
    const lookup =
      request && this.options.assistant.suggest
        ? this.options.assistant.suggest(request)
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
    const conversation = messageConversation(message);
    // Written out, not `{ ...messageConversation(message), userId, … }`: on Node 20 a spread followed
    // by properties its source lacks gets a hidden class of its own every time, and core reads the
    // message's fields all along its path.
    const inbound: InboundMessage = {
      platform: conversation.platform,
      workspaceId: conversation.workspaceId,
      channelId: conversation.channelId,
      threadId: conversation.threadId,
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
      const failure = new AppError("internal", "discord message failed", { cause: error });
      await sink.fail(reportFailure(failure, logger, "assistant failed on a discord message").sentence);
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
