import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type {
  APIApplicationCommandAutocompleteInteraction,
  APIChatInputApplicationCommandInteraction,
  APIMessageApplicationCommandInteraction,
  APIMessageComponentButtonInteraction,
  APIModalSubmitInteraction,
  GatewayMessageCreateDispatchData,
} from "discord-api-types/v10";
import { type WebSocket, WebSocketServer } from "ws";
import { OpenApiValidator, SPECS_DIR } from "./openapi-validator.js";

/**
 * A local Discord for tests: a REST server the real discord.js client reaches through `rest.api`,
 * and a gateway over WebSocket that it finds through `GET /gateway/bot`. Every REST request is
 * checked against `test/fixtures/specs/discord/openapi.subset.json` plus the documented limits the preview spec
 * gets wrong (content ≤ 2000, embeds ≤ 6000 in total, command names ≤ 32 and descriptions ≤ 100);
 * a bad request gets Discord's 400 and lands in `problems`. Responses carry `X-RateLimit-*` headers
 * and a bucket overrun gets a real 429. Interactions behave like Discord's: one acknowledgement,
 * within 3 s, before any webhook call. The gateway shards as Discord does: `GET /gateway/bot`
 * recommends a shard count and a `max_concurrency`, each connection IDENTIFYs with `shard: [i, n]`
 * (one per bucket every 5 s, or it is a problem), and a guild's events reach only the connection of
 * shard `(guild_id >> 22) % n`; DMs go to shard 0.
 */

const BASE_PATH = "/api/v10";
const DISCORD_EPOCH = 1_420_070_400_000n;
const FIXTURES = join(SPECS_DIR, "discord/fixtures");
const MESSAGE_CONTENT_INTENT = 1 << 15;
const RATE_LIMIT = 5;
const RATE_WINDOW_MS = 1000;

export interface RecordedDiscordRequest {
  method: string;
  /** Path after `/api/v10`, without the query. */
  path: string;
  /** The spec's path template it matched, e.g. `/channels/{channel_id}/messages`. */
  template: string | undefined;
  query: URLSearchParams;
  /** Parsed JSON body, or a multipart request's `payload_json`. */
  body: unknown;
  files: Array<{ field: string; name: string; contentType: string; text: string }>;
  /** `Date.now()` when the request arrived. */
  at: number;
  status: number;
}

export interface StandInMessage {
  id: string;
  channel_id: string;
  guild_id?: string;
  author: StandInUser;
  content: string;
  timestamp: string;
  edited_timestamp: string | null;
  embeds: unknown[];
  components: unknown[];
  attachments: unknown[];
  flags: number;
  message_reference?: { type?: number; message_id: string; channel_id: string; guild_id?: string };
  /** Who created it through the REST API: the interaction webhook, or a channel post. */
  via?: "webhook" | "channel";
  /** The interaction token a webhook message belongs to. */
  interactionToken?: string;
  [key: string]: unknown;
}

export interface StandInUser {
  id: string;
  username: string;
  discriminator: string;
  global_name: string | null;
  avatar: string | null;
  bot?: boolean;
}

/** A guild channel the stand-in knows besides its default one, for channel-history tests. */
export interface StandInChannelOptions {
  name: string;
  /** 0 text (default), 5 announcement, 1 a DM. */
  type?: number;
  /** Hidden from @everyone (a deny of VIEW_CHANNEL on the role whose id is the guild's), as a private channel is. */
  isPrivate?: boolean;
  /** Whether the bot may view it. Default true; false answers 403 Missing Access. */
  botCanView?: boolean;
  /** Whether the bot may read its history. Default true; false answers 403 on message lists. */
  botCanReadHistory?: boolean;
}

interface InteractionState {
  id: string;
  token: string;
  dispatchedAt: number;
  acknowledgedAs?: number;
  channelId: string;
  guildId: string | undefined;
  ephemeral: boolean;
}

export interface DiscordStandInOptions {
  /** Close the gateway with 4014 when IDENTIFY asks for the Message Content intent (not enabled in the portal). */
  refuseMessageContent?: boolean;
  applicationId?: string;
  /** The shard count `GET /gateway/bot` recommends. Default 1. */
  recommendedShards?: number;
  /** `session_start_limit.max_concurrency`: IDENTIFY buckets per 5 s. Default 1, as for most bots. */
  maxConcurrency?: number;
  /**
   * Puts the stand-in's guild on this shard of that many (its id is picked so that
   * `(guild_id >> 22) % count === index`), so a test knows which connection its events take.
   */
  guildShard?: { index: number; count: number };
}

/** Which shard of `count` receives a guild's events; DMs (no guild) go to shard 0. */
export function shardOf(guildId: string | undefined, count: number): number {
  return guildId === undefined ? 0 : Number((BigInt(guildId) >> 22n) % BigInt(count));
}

/** Discord allows one IDENTIFY per bucket (`shard_id % max_concurrency`) every five seconds. */
const IDENTIFY_WINDOW_MS = 5_000;

interface GatewaySession {
  shard: [number, number];
  /** Each connection numbers its own dispatches. */
  sequence: number;
}

let snowflakeCounter = 0n;
/** A snowflake for "now", so discord.js's timestamps and Discord's 15-minute token window make sense. */
export function snowflake(): string {
  snowflakeCounter = (snowflakeCounter + 1n) & 0xfffn;
  return (((BigInt(Date.now()) - DISCORD_EPOCH) << 22n) | snowflakeCounter).toString();
}

function readFixture<T>(name: string): T {
  return JSON.parse(readFileSync(join(FIXTURES, name), "utf8")) as T;
}

