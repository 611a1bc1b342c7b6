import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { type WebSocket, WebSocketServer } from "ws";
import { SPECS_DIR } from "./openapi-validator.js";

/**
 * A local Slack Web API for tests: the real `@slack/web-api` client (inside Bolt) talks to it over
 * HTTP through `slackApiUrl`. It decodes form or JSON bodies (nested arguments such as `blocks` and
 * `chunks` arrive JSON-stringified inside form fields), checks the bearer token, checks each call's
 * required arguments against Slack's own method docs in `test/fixtures/specs/slack/method-metadata/` and the
 * documented size limits, records every call and keeps the messages it "posted", so tests assert on
 * what Slack would have shown. Anything that would fail in production is answered with Slack's error
 * and listed in `violations`.
 */

/** A workspace member as `users.info` returns them. */
export interface StandInUser {
  id: string;
  name: string;
  realName?: string;
  displayName?: string;
  isAdmin?: boolean;
  isOwner?: boolean;
  isBot?: boolean;
  /** The member's home workspace; another organisation's team for a Slack Connect guest. Default: the stand-in's team. */
  teamId?: string;
  /** Set by Slack for members of another organisation whose profile is restricted (Slack Connect). */
  isStranger?: boolean;
}

interface RecordedSlackCall {
  method: string;
  /** Decoded arguments without the token. */
  args: Record<string, unknown>;
  /** `Date.now()` when the call arrived. */
  at: number;
  /** What the stand-in answered (`ok` and `error`). */
  ok: boolean;
  error?: string;
}

/** A message as Slack would store and show it. */
export interface StoredMessage {
  channel: string;
  ts: string;
  threadTs?: string;
  user: string;
  /** Written by a person through `postAsUser` (channel history), not by the bot through the API. */
  byPerson?: boolean;
  /** Set by `editAsUser`, as Slack's `edited.ts`. */
  editedTs?: string;
  /** mrkdwn `text` (postMessage/update) or the accumulated `markdown_text` of a stream. */
  text: string;
  blocks: unknown[];
  kind: "message" | "stream" | "ephemeral";
  /** For streams: still accepting `chat.appendStream`. */
  streaming: boolean;
  appendCount: number;
  deleted: boolean;
  /** For ephemeral messages: who sees it. */
  visibleTo?: string;
}

interface ResponseUrlPost {
  id: string;
  body: Record<string, unknown>;
  at: number;
}

/** A conversation as `conversations.info` describes it. */
interface StandInChannel {
  id: string;
  name: string;
  /** A private channel (`is_private`); its id starts with C or G. */
  isPrivate?: boolean;
  /** A direct message (`is_im`). */
  isIm?: boolean;
  /** Shared with another organisation (Slack Connect). */
  isExtShared?: boolean;
  /** Whether the bot was invited. Default true. */
  isMember?: boolean;
}

/** An assistant thread as the split view shows it. */
interface StandInAssistantThread {
  title?: string;
  prompts?: Array<{ title: string; message: string }>;
  promptsTitle?: string;
  /** The status line now shown ("" once cleared). */
  status?: string;
  /** Every status set, in order. */
  statuses: string[];
}

export interface SlackStandInOptions {
  botToken: string;
  /** Enables Socket Mode: `apps.connections.open` with this app token returns a local WebSocket URL. */
  appToken?: string;
  botUserId?: string;
  botId?: string;
  teamId?: string;
  users?: StandInUser[];
}

export interface SlackStandIn {
  /** `http://127.0.0.1:<port>/api/`, ready for `slackApiUrl`. */
  readonly apiUrl: string;
  readonly origin: string;
  readonly botUserId: string;
  readonly botId: string;
  readonly teamId: string;
  readonly calls: RecordedSlackCall[];
  readonly violations: string[];
  readonly messages: StoredMessage[];
  readonly responseUrlPosts: ResponseUrlPost[];
  /** Successful downloads of `url_private` files. */
  readonly downloads: string[];
  callsTo(method: string): RecordedSlackCall[];
  /** Visible (not deleted, not ephemeral) messages of one thread or channel, oldest first. */
  visibleMessages(channel: string, threadTs?: string): StoredMessage[];
  addUser(user: StandInUser): void;
  /** Adds a conversation that `conversations.info` and `conversations.history` know. */
  addChannel(channel: StandInChannel): void;
  /** Changes a conversation (the bot removed, made private, …). */
  updateChannel(id: string, changes: Partial<Omit<StandInChannel, "id">>): void;
  /** A person's message in a channel's history (a thread reply with `threadTs`); returns its ts. */
  postAsUser(channel: string, user: string, text: string, threadTs?: string): string;
  /** A person edits a message (Slack sets `edited`). */
  editAsUser(channel: string, ts: string, text: string): void;
  /** A person deletes a message; deleting a thread's parent takes the thread with it here. */
  deleteAsUser(channel: string, ts: string): void;
  /** The permalink Slack would give a message, in the documented form. */
  permalink(channel: string, ts: string, threadTs?: string): string;
  /** Seeds a thread that `conversations.replies` returns. */
  seedThread(
    channel: string,
    messages: Array<{ ts: string; user?: string; botId?: string; text: string }>,
  ): void;
  /** Makes `chat.startStream` answer with this error (e.g. `team_not_allowed`), or streams allowed again. */
  refuseStreaming(error: string | undefined): void;
  /** Closes a stream after this many successful appends, as Slack does after about five minutes. */
  expireStreamsAfterAppends(count: number | undefined): void;
  /** A `response_url` that records what is posted to it. */
  responseUrl(id: string): string;
  /**
   * A file served at a `url_private` address that needs the bot token (binary content for a PDF or
   * an image; served as `text/plain` unless a media type is given, as Slack serves many uploads).
   */
  addFile(name: string, content: string | Uint8Array, mediaType?: string): string;
  /** Socket Mode: sends an envelope (`events_api`, `slash_commands`, `interactive`) to the connected app. */
  sendOverSocket(type: string, payload: unknown): string;
  /** Socket Mode: envelope ids the app acknowledged, in order. */
  readonly socketAcks: string[];
  /** Socket Mode: whether an app is connected. */
  socketConnected(): boolean;
  /** The App Home tab each person was last shown (`views.publish`), by user id. */
  readonly homeTabs: Map<string, Record<string, unknown>>;
  /** Modals opened with `views.open`, in order. */
  readonly openedViews: Array<Record<string, unknown>>;
  /** What `assistant.threads.*` set on each assistant thread, by `channel/thread_ts`. */
  readonly assistantThreads: Map<string, StandInAssistantThread>;
  /** A `trigger_id` as Slack puts in an interaction payload: `views.open` accepts it once. */
  issueTrigger(): string;
  close(): Promise<void>;
}

interface MethodMetadata {
  required: string[];
  /** Fields every successful answer carries, per the method's `output` schema. */
  outputRequired: string[];
}

// The methods whose answers the stand-in checks against their `output.required` (the ones added for
// channel history; the older methods answer only what the bot reads).
const OUTPUT_CHECKED: Record<string, true> = {
  "conversations.list": true,
  "conversations.history": true,
  "conversations.info": true,
  "chat.getPermalink": true,
};

const METADATA_DIR = join(SPECS_DIR, "slack/method-metadata");

function loadMetadata(): Map<string, MethodMetadata> {
  const metadata = new Map<string, MethodMetadata>();
  for (const file of readdirSync(METADATA_DIR)) {
    if (!file.endsWith(".json") || file.startsWith("LICENSE")) continue;
    const document = JSON.parse(readFileSync(join(METADATA_DIR, file), "utf8")) as {
      args?: { required?: string[] };
      output?: { required?: string[] };
    };
    metadata.set(file.replace(/\.json$/, ""), {
      required: document.args?.required ?? [],
      outputRequired: document.output?.required ?? [],
    });
  }
  return metadata;
}

// Methods the stand-in serves that have no stored metadata file; their required arguments come from
// the docs.slack.dev pages of the same names.
const EXTRA_REQUIRED: Record<string, string[]> = {
  "chat.delete": ["token", "channel", "ts"],
  "reactions.remove": ["token", "name"],
};

/** Documented limits (NOTES.md §4, @slack/types blocks.ts). */
const LIMITS = {
  text: 40_000,
  markdownText: 12_000,
  blocks: 50,
  sectionText: 3_000,
  actionsElements: 25,
  buttonValue: 2_000,
  actionId: 255,
  blockId: 255,
  /** Assumed: a streamed message holds no more Markdown than one `markdown_text` argument may carry. */
  streamTotal: 12_000,
};

// Arguments that @slack/web-api JSON-stringifies into form fields.
const JSON_FIELDS = new Set([
  "blocks",
  "chunks",
  "attachments",
  "metadata",
  "loading_messages",
  "prompts",
  "view",
]);

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function decodeArguments(contentType: string, raw: string): Record<string, unknown> {
  if (raw === "") return {};
  if (contentType.includes("application/json")) return JSON.parse(raw) as Record<string, unknown>;
  const args: Record<string, unknown> = {};
  for (const [key, value] of new URLSearchParams(raw)) {
    args[key] = JSON_FIELDS.has(key) ? JSON.parse(value) : value;
  }
  return args;
}

function blockProblems(blocks: unknown): string[] {
  if (blocks === undefined) return [];
  if (!Array.isArray(blocks)) return ["blocks is not an array"];
  const problems: string[] = [];
  if (blocks.length > LIMITS.blocks) problems.push(`${blocks.length} blocks (max ${LIMITS.blocks})`);
  const blockIds = new Set<string>();
  for (const block of blocks as Array<Record<string, unknown>>) {
    const blockId = block.block_id;
    if (typeof blockId === "string") {
      if (blockId.length > LIMITS.blockId) problems.push("block_id too long");
      if (blockIds.has(blockId)) problems.push(`duplicate block_id ${blockId}`);
      blockIds.add(blockId);
    }
    if (block.type === "section") {
      const text = (block.text as { text?: unknown; type?: unknown } | undefined)?.text;
      if (typeof text !== "string" || text.length === 0) problems.push("section without text");
      else if (text.length > LIMITS.sectionText) problems.push(`section text ${text.length} > 3000`);
    } else if (block.type === "actions") {
      const elements = block.elements as Array<Record<string, unknown>> | undefined;
      if (!Array.isArray(elements) || elements.length === 0) problems.push("actions without elements");
      else {
        if (elements.length > LIMITS.actionsElements) problems.push("too many action elements");
        const actionIds = new Set<string>();
        for (const element of elements) {
          const actionId = element.action_id;
          if (typeof actionId !== "string" || actionId.length > LIMITS.actionId)
            problems.push("bad action_id");
          else if (actionIds.has(actionId)) problems.push(`duplicate action_id ${actionId}`);
          else actionIds.add(actionId);
          if (typeof element.value === "string" && element.value.length > LIMITS.buttonValue) {
            problems.push("button value too long");
          }
          const label = (element.text as { text?: unknown } | undefined)?.text;
          if (typeof label !== "string" || label.length === 0 || label.length > 75)
            problems.push("bad label");
        }
      }
    } else if (block.type === "context") {
      const elements = block.elements as unknown[] | undefined;
      if (!Array.isArray(elements) || elements.length === 0 || elements.length > 10) {
        problems.push("bad context");
      }
    } else if (block.type !== "divider" && block.type !== "header" && block.type !== "markdown") {
      problems.push(`unexpected block type ${String(block.type)}`);
    }
  }
  return problems;
}