export class DiscordStandIn {
  readonly applicationId: string;
  readonly guildId: string;
  readonly channelId = snowflake();
  readonly threadId = snowflake();
  readonly ownerId = snowflake();
  readonly botRoleId = snowflake();
  readonly adminRoleId = snowflake();
  readonly botUser: StandInUser;
  readonly token = `stand-in-bot-token-${Math.random().toString(36).slice(2)}`;
  readonly requests: RecordedDiscordRequest[] = [];
  /** Every request that would have been rejected in production, with the reason. */
  readonly problems: string[] = [];
  readonly identifies: Array<{ intents: number; token: string; shard: [number, number]; at: number }> = [];
  /** Every dispatch sent, with the shards whose connections received it. */
  readonly dispatched: Array<{ type: string; shards: number[] }> = [];
  /** The commands last registered by bulk overwrite, by scope (`global` or a guild id). */
  readonly commands = new Map<string, unknown[]>();
  readonly messages = new Map<string, StandInMessage>();
  private readonly interactions = new Map<string, InteractionState>();
  /** Channels added with `addChannel` (and threads started with `startThread`), by id. */
  private readonly channels = new Map<string, StandInChannelOptions & { id: string; parentId?: string }>();
  /** Files on the CDN-like host, by path (`/attachments/<channel>/<id>/<name>`). */
  private readonly files = new Map<string, { content: string | Uint8Array; contentType: string }>();
  /** Paths of CDN files that were downloaded, in order. */
  readonly downloads: string[] = [];
  private readonly buckets = new Map<string, { count: number; resetAt: number }>();
  /** Interaction tokens whose webhook calls fail as if the token had expired (10015). */
  private readonly refusedTokens = new Set<string>();
  private readonly sockets = new Set<WebSocket>();
  /** Identified connections and the shard each one runs. */
  private readonly sessions = new Map<WebSocket, GatewaySession>();
  private readonly lastIdentifyByBucket = new Map<number, number>();
  private readonly server = createServer((request, response) => {
    this.handle(request, response).catch((error: unknown) => {
      this.problems.push(`stand-in crashed on ${request.method} ${request.url}: ${String(error)}`);
      if (!response.headersSent) response.writeHead(500).end();
    });
  });
  private readonly gateway = new WebSocketServer({ server: this.server });
  private readonly validator = new OpenApiValidator("discord/openapi.subset.json", BASE_PATH);
  private readonly options: DiscordStandInOptions;
  private port = 0;

  constructor(options: DiscordStandInOptions = {}) {
    this.options = options;
    const onShard = options.guildShard;
    let guildId = snowflake();
    while (onShard && shardOf(guildId, onShard.count) !== onShard.index) guildId = snowflake();
    this.guildId = guildId;
    this.applicationId = options.applicationId ?? snowflake();
    this.botUser = {
      id: this.applicationId,
      username: "teammate",
      discriminator: "0",
      global_name: null,
      avatar: null,
      bot: true,
    };
    this.gateway.on("connection", (socket) => this.onGatewayConnection(socket));
  }

  get apiUrl(): string {
    return `http://127.0.0.1:${this.port}/api`;
  }