/**
 * What Slack refuses in a view (docs.slack.dev/reference/views, @slack/types views.ts): a home tab or
 * modal of at most 100 blocks, a modal's plain-text title (24) and submit/close labels, an input
 * block's label and element, `callback_id` (255) and `private_metadata` (3000).
 */
function viewProblems(view: unknown, expected: "home" | "modal"): string[] {
  if (view === null || typeof view !== "object") return ["view is not an object"];
  const shown = view as Record<string, unknown>;
  const problems: string[] = [];
  if (shown.type !== expected) problems.push(`view type ${String(shown.type)} (expected ${expected})`);
  const blocks = Array.isArray(shown.blocks) ? (shown.blocks as Array<Record<string, unknown>>) : undefined;
  if (!blocks) return [...problems, "view without blocks"];
  if (blocks.length > 100) problems.push(`${blocks.length} view blocks (max 100)`);
  const plain = (value: unknown, max: number) => {
    const label = value as { type?: unknown; text?: unknown } | undefined;
    return label?.type === "plain_text" && typeof label.text === "string" && label.text.length > 0
      ? label.text.length <= max
      : false;
  };
  if (expected === "modal") {
    if (!plain(shown.title, 24)) problems.push("modal title missing or over 24 characters");
    if (shown.submit !== undefined && !plain(shown.submit, 24)) problems.push("bad submit label");
    if (shown.close !== undefined && !plain(shown.close, 24)) problems.push("bad close label");
    if (blocks.some((block) => block.type === "input") && shown.submit === undefined)
      problems.push("a modal with inputs needs a submit button");
  }
  if (typeof shown.callback_id === "string" && shown.callback_id.length > 255)
    problems.push("callback_id too long");
  if (typeof shown.private_metadata === "string" && shown.private_metadata.length > 3000)
    problems.push("private_metadata over 3000 characters");
  const inputs = blocks.filter((block) => block.type === "input");
  for (const input of inputs) {
    if (!plain(input.label, 2000)) problems.push("input without a plain_text label");
    const element = input.element as Record<string, unknown> | undefined;
    if (element?.type !== "plain_text_input" || typeof element.action_id !== "string")
      problems.push("input without a plain_text_input element");
    if (typeof input.block_id !== "string") problems.push("input without a block_id");
  }
  problems.push(...blockProblems(blocks.filter((block) => block.type !== "input")));
  return problems;
}

class SlackFailure extends Error {
  constructor(readonly error: string) {
    super(error);
  }
}

/** Starts the stand-in on 127.0.0.1 with a free port. */
export async function startSlackStandIn(options: SlackStandInOptions): Promise<SlackStandIn> {
  const metadata = loadMetadata();
  const botUserId = options.botUserId ?? "UBOT";
  const botId = options.botId ?? "BBOT";
  const teamId = options.teamId ?? "T111";
  const users = new Map<string, StandInUser>();
  for (const user of options.users ?? []) users.set(user.id, user);
  users.set(botUserId, { id: botUserId, name: "teammate", isBot: true });

  const calls: RecordedSlackCall[] = [];
  const violations: string[] = [];
  const messages: StoredMessage[] = [];
  const responseUrlPosts: ResponseUrlPost[] = [];
  const downloads: string[] = [];
  const threads = new Map<string, Array<Record<string, unknown>>>();
  const files = new Map<string, { content: string | Uint8Array; mediaType: string | undefined }>();
  const socketAcks: string[] = [];
  const sockets = new Set<WebSocket>();
  const socketServer = new WebSocketServer({ noServer: true });
  let envelopeCounter = 0;
  const homeTabs = new Map<string, Record<string, unknown>>();
  const openedViews: Array<Record<string, unknown>> = [];
  const assistantThreads = new Map<string, StandInAssistantThread>();
  const triggers = new Map<string, "fresh" | "used">();
  let streamingRefusal: string | undefined;
  let expireAfter: number | undefined;
  let clock = 1_700_000_000;
  let sequence = 0;
  let origin = "";

  const nextTs = () => {
    sequence += 1;
    return `${clock + sequence}.${String(sequence).padStart(6, "0")}`;
  };

  const findMessage = (channel: unknown, ts: unknown) =>
    messages.find((message) => message.channel === channel && message.ts === ts && !message.deleted);

  const channels = new Map<string, StandInChannel>();
  const workspaceUrl = "https://stand-in.slack.test/";
  const permalinkOf = (channel: string, ts: string, threadTs?: string) =>
    `${workspaceUrl}archives/${channel}/p${ts.replace(".", "")}${
      threadTs && threadTs !== ts ? `?thread_ts=${threadTs}&cid=${channel}` : ""
    }`;

  // Reading a conversation: Slack answers `channel_not_found` for a private one the bot is not in
  // (it cannot know it exists) and `not_in_channel` for a public one it has not joined.
  const readableChannel = (id: string, forHistory: boolean): StandInChannel => {
    const channel = channels.get(id);
    if (!channel) throw new SlackFailure("channel_not_found");
    if (channel.isMember === false) {
      if (channel.isPrivate || channel.isIm) throw new SlackFailure("channel_not_found");
      if (forHistory) throw new SlackFailure("not_in_channel");
    }
    return channel;
  };

  const personMessage = (message: StoredMessage, withThread: boolean): Record<string, unknown> => {
    const shown: Record<string, unknown> = {
      type: "message",
      user: message.user,
      text: message.text,
      ts: message.ts,
      ...(message.editedTs ? { edited: { user: message.user, ts: message.editedTs } } : {}),
    };
    if (message.threadTs && message.threadTs !== message.ts) {
      shown.thread_ts = message.threadTs;
      return shown;
    }
    const replies = messages.filter(
      (reply) =>
        reply.channel === message.channel &&
        reply.threadTs === message.ts &&
        reply.ts !== message.ts &&
        !reply.deleted &&
        reply.kind !== "ephemeral",
    );
    if (withThread && replies.length > 0) {
      shown.thread_ts = message.ts;
      shown.reply_count = replies.length;
      shown.reply_users = [...new Set(replies.map((reply) => reply.user))];
      shown.latest_reply = replies.reduce(
        (latest, reply) => (Number(reply.ts) > Number(latest) ? reply.ts : latest),
        replies[0]?.ts ?? message.ts,
      );
    }
    return shown;
  };

  // Cursors are opaque to clients; here one is the offset into the filtered list, as base64.
  const page = <Item>(items: Item[], args: Record<string, unknown>) => {
    const limit = Math.min(Math.max(Number(args.limit ?? 100) || 100, 1), 999);
    let offset = 0;
    if (typeof args.cursor === "string" && args.cursor !== "") {
      offset = Number(
        Buffer.from(args.cursor, "base64")
          .toString("utf8")
          .replace(/^offset:/, ""),
      );
      if (!Number.isInteger(offset) || offset < 0) throw new SlackFailure("invalid_cursor");
    }
    const slice = items.slice(offset, offset + limit);
    const next = offset + limit < items.length;
    return {
      slice,
      hasMore: next,
      nextCursor: next ? Buffer.from(`offset:${offset + limit}`).toString("base64") : "",
    };
  };

  const timestampArgument = (args: Record<string, unknown>, name: string, error: string) => {
    const value = args[name];
    if (value === undefined || value === "") return undefined;
    if (typeof value !== "string" || !/^\d+(\.\d+)?$/.test(value)) throw new SlackFailure(error);
    return Number(value);
  };

  const requireString = (args: Record<string, unknown>, name: string): string => {
    const value = args[name];
    if (typeof value !== "string" || value === "") throw new SlackFailure("invalid_arguments");
    return value;
  };

  const checkContent = (method: string, args: Record<string, unknown>) => {
    const text = args.text;
    const markdown = args.markdown_text;
    if (
      markdown !== undefined &&
      (text !== undefined || args.blocks !== undefined) &&
      method.startsWith("chat.post")
    ) {
      violations.push(`${method}: markdown_text together with text/blocks`);
      throw new SlackFailure("markdown_text_conflict");
    }
    if (typeof text === "string" && text.length > LIMITS.text) {
      violations.push(`${method}: text of ${text.length} characters`);
      throw new SlackFailure("msg_too_long");
    }
    if (typeof markdown === "string" && markdown.length > LIMITS.markdownText) {
      violations.push(`${method}: markdown_text of ${markdown.length} characters`);
      throw new SlackFailure("msg_too_long");
    }
    const problems = blockProblems(args.blocks);
    if (problems.length > 0) {
      violations.push(`${method}: ${problems.join("; ")}`);
      throw new SlackFailure("invalid_blocks");
    }
    if (
      (method === "chat.postMessage" || method === "chat.update" || method === "chat.postEphemeral") &&
      (typeof text !== "string" || text === "") &&
      args.blocks === undefined &&
      markdown === undefined
    ) {
      throw new SlackFailure("no_text");
    }
  };

  // Slack unfurls links in a bot's message unless it says not to; an unfurl fetches the URL, so a link
  // the model wrote would reach its server with no click. Every posted message must turn both off.
  const checkLinkPreviews = (method: string, args: Record<string, unknown>) => {
    const shown = `${String(args.text ?? "")} ${JSON.stringify(args.blocks ?? [])}`;
    if (!/https?:\/\//i.test(shown)) return;
    if (String(args.unfurl_links) !== "false" || String(args.unfurl_media) !== "false") {
      violations.push(`${method}: a link without unfurl_links=false and unfurl_media=false`);
    }
  };

  const methods: Record<string, (args: Record<string, unknown>) => Record<string, unknown>> = {
    "auth.test": () => ({
      url: workspaceUrl,
      team: "Stand-in",
      user: "teammate",
      team_id: teamId,
      user_id: botUserId,
      bot_id: botId,
    }),
    "users.info": (args) => {
      const user = users.get(requireString(args, "user"));
      if (!user) throw new SlackFailure("user_not_found");
      return {
        user: {
          id: user.id,
          team_id: user.teamId ?? teamId,
          ...(user.isStranger ? { is_stranger: true } : {}),
          name: user.name,
          real_name: user.realName ?? user.name,
          is_admin: user.isAdmin ?? false,
          is_owner: user.isOwner ?? false,
          is_bot: user.isBot ?? false,
          profile: { display_name: user.displayName ?? "", real_name: user.realName ?? user.name },
        },
      };
    },
    "conversations.info": (args) => {
      const channel = readableChannel(requireString(args, "channel"), false);
      return {
        channel: {
          id: channel.id,
          name: channel.isIm ? undefined : channel.name,
          is_channel: !channel.isIm && !channel.isPrivate,
          is_group: Boolean(channel.isPrivate),
          is_im: Boolean(channel.isIm),
          is_mpim: false,
          is_private: Boolean(channel.isPrivate || channel.isIm),
          is_archived: false,
          is_general: false,
          is_shared: Boolean(channel.isExtShared),
          is_ext_shared: Boolean(channel.isExtShared),
          is_org_shared: false,
          is_member: channel.isMember !== false,
          context_team_id: teamId,
          ...(channel.isIm ? { user: "U0PERSON" } : {}),
        },
      };
    },
    "conversations.list": (args) => {
      // What the bot can see: every public channel, and private ones and DMs it is a member of.
      const types = String(args.types ?? "public_channel").split(",");
      const listed = [...channels.values()].filter((channel) => {
        const type = channel.isIm ? "im" : channel.isPrivate ? "private_channel" : "public_channel";
        if (!types.includes(type)) return false;
        return type === "public_channel" || channel.isMember !== false;
      });
      const { slice, nextCursor } = page(listed, args);
      return {
        channels: slice.map((channel) => ({
          id: channel.id,
          ...(channel.isIm ? {} : { name: channel.name }),
          is_channel: !channel.isIm && !channel.isPrivate,
          is_private: Boolean(channel.isPrivate || channel.isIm),
          is_im: Boolean(channel.isIm),
          is_member: channel.isMember !== false,
        })),
        response_metadata: { next_cursor: nextCursor },
      };
    },
    "conversations.history": (args) => {
      const channel = readableChannel(requireString(args, "channel"), true);
      const oldest = timestampArgument(args, "oldest", "invalid_ts_oldest");
      const latest = timestampArgument(args, "latest", "invalid_ts_latest");
      const inclusive = args.inclusive === true || args.inclusive === "true" || args.inclusive === "1";
      // The channel's top-level messages, newest first; a thread's replies stay out (only the parent
      // carries `reply_count` / `latest_reply`), as Slack does.
      const visible = messages
        .filter(
          (message) =>
            message.channel === channel.id &&
            !message.deleted &&
            message.kind !== "ephemeral" &&
            (message.threadTs === undefined || message.threadTs === message.ts),
        )
        .filter((message) => {
          const ts = Number(message.ts);
          if (oldest !== undefined && (inclusive ? ts < oldest : ts <= oldest)) return false;
          if (latest !== undefined && (inclusive ? ts > latest : ts >= latest)) return false;
          return true;
        })
        .sort((left, right) => Number(right.ts) - Number(left.ts));
      const { slice, hasMore, nextCursor } = page(visible, args);
      return {
        messages: slice.map((message) =>
          message.byPerson
            ? personMessage(message, true)
            : { type: "message", ts: message.ts, text: message.text, user: message.user, bot_id: botId },
        ),
        has_more: hasMore,
        pin_count: 0,
        channel_actions_ts: null,
        channel_actions_count: 0,
        ...(nextCursor ? { response_metadata: { next_cursor: nextCursor } } : {}),
      };
    },
    "chat.getPermalink": (args) => {
      const channel = readableChannel(requireString(args, "channel"), false);
      const ts = requireString(args, "message_ts");
      const message = messages.find((candidate) => candidate.channel === channel.id && candidate.ts === ts);
      if (!message || message.deleted) throw new SlackFailure("message_not_found");
      return { channel: channel.id, permalink: permalinkOf(channel.id, ts, message.threadTs) };
    },
    "conversations.replies": (args) => {
      const channel = requireString(args, "channel");
      const ts = requireString(args, "ts");
      if (channels.has(channel)) {
        readableChannel(channel, true);
        const parent = messages.find(
          (message) => message.channel === channel && message.ts === ts && message.byPerson,
        );
        if (parent) {
          if (parent.deleted) throw new SlackFailure("thread_not_found");
          const thread = messages
            .filter(
              (message) =>
                message.channel === channel &&
                !message.deleted &&
                message.kind !== "ephemeral" &&
                (message.ts === ts || message.threadTs === ts),
            )
            .sort((left, right) => Number(left.ts) - Number(right.ts));
          const { slice, hasMore, nextCursor } = page(thread, args);
          return {
            messages: slice.map((message) =>
              message.byPerson
                ? personMessage(message, true)
                : {
                    type: "message",
                    ts: message.ts,
                    thread_ts: ts,
                    text: message.text,
                    user: message.user,
                    bot_id: botId,
                  },
            ),
            has_more: hasMore,
            ...(nextCursor ? { response_metadata: { next_cursor: nextCursor } } : {}),
          };
        }
      }
      const seeded = threads.get(`${channel}/${ts}`) ?? [];
      // The bot's own replies are in the thread too, as in Slack.
      const posted = messages
        .filter((message) => message.channel === channel && message.threadTs === ts)
        .filter((message) => !message.deleted && message.kind !== "ephemeral")
        .map((message) => ({
          type: "message",
          ts: message.ts,
          thread_ts: ts,
          text: message.text,
          user: message.user,
          bot_id: botId,
        }));
      if (seeded.length === 0 && posted.length === 0) throw new SlackFailure("thread_not_found");
      const all = [...seeded, ...posted].sort((left, right) => Number(left.ts) - Number(right.ts));
      return { messages: all, has_more: false };
    },
    "chat.postMessage": (args) => {
      checkContent("chat.postMessage", args);
      checkLinkPreviews("chat.postMessage", args);
      const channel = requireString(args, "channel");
      const message: StoredMessage = {
        channel,
        ts: nextTs(),
        user: botUserId,
        text: typeof args.text === "string" ? args.text : String(args.markdown_text ?? ""),
        blocks: (args.blocks as unknown[] | undefined) ?? [],
        kind: "message",
        streaming: false,
        appendCount: 0,
        deleted: false,
      };
      if (typeof args.thread_ts === "string") message.threadTs = args.thread_ts;
      messages.push(message);
      return { channel, ts: message.ts, message: { text: message.text } };
    },
    "chat.update": (args) => {
      checkContent("chat.update", args);
      const message = findMessage(args.channel, args.ts);
      if (!message) throw new SlackFailure("message_not_found");
      if (message.streaming) throw new SlackFailure("streaming_state_conflict");
      if (typeof args.text === "string") message.text = args.text;
      if (args.blocks !== undefined) message.blocks = args.blocks as unknown[];
      return { channel: message.channel, ts: message.ts, text: message.text };
    },
    "chat.delete": (args) => {
      const message = findMessage(args.channel, args.ts);
      if (!message) throw new SlackFailure("message_not_found");
      message.deleted = true;
      return { channel: message.channel, ts: message.ts };
    },
    "chat.postEphemeral": (args) => {
      checkContent("chat.postEphemeral", args);
      const message: StoredMessage = {
        channel: requireString(args, "channel"),
        ts: nextTs(),
        user: botUserId,
        text: typeof args.text === "string" ? args.text : "",
        blocks: (args.blocks as unknown[] | undefined) ?? [],
        kind: "ephemeral",
        streaming: false,
        appendCount: 0,
        deleted: false,
        visibleTo: requireString(args, "user"),
      };
      if (typeof args.thread_ts === "string") message.threadTs = args.thread_ts;
      messages.push(message);
      return { message_ts: message.ts };
    },
    "chat.startStream": (args) => {
      if (streamingRefusal) throw new SlackFailure(streamingRefusal);
      checkContent("chat.startStream", args);
      const channel = requireString(args, "channel");
      const isDirectMessage = channel.startsWith("D");
      if (!isDirectMessage && typeof args.recipient_user_id !== "string") {
        violations.push("chat.startStream: recipient_user_id missing outside a DM");
        throw new SlackFailure("missing_recipient_user_id");
      }
      if (!isDirectMessage && typeof args.recipient_team_id !== "string") {
        violations.push("chat.startStream: recipient_team_id missing outside a DM");
        throw new SlackFailure("missing_recipient_team_id");
      }
      if (typeof args.thread_ts !== "string") {
        violations.push("chat.startStream: streamed messages must reply in a thread");
        throw new SlackFailure("invalid_arguments");
      }
      const message: StoredMessage = {
        channel,
        ts: nextTs(),
        threadTs: args.thread_ts,
        user: botUserId,
        text: typeof args.markdown_text === "string" ? args.markdown_text : "",
        blocks: [],
        kind: "stream",
        streaming: true,
        appendCount: 0,
        deleted: false,
      };
      messages.push(message);
      return { channel, ts: message.ts };
    },
    "chat.appendStream": (args) => {
      checkContent("chat.appendStream", args);
      const message = findMessage(args.channel, args.ts);
      if (message?.kind !== "stream") throw new SlackFailure("message_not_found");
      if (!message.streaming) throw new SlackFailure("message_not_in_streaming_state");
      if (expireAfter !== undefined && message.appendCount >= expireAfter) {
        message.streaming = false;
        throw new SlackFailure("message_not_in_streaming_state");
      }
      const markdown = requireString(args, "markdown_text");
      if (message.text.length + markdown.length > LIMITS.streamTotal) {
        violations.push(
          `chat.appendStream: streamed message would hold ${message.text.length + markdown.length}`,
        );
        throw new SlackFailure("msg_too_long");
      }
      message.text += markdown;
      message.appendCount += 1;
      return { channel: message.channel, ts: message.ts };
    },
    "chat.stopStream": (args) => {
      checkContent("chat.stopStream", args);
      const message = findMessage(args.channel, args.ts);
      if (message?.kind !== "stream") throw new SlackFailure("message_not_found");
      if (!message.streaming) throw new SlackFailure("message_not_in_streaming_state");
      if (typeof args.markdown_text === "string") message.text += args.markdown_text;
      if (args.blocks !== undefined) message.blocks = args.blocks as unknown[];
      message.streaming = false;
      return { channel: message.channel, ts: message.ts, message: { text: message.text } };
    },
    "reactions.add": (args) => {
      requireString(args, "name");
      if (!findMessageAnywhere(args.channel, args.timestamp)) throw new SlackFailure("message_not_found");
      return {};
    },
    "reactions.remove": () => ({}),
    "assistant.threads.setStatus": (args) => {
      const thread = assistantThread(args);
      const status = String(args.status ?? "");
      thread.status = status;
      thread.statuses.push(status);
      return {};
    },
    "assistant.threads.setSuggestedPrompts": (args) => {
      const prompts = args.prompts;
      // The docs: each prompt has a title and a message; at most four are shown.
      if (
        !Array.isArray(prompts) ||
        prompts.length === 0 ||
        prompts.length > 4 ||
        !prompts.every(
          (prompt: { title?: unknown; message?: unknown }) =>
            typeof prompt?.title === "string" &&
            prompt.title !== "" &&
            typeof prompt.message === "string" &&
            prompt.message !== "",
        )
      ) {
        violations.push("assistant.threads.setSuggestedPrompts: prompts must be 1-4 {title, message}");
        throw new SlackFailure("invalid_arguments");
      }
      const thread = assistantThread(args);
      thread.prompts = prompts as Array<{ title: string; message: string }>;
      if (typeof args.title === "string") thread.promptsTitle = args.title;
      return {};
    },
    "assistant.threads.setTitle": (args) => {
      assistantThread(args).title = requireString(args, "title");
      return {};
    },
    "views.publish": (args) => {
      const userId = requireString(args, "user_id");
      if (!users.has(userId)) throw new SlackFailure("user_not_found");
      const problems = viewProblems(args.view, "home");
      if (problems.length > 0) {
        violations.push(`views.publish: ${problems.join("; ")}`);
        throw new SlackFailure("invalid_arguments");
      }
      const view = args.view as Record<string, unknown>;
      homeTabs.set(userId, view);
      return { view: { id: `V${userId}`, team_id: teamId, type: "home", ...view } };
    },
    "views.open": (args) => {
      const trigger = requireString(args, "trigger_id");
      const state = triggers.get(trigger);
      if (state === undefined) throw new SlackFailure("invalid_trigger_id");
      if (state === "used") throw new SlackFailure("exchanged_trigger_id");
      const problems = viewProblems(args.view, "modal");
      if (problems.length > 0) {
        violations.push(`views.open: ${problems.join("; ")}`);
        throw new SlackFailure("invalid_arguments");
      }
      triggers.set(trigger, "used");
      const view = { id: `VMODAL${openedViews.length + 1}`, team_id: teamId, ...(args.view as object) };
      openedViews.push(view);
      return { view };
    },
  };

  // An assistant thread lives in the bot's DM with a person (a D… channel).
  const assistantThread = (args: Record<string, unknown>): StandInAssistantThread => {
    const channel = requireString(args, "channel_id");
    if (!channel.startsWith("D")) throw new SlackFailure("channel_not_found");
    const key = `${channel}/${requireString(args, "thread_ts")}`;
    const thread = assistantThreads.get(key) ?? { statuses: [] };
    assistantThreads.set(key, thread);
    return thread;
  };

  // Reactions go on the user's messages, which the stand-in never stored; any seeded or posted ts counts.
  const findMessageAnywhere = (channel: unknown, ts: unknown) =>
    typeof channel === "string" && typeof ts === "string" && ts.length > 0;

  const send = (
    response: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ) => {
    const text = typeof body === "string" ? body : JSON.stringify(body);
    response.writeHead(status, {
      "content-type": typeof body === "string" ? "text/plain" : "application/json",
      ...headers,
    });
    response.end(text);
  };

  const server = createServer((request, response) => {
    void (async () => {
      const url = new URL(request.url ?? "/", "http://127.0.0.1");
      const raw = await readBody(request);
      if (url.pathname.startsWith("/response/")) {
        const id = url.pathname.slice("/response/".length);
        responseUrlPosts.push({ id, body: JSON.parse(raw) as Record<string, unknown>, at: Date.now() });
        return send(response, 200, "ok");
      }
      if (url.pathname.startsWith("/files/")) {
        const file = files.get(url.pathname);
        if (request.headers.authorization !== `Bearer ${options.botToken}`)
          return send(response, 403, "denied");
        if (file === undefined) return send(response, 404, "not found");
        downloads.push(url.pathname);
        if (typeof file.content === "string" && file.mediaType === undefined)
          return send(response, 200, file.content);
        response.writeHead(200, { "content-type": file.mediaType ?? "application/octet-stream" });
        response.end(file.content);
        return;
      }
      if (!url.pathname.startsWith("/api/")) return send(response, 404, "not found");
      const method = url.pathname.slice("/api/".length);
      let args: Record<string, unknown>;
      try {
        args = {
          ...Object.fromEntries(url.searchParams),
          ...decodeArguments(String(request.headers["content-type"] ?? ""), raw),
        };
      } catch {
        violations.push(`${method}: undecodable body`);
        return send(response, 200, { ok: false, error: "invalid_form_data" });
      }
      const bearer = request.headers.authorization?.replace(/^Bearer /, "");
      const token = bearer ?? (typeof args.token === "string" ? args.token : undefined);
      delete args.token;
      const record: RecordedSlackCall = { method, args, at: Date.now(), ok: false };
      calls.push(record);
      const answer = (result: Record<string, unknown>) => {
        record.ok = result.ok === true;
        if (typeof result.error === "string") record.error = result.error;
        send(response, 200, result);
      };
      if (token === undefined) return answer({ ok: false, error: "not_authed" });
      if (method === "apps.connections.open") {
        // Socket Mode connections are opened with the app-level token, never the bot token.
        if (!options.appToken || token !== options.appToken)
          return answer({ ok: false, error: "invalid_auth" });
        return answer({ ok: true, url: `${origin.replace("http", "ws")}/socket` });
      }
      if (token !== options.botToken) return answer({ ok: false, error: "invalid_auth" });
      const handler = methods[method];
      if (!handler) {
        violations.push(`${method}: not implemented by the stand-in`);
        return answer({ ok: false, error: "unknown_method" });
      }
      const required = metadata.get(method)?.required ?? EXTRA_REQUIRED[method] ?? ["token"];
      const missing = required.filter(
        (name) => name !== "token" && (args[name] === undefined || args[name] === ""),
      );
      // An empty status clears the assistant thread status, as the docs say, so it counts as given.
      const reallyMissing = missing.filter(
        (name) => !(method === "assistant.threads.setStatus" && name === "status" && args[name] === ""),
      );
      if (reallyMissing.length > 0) {
        violations.push(`${method}: missing required ${reallyMissing.join(", ")}`);
        return answer({ ok: false, error: "invalid_arguments" });
      }
      try {
        const result = handler(args);
        // The answer must carry what Slack's method docs say every success carries.
        for (const name of metadata.get(method)?.outputRequired ?? []) {
          if (method in OUTPUT_CHECKED && !(name in result)) {
            violations.push(`${method}: the stand-in's answer lacks ${name}`);
          }
        }
        answer({ ok: true, ...result });
      } catch (error) {
        if (error instanceof SlackFailure) return answer({ ok: false, error: error.error });
        throw error;
      }
    })().catch((error: unknown) => {
      violations.push(`stand-in crashed: ${String(error)}`);
      if (!response.headersSent) send(response, 500, "stand-in error");
    });
  });

  server.on("upgrade", (request, socket, head) => {
    if (!request.url?.startsWith("/socket")) return socket.destroy();
    socketServer.handleUpgrade(request, socket, head, (webSocket) => {
      sockets.add(webSocket);
      webSocket.on("close", () => sockets.delete(webSocket));
      webSocket.on("message", (data) => {
        const message = JSON.parse(String(data)) as { envelope_id?: string };
        if (message.envelope_id) socketAcks.push(message.envelope_id);
      });
      webSocket.send(JSON.stringify({ type: "hello", num_connections: 1, debug_info: { host: "stand-in" } }));
    });
  });

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  origin = `http://127.0.0.1:${port}`;
  clock = Math.floor(Date.now() / 1000);

  return {
    apiUrl: `${origin}/api/`,
    origin,
    botUserId,
    botId,
    teamId,
    calls,
    violations,
    messages,
    responseUrlPosts,
    downloads,
    callsTo: (method) => calls.filter((call) => call.method === method),
    visibleMessages: (channel, threadTs) =>
      messages.filter(
        (message) =>
          message.channel === channel &&
          message.kind !== "ephemeral" &&
          !message.deleted &&
          (threadTs === undefined || message.threadTs === threadTs),
      ),
    addUser: (user) => {
      users.set(user.id, user);
    },
    addChannel: (channel) => {
      channels.set(channel.id, { ...channel });
    },
    updateChannel: (id, changes) => {
      const channel = channels.get(id);
      if (!channel) throw new Error(`no channel ${id} in the stand-in`);
      Object.assign(channel, changes);
    },
    postAsUser: (channel, user, text, threadTs) => {
      const message: StoredMessage = {
        channel,
        ts: nextTs(),
        user,
        byPerson: true,
        text,
        blocks: [],
        kind: "message",
        streaming: false,
        appendCount: 0,
        deleted: false,
      };
      if (threadTs) message.threadTs = threadTs;
      messages.push(message);
      return message.ts;
    },
    editAsUser: (channel, ts, text) => {
      const message = findMessage(channel, ts);
      if (!message) throw new Error(`no message ${ts} in ${channel}`);
      message.text = text;
      message.editedTs = nextTs();
    },
    deleteAsUser: (channel, ts) => {
      const message = findMessage(channel, ts);
      if (!message) throw new Error(`no message ${ts} in ${channel}`);
      message.deleted = true;
    },
    permalink: (channel, ts, threadTs) => permalinkOf(channel, ts, threadTs),
    seedThread: (channel, seeded) => {
      const root = seeded[0]?.ts;
      if (!root) return;
      threads.set(
        `${channel}/${root}`,
        seeded.map((message) => ({
          type: "message",
          ts: message.ts,
          thread_ts: root,
          text: message.text,
          ...(message.user ? { user: message.user } : {}),
          ...(message.botId ? { bot_id: message.botId, subtype: "bot_message" } : {}),
        })),
      );
    },
    refuseStreaming: (error) => {
      streamingRefusal = error;
    },
    expireStreamsAfterAppends: (count) => {
      expireAfter = count;
    },
    responseUrl: (id) => `${origin}/response/${id}`,
    addFile: (name, content, mediaType) => {
      const path = `/files/${encodeURIComponent(name)}`;
      files.set(path, { content, mediaType });
      return `${origin}${path}`;
    },
    sendOverSocket: (type, payload) => {
      envelopeCounter += 1;
      const envelopeId = `envelope-${envelopeCounter}`;
      const message = JSON.stringify({
        envelope_id: envelopeId,
        type,
        payload,
        accepts_response_payload: false,
        retry_attempt: 0,
        retry_reason: "",
      });
      for (const webSocket of sockets) webSocket.send(message);
      return envelopeId;
    },
    socketAcks,
    socketConnected: () => sockets.size > 0,
    homeTabs,
    openedViews,
    assistantThreads,
    issueTrigger: () => {
      sequence += 1;
      const trigger = `${clock}.${sequence}.${randomBytes(8).toString("hex")}`;
      triggers.set(trigger, "fresh");
      return trigger;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const webSocket of sockets) webSocket.terminate();
        socketServer.close();
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