  get gatewayUrl(): string {
    return `ws://127.0.0.1:${this.port}/gateway`;
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.terminate();
    await new Promise<void>((resolve) => this.gateway.close(() => resolve()));
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /**
   * Puts a file on the stand-in's CDN-like host (Discord serves attachments from
   * `cdn.discordapp.com/attachments/<channel>/<id>/<name>`, with no bot token) and returns the
   * attachment object for an interaction's `resolved.attachments` or a message's `attachments`.
   */
  addAttachment(
    filename: string,
    content: string | Uint8Array,
    contentType = "text/markdown; charset=utf-8",
  ): { id: string; filename: string; size: number; url: string; proxy_url: string; content_type: string } {
    const id = snowflake();
    const path = `/attachments/${this.channelId}/${id}/${encodeURIComponent(filename)}`;
    this.files.set(path, { content, contentType });
    const url = `http://127.0.0.1:${this.port}${path}`;
    return {
      id,
      filename,
      size: typeof content === "string" ? Buffer.byteLength(content) : content.byteLength,
      url,
      proxy_url: url,
      content_type: contentType,
    };
  }

  /** Makes every webhook call with this interaction token fail with 404 Unknown Webhook, as an expired token does. */
  refuseWebhooks(interactionToken: string): void {
    this.refusedTokens.add(interactionToken);
  }

  /** Requests matching a method and a spec template, in arrival order. */
  requestsTo(method: string, template: string): RecordedDiscordRequest[] {
    return this.requests.filter((request) => request.method === method && request.template === template);
  }

  /** Resolves once a recorded request satisfies the predicate. */
  async waitForRequest(
    predicate: (request: RecordedDiscordRequest) => boolean,
    timeoutMs = 10_000,
  ): Promise<RecordedDiscordRequest> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.requests.find(predicate);
      if (found) return found;
      if (Date.now() > deadline) throw new Error("timed out waiting for a Discord request");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Resolves once the gateway has a connected, identified client. */
  async waitForIdentify(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.identifies.length === 0) {
      if (Date.now() > deadline) throw new Error("no IDENTIFY arrived");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  // ---- gateway ----

  /**
   * Sends a dispatch (op 0) as Discord routes it: to the connection running the shard of its guild
   * (shard 0 for DMs), on every connection that identified for that shard. Sending the same payload
   * again is a re-delivery.
   */
  dispatch(type: string, data: unknown): void {
    const guildId = (data as { guild_id?: unknown } | null)?.guild_id;
    const shards: number[] = [];
    for (const [socket, session] of this.sessions) {
      const [index, count] = session.shard;
      if (shardOf(typeof guildId === "string" ? guildId : undefined, count) !== index) continue;
      socket.send(JSON.stringify({ op: 0, t: type, s: ++session.sequence, d: data }));
      shards.push(index);
    }
    this.dispatched.push({ type, shards });
  }

  private onGatewayConnection(socket: WebSocket): void {
    this.sockets.add(socket);
    socket.on("close", () => {
      this.sockets.delete(socket);
      this.sessions.delete(socket);
    });
    socket.send(JSON.stringify({ op: 10, d: { heartbeat_interval: 41_250 }, s: null, t: null }));
    socket.on("message", (raw) => {
      const payload = JSON.parse(String(raw)) as { op: number; d: unknown };
      if (payload.op === 1) {
        socket.send(JSON.stringify({ op: 11, d: null, s: null, t: null }));
      } else if (payload.op === 2) {
        const identify = payload.d as { intents: number; token: string; shard?: [number, number] };
        const shard = identify.shard ?? [0, 1];
        const at = Date.now();
        this.identifies.push({ intents: identify.intents, token: identify.token, shard, at });
        if (identify.token !== this.token) {
          socket.close(4004, "Authentication failed.");
          return;
        }
        const [index, count] = shard;
        if (
          !Number.isInteger(index) ||
          !Number.isInteger(count) ||
          index < 0 ||
          count < 1 ||
          index >= count
        ) {
          socket.close(4010, "Invalid shard.");
          this.problems.push(`IDENTIFY with an invalid shard ${JSON.stringify(shard)}`);
          return;
        }
        const bucket = index % this.maxConcurrency;
        const previous = this.lastIdentifyByBucket.get(bucket);
        if (previous !== undefined && at - previous < IDENTIFY_WINDOW_MS) {
          // Discord invalidates the sessions of a bot that identifies too fast.
          this.problems.push(
            `IDENTIFY for shard ${index} came ${at - previous} ms after the last one in bucket ${bucket} (max_concurrency ${this.maxConcurrency}: one per bucket every 5 s)`,
          );
        }
        this.lastIdentifyByBucket.set(bucket, at);
        if (this.options.refuseMessageContent && (identify.intents & MESSAGE_CONTENT_INTENT) !== 0) {
          socket.close(4014, "Disallowed intent(s).");
          return;
        }
        const session: GatewaySession = { shard: [index, count], sequence: 0 };
        this.sessions.set(socket, session);
        this.sendReady(socket, session);
      }
    });
  }

  private get maxConcurrency(): number {
    return this.options.maxConcurrency ?? 1;
  }

  /** READY names the shard and only its guilds; the guild's GUILD_CREATE follows on its own shard. */
  private sendReady(socket: WebSocket, session: GatewaySession): void {
    const [index, count] = session.shard;
    const ownsGuild = shardOf(this.guildId, count) === index;
    const ready = {
      v: 10,
      user: this.botUser,
      guilds: ownsGuild ? [{ id: this.guildId, unavailable: true }] : [],
      session_id: `session-${snowflake()}`,
      resume_gateway_url: this.gatewayUrl,
      application: { id: this.applicationId, flags: 0 },
      shard: session.shard,
    };
    socket.send(JSON.stringify({ op: 0, t: "READY", s: ++session.sequence, d: ready }));
    if (ownsGuild) {
      socket.send(
        JSON.stringify({ op: 0, t: "GUILD_CREATE", s: ++session.sequence, d: this.guildPayload() }),
      );
    }
  }

  private guildPayload(): Record<string, unknown> {
    const role = (id: string, name: string, permissions: string, extra: Record<string, unknown> = {}) => ({
      id,
      name,
      color: 0,
      colors: { primary_color: 0, secondary_color: null, tertiary_color: null },
      hoist: false,
      icon: null,
      unicode_emoji: null,
      position: id === this.guildId ? 0 : 1,
      permissions,
      managed: false,
      mentionable: true,
      flags: 0,
      ...extra,
    });
    const now = new Date().toISOString();
    return {
      id: this.guildId,
      name: "Stand-in Guild",
      icon: null,
      owner_id: this.ownerId,
      // @everyone: View Channel, Send Messages, Read Message History, Use Application Commands.
      roles: [
        role(this.guildId, "@everyone", String((1n << 10n) | (1n << 11n) | (1n << 16n) | (1n << 31n))),
        role(this.botRoleId, "teammate", String((1n << 10n) | (1n << 11n) | (1n << 16n)), {
          managed: true,
          tags: { bot_id: this.applicationId },
        }),
        role(this.adminRoleId, "Moderators", String(1n << 5n)),
      ],
      channels: [
        {
          id: this.channelId,
          type: 0,
          guild_id: this.guildId,
          name: "general",
          position: 0,
          permission_overwrites: [],
          topic: null,
          nsfw: false,
          parent_id: null,
        },
      ],
      threads: [
        {
          id: this.threadId,
          type: 11,
          guild_id: this.guildId,
          parent_id: this.channelId,
          owner_id: this.ownerId,
          name: "a thread",
          message_count: 0,
          member_count: 1,
          thread_metadata: {
            archived: false,
            auto_archive_duration: 1440,
            archive_timestamp: now,
            locked: false,
          },
        },
      ],
      members: [{ user: this.botUser, roles: [this.botRoleId], joined_at: now, deaf: false, mute: false }],
      member_count: 3,
      large: false,
      unavailable: false,
      joined_at: now,
      emojis: [],
      stickers: [],
      features: [],
      voice_states: [],
      presences: [],
      stage_instances: [],
      guild_scheduled_events: [],
      soundboard_sounds: [],
      preferred_locale: "en-US",
      premium_tier: 0,
      system_channel_id: null,
      verification_level: 0,
      default_message_notifications: 0,
      explicit_content_filter: 0,
      mfa_level: 0,
      nsfw_level: 0,
      afk_timeout: 300,
    };
  }

  // ---- dispatch builders (from the spec fixtures) ----

  /**
   * An INTERACTION_CREATE for a slash command, built from the docs' example interaction with a
   * fresh id and token, this guild and channel, and the given user and permissions.
   */
  slashCommand(options: {
    name: string;
    options?: unknown[];
    userId?: string;
    permissions?: bigint;
    channelId?: string;
    attachments?: Record<string, unknown>;
    /** Another guild than the stand-in's own (an attacker's server the bot is also in). */
    guildId?: string;
    /** A DM with the bot: no guild, no member, a `user` and a DM channel (type 1). */
    directMessage?: boolean;
  }): APIChatInputApplicationCommandInteraction {
    const example = readFixture<Record<string, unknown>>("interaction.application_command.docs_example.json");
    const member = example.member as Record<string, unknown>;
    const user = { ...(member.user as Record<string, unknown>), id: options.userId ?? snowflake() };
    const id = snowflake();
    // Shaped like Discord's: base64 of "interaction:<id>:<secret>", so redaction is tested on the real shape.
    const token = `aW50ZXJhY3Rpb246${Buffer.from(`${id}:${snowflake()}${Math.random().toString(36).slice(2)}`).toString("base64url")}`;
    const channelId = options.channelId ?? this.channelId;
    const guildId = options.directMessage ? undefined : (options.guildId ?? this.guildId);
    const { member: _member, guild_id: _guild, ...withoutGuild } = example;
    const place = guildId
      ? {
          guild_id: guildId,
          channel: { id: channelId, type: channelId === this.threadId ? 11 : 0, guild_id: guildId },
          guild: { id: guildId, locale: "en-US", features: [] },
          authorizing_integration_owners: { "0": guildId },
          context: 0,
          member: {
            ...member,
            user,
            roles: [],
            permissions: String(options.permissions ?? (1n << 10n) | (1n << 11n)),
            flags: 0,
          },
        }
      : {
          channel: { id: channelId, type: 1, recipients: [user] },
          authorizing_integration_owners: { "0": this.applicationId },
          context: 1,
          user,
        };
    const interaction = {
      ...withoutGuild,
      id,
      token,
      application_id: this.applicationId,
      channel_id: channelId,
      version: 1,
      entitlements: [],
      attachment_size_limit: 10_485_760,
      ...place,
      data: {
        id: snowflake(),
        type: 1,
        name: options.name,
        ...(options.options ? { options: options.options } : {}),
        ...(options.attachments ? { resolved: { attachments: options.attachments } } : {}),
      },
    } as unknown as APIChatInputApplicationCommandInteraction;
    this.interactions.set(id, {
      id,
      token,
      dispatchedAt: 0,
      channelId,
      guildId,
      ephemeral: false,
    });
    return interaction;
  }

  /** An INTERACTION_CREATE for a click on a button teammate posted. */
  buttonClick(options: {
    customId: string;
    messageId: string;
    userId?: string;
    /** Where the click comes from; by default the stand-in's guild and channel. */
    guildId?: string;
    channelId?: string;
    directMessage?: boolean;
    permissions?: bigint;
  }): APIMessageComponentButtonInteraction {
    const command = this.slashCommand({
      name: "unused",
      ...(options.userId ? { userId: options.userId } : {}),
      ...(options.guildId ? { guildId: options.guildId } : {}),
      ...(options.channelId ? { channelId: options.channelId } : {}),
      ...(options.directMessage ? { directMessage: true } : {}),
      ...(options.permissions === undefined ? {} : { permissions: options.permissions }),
    });
    const message = this.messages.get(options.messageId);
    return {
      ...command,
      type: 3,
      data: { custom_id: options.customId, component_type: 2 },
      message: message ?? { id: options.messageId, channel_id: options.channelId ?? this.channelId },
    } as unknown as APIMessageComponentButtonInteraction;
  }

  /**
   * An INTERACTION_CREATE of type 4: someone typing in an autocomplete option. `options` are the
   * values so far (subcommand wrappers included), the one being typed marked `focused: true`.
   */
  autocomplete(options: {
    name: string;
    options: unknown[];
    userId?: string;
    permissions?: bigint;
    channelId?: string;
    guildId?: string;
  }): APIApplicationCommandAutocompleteInteraction {
    const command = this.slashCommand(options);
    return { ...command, type: 4 } as unknown as APIApplicationCommandAutocompleteInteraction;
  }

  /**
   * An INTERACTION_CREATE for a message context-menu command (application command type 3) used on a
   * stored message, with the message in `resolved.messages` as Discord sends it.
   */
  messageCommand(options: {
    name: string;
    messageId: string;
    userId?: string;
    permissions?: bigint;
    channelId?: string;
    /** The user's client language, e.g. `de`. */
    locale?: string;
  }): APIMessageApplicationCommandInteraction {
    const target = this.messages.get(options.messageId);
    if (!target) throw new Error(`no message ${options.messageId}`);
    const command = this.slashCommand({
      name: options.name,
      channelId: options.channelId ?? target.channel_id,
      ...(options.userId ? { userId: options.userId } : {}),
      ...(options.permissions === undefined ? {} : { permissions: options.permissions }),
    });
    return {
      ...command,
      ...(options.locale ? { locale: options.locale } : {}),
      data: {
        id: snowflake(),
        type: 3,
        name: options.name,
        target_id: target.id,
        resolved: { messages: { [target.id]: this.served(target) } },
      },
    } as unknown as APIMessageApplicationCommandInteraction;
  }

  /**
   * An INTERACTION_CREATE of type 5: the modal with this `custom_id` submitted, each text field as
   * a Label (type 18) around its text input, as Discord sends them.
   */
  modalSubmit(options: {
    customId: string;
    fields: Record<string, string>;
    userId?: string;
    permissions?: bigint;
    channelId?: string;
  }): APIModalSubmitInteraction {
    const command = this.slashCommand({
      name: "unused",
      ...(options.userId ? { userId: options.userId } : {}),
      ...(options.channelId ? { channelId: options.channelId } : {}),
      ...(options.permissions === undefined ? {} : { permissions: options.permissions }),
    });
    return {
      ...command,
      type: 5,
      data: {
        custom_id: options.customId,
        components: Object.entries(options.fields).map(([customId, value], index) => ({
          type: 18,
          id: index * 2 + 1,
          component: { type: 4, id: index * 2 + 2, custom_id: customId, value },
        })),
      },
    } as unknown as APIModalSubmitInteraction;
  }

  /** How an interaction was answered: its callback's type (5 deferred, 8 autocomplete, 9 modal…) and data. */
  callbackOf(interactionId: string): { type: number; data: Record<string, unknown> } | undefined {
    const request = this.requests.find(
      (candidate) =>
        candidate.method === "POST" && candidate.path.startsWith(`/interactions/${interactionId}/`),
    );
    if (!request) return undefined;
    const body = request.body as { type: number; data?: Record<string, unknown> };
    return { type: body.type, data: body.data ?? {} };
  }

  /** Sends an interaction over the gateway; the 3-second acknowledgement clock starts now. */
  dispatchInteraction(interaction: { id: string }): void {
    const state = this.interactions.get(interaction.id);
    if (state && state.dispatchedAt === 0) state.dispatchedAt = Date.now();
    this.dispatch("INTERACTION_CREATE", interaction);
  }

  /** A MESSAGE_CREATE from a person in this guild (or a DM when `guild` is false); stored for fetches. */
  userMessage(options: {
    content: string;
    userId?: string;
    username?: string;
    channelId?: string;
    guild?: boolean;
    mentionBot?: boolean;
    mentionRoles?: string[];
    roles?: string[];
    replyTo?: string;
    attachments?: unknown[];
    bot?: boolean;
  }): GatewayMessageCreateDispatchData {
    const inGuild = options.guild ?? true;
    const id = snowflake();
    const author: StandInUser = {
      id: options.userId ?? snowflake(),
      username: options.username ?? "mason",
      discriminator: "0",
      global_name: options.username ?? "Mason",
      avatar: null,
      ...(options.bot ? { bot: true } : {}),
    };
    const channelId = options.channelId ?? this.channelId;
    const referenced = options.replyTo ? this.messages.get(options.replyTo) : undefined;
    const now = new Date().toISOString();
    const message = {
      id,
      type: options.replyTo ? 19 : 0,
      channel_id: channelId,
      // Discord's MESSAGE_CREATE names the channel type; discord.js needs it to build an uncached DM channel.
      channel_type: inGuild ? (channelId === this.threadId ? 11 : 0) : 1,
      ...(inGuild ? { guild_id: this.guildId } : {}),
      author,
      ...(inGuild
        ? { member: { roles: options.roles ?? [], joined_at: now, deaf: false, mute: false, flags: 0 } }
        : {}),
      content: options.content,
      timestamp: now,
      edited_timestamp: null,
      tts: false,
      mention_everyone: false,
      mentions: options.mentionBot
        ? [{ ...this.botUser, member: { roles: [this.botRoleId], joined_at: now } }]
        : [],
      mention_roles: options.mentionRoles ?? [],
      attachments: options.attachments ?? [],
      embeds: [],
      pinned: false,
      flags: 0,
      components: [],
      ...(options.replyTo
        ? {
            message_reference: {
              type: 0,
              message_id: options.replyTo,
              channel_id: channelId,
              guild_id: this.guildId,
            },
            referenced_message: referenced ?? null,
          }
        : {}),
    } as unknown as GatewayMessageCreateDispatchData;
    this.messages.set(id, message as unknown as StandInMessage);
    return message;
  }

  /** Stores a message as if it had been posted earlier (context for reply chains and threads). */
  /** A guild channel (or DM) for channel-history tests; returns its id. */
  addChannel(options: StandInChannelOptions): string {
    const id = snowflake();
    this.channels.set(id, { ...options, id });
    return id;
  }

  /** Changes a channel added with `addChannel` (made private, the bot's access taken away). */
  updateChannel(id: string, changes: Partial<StandInChannelOptions>): void {
    const channel = this.channels.get(id);
    if (!channel) throw new Error(`no channel ${id} in the stand-in`);
    Object.assign(channel, changes);
  }

  /** A member's message in a channel or thread (a reply with `replyTo`); returns it as stored. */
  postAsMember(
    channelId: string,
    author: { id: string; username: string },
    content: string,
    replyTo?: string,
  ): StandInMessage {
    const message: StandInMessage = {
      id: snowflake(),
      type: replyTo ? 19 : 0,
      channel_id: channelId,
      guild_id: this.guildId,
      author: {
        id: author.id,
        username: author.username,
        discriminator: "0",
        global_name: author.username,
        avatar: null,
      },
      content,
      timestamp: new Date().toISOString(),
      edited_timestamp: null,
      tts: false,
      mention_everyone: false,
      mentions: [],
      mention_roles: [],
      attachments: [],
      embeds: [],
      components: [],
      pinned: false,
      flags: 0,
      ...(replyTo
        ? {
            message_reference: {
              type: 0,
              message_id: replyTo,
              channel_id: channelId,
              guild_id: this.guildId,
            },
          }
        : {}),
    };
    this.messages.set(message.id, message);
    const thread = this.channels.get(channelId);
    if (thread?.parentId) {
      const starter = [...this.messages.values()].find(
        (candidate) => (candidate.thread as { id?: string } | undefined)?.id === channelId,
      );
      const summary = starter?.thread as Record<string, unknown> | undefined;
      if (summary) {
        summary.message_count = Number(summary.message_count) + 1;
        summary.total_message_sent = Number(summary.total_message_sent) + 1;
        summary.last_message_id = message.id;
      }
    }
    return message;
  }

  /** A member edits their message (Discord sets `edited_timestamp`). */
  editAsMember(messageId: string, content: string): void {
    const message = this.messages.get(messageId);
    if (!message) throw new Error(`no message ${messageId}`);
    message.content = content;
    message.edited_timestamp = new Date(Date.now() + 1).toISOString();
  }

  /** A message deleted by a member or a moderator. */
  deleteMessage(messageId: string): void {
    this.messages.delete(messageId);
  }

  /** Starts a public thread from a message, as `POST /channels/{id}/messages/{id}/threads` does; returns the thread's id. */
  startThread(messageId: string, name: string, ownerId?: string): string {
    return String(this.createThread(messageId, name, ownerId).id);
  }

  /** The threads started from a message through the REST API, by the thread's id. */
  threadsStarted(): string[] {
    return this.requestsTo("POST", "/channels/{channel_id}/messages/{message_id}/threads")
      .filter((request) => request.status === 201)
      .map((request) => request.path.split("/")[4] ?? "");
  }

  /** The thread a message starts (its id is the message's), as Discord's thread object. */
  private createThread(messageId: string, name: string, ownerId?: string): Record<string, unknown> {
    const starter = this.messages.get(messageId);
    if (!starter) throw new Error(`no message ${messageId}`);
    const id = starter.id;
    this.channels.set(id, { id, name, type: 11, parentId: starter.channel_id });
    // HAS_THREAD, as Discord sets it on a thread's starter message.
    starter.flags |= 1 << 5;
    starter.thread = {
      id,
      type: 11,
      flags: 0,
      guild_id: this.guildId,
      parent_id: starter.channel_id,
      name,
      // The thread's creator: whoever called the route (the bot), or the starter's author.
      owner_id: ownerId ?? starter.author.id,
      last_message_id: null,
      thread_metadata: {
        archived: false,
        archive_timestamp: null,
        auto_archive_duration: 1440,
        locked: false,
      },
      message_count: 0,
      member_count: 1,
      total_message_sent: 0,
    };
    return starter.thread as Record<string, unknown>;
  }

  /** The message link Discord's "Copy Message Link" gives. */
  messageLink(channelId: string, messageId: string): string {
    return `https://discord.com/channels/${this.guildId}/${channelId}/${messageId}`;
  }

  /** A message as the REST API serves it: the stand-in's own bookkeeping left out, the author complete. */
  private served(message: StandInMessage): Record<string, unknown> {
    const { via: _via, interactionToken: _token, ...shown } = message;
    return { ...shown, author: { public_flags: 0, flags: 0, primary_guild: null, ...message.author } };
  }

  seedMessage(message: GatewayMessageCreateDispatchData): void {
    this.messages.set(message.id, message as unknown as StandInMessage);
  }

  // ---- REST ----

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? "/", "http://127.0.0.1");
    // discord.js percent-encodes `@original`; Discord routes on the decoded path.
    const pathname = decodeURIComponent(url.pathname);
    const method = (request.method ?? "GET").toUpperCase();
    // The CDN is not part of the REST API: no spec, no token, no rate-limit buckets.
    const file = method === "GET" ? this.files.get(url.pathname) : undefined;
    if (file) {
      this.downloads.push(url.pathname);
      response.writeHead(200, { "content-type": file.contentType }).end(file.content);
      return;
    }
    const raw = await readBody(request);
    const record: RecordedDiscordRequest = {
      method,
      path: pathname.startsWith(BASE_PATH) ? pathname.slice(BASE_PATH.length) : pathname,
      template: undefined,
      query: url.searchParams,
      body: undefined,
      files: [],
      at: Date.now(),
      status: 0,
    };
    this.requests.push(record);
    const send = (status: number, body?: unknown, headers: Record<string, string> = {}) => {
      record.status = status;
      response.writeHead(status, {
        ...(body === undefined ? {} : { "content-type": "application/json" }),
        ...headers,
      });
      response.end(body === undefined ? undefined : JSON.stringify(body));
    };
    const reject = (status: number, code: number, message: string) => {
      this.problems.push(`${method} ${record.path}: ${message}`);
      send(status, { code, message });
    };

    if (!pathname.startsWith(BASE_PATH)) return reject(404, 0, "not under /api/v10");
    const template = this.validator.matchPath(pathname);
    record.template = template;
    if (!template || !this.validator.hasOperation(template, method)) {
      return reject(404, 0, `no ${method} ${record.path} in the spec subset (test/fixtures/specs/discord)`);
    }
    const isInteractionRoute = template.startsWith("/interactions/") || template.startsWith("/webhooks/");
    if (!isInteractionRoute && request.headers.authorization !== `Bot ${this.token}`) {
      return reject(401, 0, "401: Unauthorized");
    }

    // Body: JSON, or multipart with `payload_json` and `files[n]`.
    const contentType = String(request.headers["content-type"] ?? "");
    if (raw.length > 0) {
      if (contentType.startsWith("multipart/form-data")) {
        const form = await new Request("http://stand-in/", {
          method: "POST",
          headers: { "content-type": contentType },
          body: raw,
        }).formData();
        const payload = form.get("payload_json");
        record.body = typeof payload === "string" ? JSON.parse(payload) : {};
        for (const [field, value] of form.entries()) {
          if (field !== "payload_json" && typeof value !== "string") {
            record.files.push({ field, name: value.name, contentType: value.type, text: await value.text() });
          }
        }
        const multipart = {
          ...(record.body as Record<string, unknown>),
          ...Object.fromEntries(record.files.map((file) => [file.field, file.text])),
        };
        const result = this.validator.validateRequestBody(template, method, multipart, "multipart/form-data");
        if (!result.ok) return reject(400, 50035, `Invalid Form Body: ${result.errors}`);
      } else {
        try {
          record.body = JSON.parse(raw.toString("utf8"));
        } catch {
          return reject(400, 50109, "The request body contains invalid JSON.");
        }
        const result = this.validator.validateRequestBody(template, method, record.body);
        if (!result.ok) return reject(400, 50035, `Invalid Form Body: ${result.errors}`);
      }
      const limitProblem = documentedLimitProblem(template, record.body);
      if (limitProblem) return reject(400, 50035, `Invalid Form Body: ${limitProblem}`);
    }

    // Rate limits per route bucket (template + top-level resource), as Discord sends them.
    // Top-level resources per the rate-limits doc: channel_id, guild_id, and for webhooks
    // webhook_id + webhook_token (so each interaction's token has its own bucket).
    const parts = record.path.split("/");
    const majorParameter = parts[1] === "webhooks" ? `${parts[2] ?? ""}/${parts[3] ?? ""}` : (parts[2] ?? "");
    const bucketKey = `${method} ${template} ${majorParameter}`;
    const now = Date.now();
    let bucket = this.buckets.get(bucketKey);
    if (!bucket || bucket.resetAt <= now) {
      bucket = { count: 0, resetAt: now + RATE_WINDOW_MS };
      this.buckets.set(bucketKey, bucket);
    }
    bucket.count++;
    const resetAfter = Math.max(0, (bucket.resetAt - now) / 1000);
    const rateHeaders: Record<string, string> = {
      "x-ratelimit-limit": String(RATE_LIMIT),
      "x-ratelimit-remaining": String(Math.max(0, RATE_LIMIT - bucket.count)),
      "x-ratelimit-reset": (bucket.resetAt / 1000).toFixed(3),
      "x-ratelimit-reset-after": resetAfter.toFixed(3),
      "x-ratelimit-bucket": createHash("sha1").update(`${method} ${template}`).digest("hex").slice(0, 16),
    };
    if (bucket.count > RATE_LIMIT) {
      this.problems.push(`${method} ${record.path}: rate limited (429)`);
      return send(
        429,
        { message: "You are being rate limited.", retry_after: resetAfter, global: false },
        { ...rateHeaders, "retry-after": String(Math.ceil(resetAfter)), "x-ratelimit-scope": "user" },
      );
    }
    const ok = (body?: unknown, status = body === undefined ? 204 : 200) => send(status, body, rateHeaders);
    // A refusal Discord gives a well-formed request (no access to that channel): an answer, not a
    // problem with the request, and it carries the bucket's headers like any other.
    const deny = (status: number, code: number, message: string) =>
      send(status, { code, message }, rateHeaders);
    const [, first, second, third, fourth, fifth] = record.path.split("/");
    const body = (record.body ?? {}) as Record<string, unknown>;

    switch (`${method} ${template}`) {
      case "GET /gateway/bot":
        return ok({
          url: this.gatewayUrl,
          shards: this.options.recommendedShards ?? 1,
          session_start_limit: {
            total: 1000,
            remaining: 999,
            reset_after: 14_400_000,
            max_concurrency: this.maxConcurrency,
          },
        });
      case "GET /users/@me":
        return ok(this.botUser);
      case "PUT /applications/{application_id}/commands":
      case "PUT /applications/{application_id}/guilds/{guild_id}/commands": {
        if (second !== this.applicationId) return reject(403, 50001, "Missing Access (wrong application id)");
        const scope = template.includes("guilds") ? (fourth ?? "") : "global";
        const list = Array.isArray(record.body) ? record.body : [];
        this.commands.set(scope, list);
        return ok(
          list.map((command) => ({
            ...(command as object),
            id: snowflake(),
            application_id: this.applicationId,
            version: snowflake(),
            default_member_permissions: null,
            ...(scope === "global" ? {} : { guild_id: scope }),
          })),
        );
      }
      case "POST /interactions/{interaction_id}/{interaction_token}/callback": {
        const state = this.interactions.get(second ?? "");
        if (!state || state.token !== third) return reject(404, 10062, "Unknown interaction");
        if (state.acknowledgedAs !== undefined) {
          return reject(400, 40060, "Interaction has already been acknowledged.");
        }
        if (state.dispatchedAt > 0 && Date.now() - state.dispatchedAt > 3000) {
          return reject(404, 10062, "Unknown interaction (not acknowledged within 3 seconds)");
        }
        const callbackData = (body.data ?? {}) as Record<string, unknown>;
        this.checkLinkPreviews(record.path, callbackData.content, callbackData.flags, callbackData.embeds);
        state.acknowledgedAs = Number(body.type);
        state.ephemeral =
          ((Number((body.data as Record<string, unknown> | undefined)?.flags) || 0) & 64) !== 0;
        if (state.acknowledgedAs === 5) {
          this.storeMessage({
            id: state.id,
            channelId: state.channelId,
            content: "",
            via: "webhook",
            token: state.token,
          });
        }
        return ok();
      }
      case "PATCH /webhooks/{webhook_id}/{webhook_token}/messages/@original":
      case "PATCH /webhooks/{webhook_id}/{webhook_token}/messages/{message_id}":
      case "DELETE /webhooks/{webhook_id}/{webhook_token}/messages/@original":
      case "POST /webhooks/{webhook_id}/{webhook_token}": {
        if (first !== "webhooks" || second !== this.applicationId)
          return reject(404, 10015, "Unknown Webhook");
        const state = [...this.interactions.values()].find((interaction) => interaction.token === third);
        if (!state) return reject(401, 50027, "Invalid Webhook Token");
        if (this.refusedTokens.has(state.token)) {
          record.status = 404;
          return send(404, { code: 10015, message: "Unknown Webhook" });
        }
        if (state.acknowledgedAs === undefined)
          return reject(404, 10015, "Unknown Webhook (not acknowledged yet)");
        if (method === "POST") {
          this.checkLinkPreviews(record.path, body.content, body.flags, body.embeds);
          const message = this.storeMessage({
            channelId: state.channelId,
            via: "webhook",
            token: state.token,
            body,
          });
          return ok(message, 200);
        }
        const targetId = fifth === "@original" ? state.id : (fifth ?? "");
        const existing = this.messages.get(targetId);
        if (!existing) return reject(404, 10008, "Unknown Message");
        if (method === "DELETE") {
          this.messages.delete(targetId);
          return ok();
        }
        this.checkEditPreviews(record.path, existing, body);
        return ok(this.editMessage(existing, body));
      }
      case "POST /channels/{channel_id}/messages": {
        this.checkLinkPreviews(record.path, body.content, body.flags, body.embeds);
        return ok(this.storeMessage({ channelId: second ?? "", via: "channel", body }), 200);
      }
      case "PATCH /channels/{channel_id}/messages/{message_id}": {
        const existing = this.messages.get(fourth ?? "");
        if (!existing || existing.channel_id !== second) return reject(404, 10008, "Unknown Message");
        this.checkEditPreviews(record.path, existing, body);
        return ok(this.editMessage(existing, body));
      }
      case "GET /channels/{channel_id}/messages/{message_id}": {
        const existing = this.messages.get(fourth ?? "");
        if (!existing || existing.channel_id !== second) return reject(404, 10008, "Unknown Message");
        return ok(existing);
      }
      case "GET /channels/{channel_id}/messages": {
        const query = this.validator.validateQueryParameters(template, method, url.searchParams);
        if (!query.ok) return reject(400, 50035, `Invalid Form Body: ${query.errors}`);
        const known = this.channels.get(second ?? "");
        if (known && known.botCanView === false) return deny(403, 50001, "Missing Access");
        if (known && known.botCanReadHistory === false) return deny(403, 50013, "Missing Permissions");
        const before = url.searchParams.get("before");
        const after = url.searchParams.get("after");
        const limit = Number(url.searchParams.get("limit") ?? 50);
        // Newest first, as Discord answers with `before` (or nothing); with `after`, the oldest ones
        // after it, still newest first in the array.
        const inChannel = [...this.messages.values()]
          .filter(
            (message) =>
              message.channel_id === second &&
              (!before || BigInt(message.id) < BigInt(before)) &&
              (!after || BigInt(message.id) > BigInt(after)),
          )
          .sort((a, b) => (BigInt(b.id) > BigInt(a.id) ? 1 : -1));
        const list = after ? inChannel.slice(-limit) : inChannel.slice(0, limit);
        const shown = list.map((message) => this.served(message));
        if (known) {
          // The channel-history routes serve only what the spec says Discord sends.
          const result = this.validator.validateResponseBody(template, method, "200", shown);
          if (!result.ok)
            this.problems.push(`GET ${record.path}: the stand-in's answer breaks the spec: ${result.errors}`);
        }
        return ok(shown);
      }
      case "POST /channels/{channel_id}/messages/{message_id}/threads": {
        const starter = this.messages.get(fourth ?? "");
        if (!starter || starter.channel_id !== second) return reject(404, 10008, "Unknown Message");
        if (second === this.threadId || this.channels.get(second ?? "")?.parentId)
          return reject(400, 50024, "Cannot execute action on this channel type");
        if (starter.thread) return reject(400, 160004, "A thread has already been created for this message");
        const thread = this.createThread(starter.id, String(body.name), this.botUser.id);
        const result = this.validator.validateResponseBody(template, method, "201", thread);
        if (!result.ok)
          this.problems.push(`POST ${record.path}: the stand-in's answer breaks the spec: ${result.errors}`);
        return ok(thread, 201);
      }
      case "POST /channels/{channel_id}/typing":
        return ok();
      case "GET /channels/{channel_id}": {
        const known = this.channels.get(second ?? "");
        if (known) {
          if (known.botCanView === false) return deny(403, 50001, "Missing Access");
          const VIEW_CHANNEL = 1 << 10;
          const channel =
            known.type === 1
              ? { id: known.id, type: 1, flags: 0, last_message_id: null, recipients: [] }
              : {
                  id: known.id,
                  type: known.type ?? 0,
                  flags: 0,
                  guild_id: this.guildId,
                  name: known.name,
                  position: 0,
                  ...(known.parentId ? { parent_id: known.parentId } : {}),
                  permission_overwrites: known.isPrivate
                    ? [
                        { id: this.guildId, type: 0, allow: "0", deny: String(VIEW_CHANNEL) },
                        { id: this.botRoleId, type: 0, allow: String(VIEW_CHANNEL), deny: "0" },
                      ]
                    : [],
                };
          if (!known.parentId) {
            const result = this.validator.validateResponseBody(template, method, "200", channel);
            if (!result.ok)
              this.problems.push(
                `GET ${record.path}: the stand-in's answer breaks the spec: ${result.errors}`,
              );
          }
          return ok(channel);
        }
        if (second === this.channelId) {
          return ok({ id: this.channelId, type: 0, guild_id: this.guildId, name: "general", position: 0 });
        }
        return reject(404, 10003, "Unknown Channel");
      }
      default:
        return reject(501, 0, `the stand-in does not serve ${method} ${template}`);
    }
  }

  private storeMessage(options: {
    id?: string;
    channelId: string;
    content?: string;
    via: "webhook" | "channel";
    token?: string;
    body?: Record<string, unknown>;
  }): StandInMessage {
    const body = options.body ?? {};
    const reference = body.message_reference as { message_id: string } | undefined;
    const message: StandInMessage = {
      id: options.id ?? snowflake(),
      type: reference ? 19 : 0,
      channel_id: options.channelId,
      ...(options.channelId === this.channelId ||
      options.channelId === this.threadId ||
      this.channels.get(options.channelId)?.parentId
        ? { guild_id: this.guildId }
        : {}),
      author: this.botUser,
      content: typeof body.content === "string" ? body.content : (options.content ?? ""),
      timestamp: new Date().toISOString(),
      edited_timestamp: null,
      tts: false,
      mention_everyone: false,
      mentions: [],
      mention_roles: [],
      attachments: [],
      embeds: Array.isArray(body.embeds) ? body.embeds : [],
      components: Array.isArray(body.components) ? body.components : [],
      pinned: false,
      flags: Number(body.flags ?? 0),
      via: options.via,
      ...(options.token ? { interactionToken: options.token, webhook_id: this.applicationId } : {}),
      ...(reference
        ? { message_reference: { message_id: reference.message_id, channel_id: options.channelId } }
        : {}),
    };
    this.messages.set(message.id, message);
    return message;
  }

  /**
   * Discord fetches every link in a message's content to build a preview embed, unless the message
   * carries SUPPRESS_EMBEDS or the link is wrapped in `<…>`: the fetch would reach whatever server the
   * link names with no click. A message showing such a link is recorded as a problem, and so is
   * SUPPRESS_EMBEDS on a message with embeds of its own (Discord would hide them too).
   */
  private checkLinkPreviews(path: string, content: unknown, flags: unknown, embeds: unknown): void {
    const suppressed = (Number(flags ?? 0) & SUPPRESS_EMBEDS) !== 0;
    if (suppressed && Array.isArray(embeds) && embeds.length > 0) {
      this.problems.push(`${path}: SUPPRESS_EMBEDS on a message with its own embeds hides them`);
    }
    if (typeof content !== "string" || suppressed) return;
    const previewed = previewedLinks(content);
    if (previewed.length > 0) {
      this.problems.push(`${path}: link preview not suppressed for ${previewed.join(", ")}`);
    }
  }

  private checkEditPreviews(path: string, existing: StandInMessage, body: Record<string, unknown>): void {
    this.checkLinkPreviews(
      path,
      typeof body.content === "string" ? body.content : existing.content,
      body.flags === undefined || body.flags === null ? existing.flags : body.flags,
      Array.isArray(body.embeds) ? body.embeds : existing.embeds,
    );
  }

  private editMessage(existing: StandInMessage, body: Record<string, unknown>): StandInMessage {
    if (typeof body.flags === "number") existing.flags = body.flags;
    if (typeof body.content === "string") existing.content = body.content;
    if (Array.isArray(body.embeds)) existing.embeds = body.embeds;
    if (Array.isArray(body.components)) existing.components = body.components;
    existing.edited_timestamp = new Date().toISOString();
    return existing;
  }
}

/** Starts a stand-in on 127.0.0.1 with a free port. */
export async function startDiscordStandIn(options: DiscordStandInOptions = {}): Promise<DiscordStandIn> {
  return new DiscordStandIn(options).listen();
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const SUPPRESS_EMBEDS = 1 << 2;

/**
 * The links Discord would preview in message content: http(s) URLs outside code spans and blocks that
 * are not wrapped in `<…>` (also inside a masked link's parentheses).
 */
export function previewedLinks(content: string): string[] {
  const withoutCode = content.replace(/```[\s\S]*?```/g, " ").replace(/`[^`\n]*`/g, " ");
  const links: string[] = [];
  for (const match of withoutCode.matchAll(/https?:\/\/[^\s<>()]+/gi)) {
    const before = withoutCode[(match.index ?? 0) - 1];
    if (before === "<") continue;
    links.push(match[0]);
  }
  return links;
}

const COMMAND_NAME = /^[-_\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$/u;

/** The documented limits the preview spec does not encode (NOTES.md §5 and §7). */
export function documentedLimitProblem(template: string, body: unknown): string | undefined {
  if (template.endsWith("/commands") && Array.isArray(body)) {
    const commands = body as Array<Record<string, unknown>>;
    const ofType = (type: number) => commands.filter((command) => (command.type ?? 1) === type).length;
    if (ofType(1) > 100) return `${ofType(1)} slash commands; the limit is 100`;
    if (ofType(3) > 5) return `${ofType(3)} message commands; the limit is 5`;
    const names = commands.map((command) => `${command.type ?? 1}:${String(command.name)}`);
    if (new Set(names).size !== names.length) return "two commands of one type share a name";
    for (const command of commands) {
      const problem = commandProblem(command);
      if (problem) return problem;
    }
    return undefined;
  }
  if (!body || typeof body !== "object") return undefined;
  const message = body as Record<string, unknown>;
  const data = (message.data ?? message) as Record<string, unknown>;
  if (typeof data.content === "string" && data.content.length > 2000) {
    return `content is ${data.content.length} characters; the limit is 2000`;
  }
  if (Array.isArray(data.embeds)) {
    if (data.embeds.length > 10) return "more than 10 embeds";
    let total = 0;
    for (const embed of data.embeds as Array<Record<string, unknown>>) {
      const title = String(embed.title ?? "");
      const description = String(embed.description ?? "");
      if (title.length > 256) return "embed title over 256 characters";
      if (description.length > 4096) return "embed description over 4096 characters";
      const fields = (embed.fields ?? []) as Array<{ name: string; value: string }>;
      if (fields.length > 25) return "more than 25 embed fields";
      total += title.length + description.length;
      for (const field of fields) {
        if (field.name.length > 256 || field.value.length > 1024) return "embed field over its limit";
        total += field.name.length + field.value.length;
      }
      total += String((embed.footer as { text?: string } | undefined)?.text ?? "").length;
      total += String((embed.author as { name?: string } | undefined)?.name ?? "").length;
    }
    if (total > 6000) return `embeds total ${total} characters; the limit is 6000`;
  }
  return undefined;
}

function commandProblem(command: Record<string, unknown>, depth = 0): string | undefined {
  const name = String(command.name ?? "");
  if (depth === 0 && (command.type === 2 || command.type === 3)) {
    // User and message commands (context menus): any case and spaces, no description, no options.
    if ([...name].length < 1 || [...name].length > 32)
      return `context-menu name "${name}" must be 1-32 characters`;
    if (command.description) return `context-menu command "${name}" must not have a description`;
    if (command.options) return `context-menu command "${name}" must not have options`;
    return undefined;
  }
  const description = String(command.description ?? "");
  if (!COMMAND_NAME.test(name) || name !== name.toLowerCase())
    return `command or option name "${name}" is invalid`;
  if (description.length < 1 || description.length > 100) {
    return `description of "${name}" is ${description.length} characters; it must be 1-100`;
  }
  const options = (command.options ?? []) as Array<Record<string, unknown>>;
  if (options.length > 25) return `"${name}" has more than 25 options`;
  const firstOptional = options.findIndex((option) => option.required !== true);
  if (firstOptional >= 0 && options.slice(firstOptional).some((option) => option.required === true)) {
    return `"${name}" has a required option after an optional one`;
  }
  if (depth === 0 && JSON.stringify(command).length > 8000) return `"${name}" is over 8000 characters`;
  for (const option of options) {
    const problem = commandProblem(option, depth + 1);
    if (problem) return problem;
  }
  return undefined;
}
