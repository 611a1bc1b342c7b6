import type { BlockAction, SlashCommand, types as slackTypes } from "@slack/bolt";
import type { Addressing } from "../../core/ports/assistant-handler.js";
import type { Attachment } from "../../core/types.js";

/**
 * Pure parsing of what Slack delivers (an Events API envelope, a slash command, a block_actions
 * click) into typed, normalized values. Everything here is attacker-written until proven otherwise:
 * Bolt's types say what Slack documents, not what arrived, so every field is checked before use.
 * No I/O: the adapter does the lookups (members, threads) and the replies.
 */

/** Who teammate is in this workspace, from `auth.test` at start-up. */
export interface SlackBotIdentity {
  userId?: string | undefined;
  botId?: string | undefined;
}

/** Where the acting member comes from, for the Slack Connect verdict (`slack-actor.ts`). */
export interface SlackActorHints {
  userTeam?: string | undefined;
  enterpriseId?: string | undefined;
  fallbackName?: string | undefined;
}

/** A person's message that may be for teammate: a mention, a DM, or a message in a channel thread. */
export interface SlackPersonMessage {
  workspaceId: string;
  channel: string;
  ts: string;
  /** The thread the message sits in; absent for a message typed in the channel or at a DM's top level. */
  threadTs: string | undefined;
  userId: string;
  hints: SlackActorHints;
  /** What the person typed, teammate's own mention removed and Slack's escaping decoded. */
  text: string;
  files: Attachment[];
  eventId: string;
  addressedBy: Addressing;
  isDirectMessage: boolean;
  /** A DM thread (the assistant split view), where `assistant.threads.setStatus` shows the first sign. */
  isAssistantThread: boolean;
}

/** Why an event is not for teammate; nothing is shown on the platform for any of these. */
type SlackIgnoredReason =
  | "not-a-person"
  | "incomplete"
  | "own-message"
  | "answered-as-mention"
  | "answered-as-direct-message"
  | "outside-threads";

export type SlackEventVerdict =
  | { kind: "message"; message: SlackPersonMessage }
  | { kind: "ignored"; reason: SlackIgnoredReason }
  /** Signed by Slack but naming no workspace: refused with a log line, never answered under a made-up one. */
  | { kind: "refused"; details: Record<string, unknown> };

export interface SlackSlashCommand {
  workspaceId: string;
  channel: string;
  userId: string;
  hints: SlackActorHints;
  text: string;
  eventId: string;
  responseUrl: string | undefined;
}

export interface SlackButtonClick {
  /** Where the click happened; the clicker's own team may differ (a Slack Connect guest). */
  workspaceId: string;
  channel: string;
  threadTs: string | undefined;
  userId: string;
  hints: SlackActorHints;
  action: string;
  value: string;
  eventId: string;
  responseUrl: string | undefined;
}

export type SlackParsed<T> =
  | { kind: "parsed"; value: T }
  | { kind: "ignored"; reason: SlackIgnoredReason }
  | { kind: "refused"; details: Record<string, unknown> };

type Json = Record<string, unknown>;

export const text = (value: unknown): string | undefined =>
  typeof value === "string" && value !== "" ? value : undefined;
export const record = (value: unknown): Json =>
  value !== null && typeof value === "object" ? (value as Json) : {};

/** Message subtypes that are still a person talking; every other subtype (edits, joins, bots) is ignored. */
const PERSON_SUBTYPES = new Set<string | undefined>([
  undefined,
  "file_share" satisfies slackTypes.FileShareMessageEvent["subtype"],
  "thread_broadcast" satisfies slackTypes.ThreadBroadcastMessageEvent["subtype"],
]);

/**
 * Removes teammate's own mention and Slack's HTML escaping, so core sees what the person typed.
 * Other mentions and links stay in Slack's `<…>` form.
 */
export function normalizeSlackText(raw: string, botUserId: string | undefined): string {
  let result = raw;
  if (botUserId) result = result.replace(new RegExp(`<@${botUserId}(\\|[^>]*)?>`, "g"), " ");
  // Line breaks stay: people paste code and lists.
  return result
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&")
    .replace(/[ \t]+/g, " ")
    .replace(/ *\n */g, "\n")
    .trim();
}

/**
 * The workspace an event was delivered for: the envelope's team, or its authorization's. Never the
 * event's own `team`, which in a shared channel is the sender's organisation. None: the event is
 * refused, never answered under a made-up workspace where everyone without one would meet.
 */
export function slackWorkspaceOf(body: unknown): string | undefined {
  const envelope = record(body);
  const authorizations = envelope.authorizations;
  const authorization = record(Array.isArray(authorizations) ? authorizations[0] : undefined);
  return text(envelope.team_id) ?? text(authorization.team_id);
}

/** Files on a message, marked with the workspace they arrived in; Slack's download token stays out. */
function slackAttachmentsOf(event: unknown, workspaceId: string): Attachment[] {
  const files = record(event).files;
  return (Array.isArray(files) ? files : []).flatMap((file): Attachment[] => {
    const entry = record(file) as Partial<NonNullable<slackTypes.GenericMessageEvent["files"]>[number]>;
    const url = text(entry.url_private);
    if (!url) return [];
    return [
      {
        name: text(entry.name) ?? text(entry.title) ?? "file",
        url,
        mimeType: text(entry.mimetype),
        sizeBytes: typeof entry.size === "number" ? entry.size : undefined,
        // Slack serves url_private only with the bot token. The token stays out of core: the
        // Slack file loader adds it at download time, for files that arrived here (this mark).
        arrivedIn: { platform: "slack", workspaceId },
      },
    ];
  });
}

/** The fields read from a `message` or `app_mention` event, none of them trusted to be there. */
type MessageFields = Partial<
  Omit<slackTypes.GenericMessageEvent, "subtype" | "type"> & {
    subtype: string;
    type: string;
    /** The sender's home team (Slack Connect); not in @slack/types' message type. */
    user_team: string;
  }
>;

/** The fields every person's message needs, or why the event is not one. */
function personFields(
  event: MessageFields,
  identity: SlackBotIdentity,
): { channel: string; ts: string; userId: string } | SlackIgnoredReason {
  const channel = text(event.channel);
  const ts = text(event.ts);
  const userId = text(event.user);
  if (text(event.bot_id)) return "not-a-person";
  if (!channel || !ts || !userId) return "incomplete";
  if (userId === identity.userId) return "own-message";
  return { channel, ts, userId };
}

/**
 * An `app_mention` or `message` event, decided: a person's message for core (with how it addressed
 * teammate), or why not. A channel mention also arrives as `message` and a DM mention as
 * `app_mention`; each is taken once. A message typed in a channel without a mention is never for
 * teammate; a message in a channel thread goes to core, which decides (listen mode, engagement).
 */
export function parseSlackEvent(
  body: unknown,
  event: unknown,
  identity: SlackBotIdentity,
): SlackEventVerdict {
  const envelope = record(body);
  const fields = record(event) as MessageFields;
  const isMention = fields.type === ("app_mention" satisfies slackTypes.AppMentionEvent["type"]);
  if (!isMention && !PERSON_SUBTYPES.has(text(fields.subtype))) return ignored("not-a-person");
  const person = personFields(fields, identity);
  if (typeof person === "string") return ignored(person);
  const { channel, ts, userId } = person;
  const threadTs = text(fields.thread_ts);
  const isDirectMessage = isMention ? false : text(fields.channel_type) === "im";
  const rawText = text(fields.text) ?? "";
  // Direct messages arrive as message.im; an app_mention there would be answered twice.
  if (isMention && channel.startsWith("D")) return ignored("answered-as-direct-message");
  if (!isMention && !isDirectMessage) {
    // A mention in a channel also arrives as app_mention, which answers it.
    if (identity.userId && rawText.includes(`<@${identity.userId}`)) return ignored("answered-as-mention");
    if (threadTs === undefined || threadTs === ts) return ignored("outside-threads");
  }
  const workspaceId = slackWorkspaceOf(envelope);
  if (!workspaceId) return { kind: "refused", details: { eventId: envelope.event_id, channel } };
  const addressedBy: Addressing = isMention ? "mention" : isDirectMessage ? "direct" : "none";
  return {
    kind: "message",
    message: {
      workspaceId,
      channel,
      ts,
      threadTs,
      userId,
      hints: { userTeam: text(fields.user_team), enterpriseId: text(envelope.enterprise_id) },
      text: normalizeSlackText(rawText, identity.userId),
      files: slackAttachmentsOf(fields, workspaceId),
      // Re-deliveries (X-Slack-Retry-Num) carry the same event_id; core answers each id once.
      eventId: text(envelope.event_id) ?? `${channel}:${ts}`,
      addressedBy,
      isDirectMessage,
      isAssistantThread: isDirectMessage && threadTs !== undefined,
    },
  };
}

/** A slash command's form fields. `now` names a delivery that carries no trigger id. */
export function parseSlashCommand(
  command: Partial<SlashCommand>,
  botUserId: string | undefined,
  now: number = Date.now(),
): SlackParsed<SlackSlashCommand> {
  const channel = text(command.channel_id);
  const userId = text(command.user_id);
  if (!channel || !userId) return ignored("incomplete");
  const workspaceId = text(command.team_id);
  if (!workspaceId) return { kind: "refused", details: { command: text(command.command), channel } };
  return {
    kind: "parsed",
    value: {
      workspaceId,
      channel,
      userId,
      hints: {
        userTeam: text(command.user_team),
        enterpriseId: text(command.enterprise_id),
        fallbackName: text(command.user_name),
      },
      text: normalizeSlackText(text(command.text) ?? "", botUserId),
      eventId: `command:${text(command.trigger_id) ?? `${userId}:${now}`}`,
      responseUrl: text(command.response_url),
    },
  };
}

/** One clicked element of a `block_actions` payload. */
export function parseButtonClick(
  body: unknown,
  action: unknown,
  now: number = Date.now(),
): SlackParsed<SlackButtonClick> {
  const payload = record(body) as Partial<BlockAction> & Json;
  const user = record(payload.user);
  const container = record(payload.container);
  const clicked = record(action);
  const userId = text(user.id);
  const channel = text(record(payload.channel).id) ?? text(container.channel_id);
  const actionId = text(clicked.action_id);
  if (!userId || !channel || !actionId) return ignored("incomplete");
  // The workspace the click happened in; the clicker's own team may differ (a Slack Connect guest).
  const workspaceId = text(record(payload.team).id);
  if (!workspaceId) return { kind: "refused", details: { action: actionId, channel } };
  return {
    kind: "parsed",
    value: {
      workspaceId,
      channel,
      threadTs: text(record(payload.message).thread_ts) ?? text(container.thread_ts),
      userId,
      hints: {
        userTeam: text(user.team_id),
        enterpriseId: text(record(payload.enterprise).id),
        fallbackName: text(user.name),
      },
      action: actionId,
      value: text(clicked.value) ?? text(record(clicked.selected_option).value) ?? "",
      eventId: `action:${text(payload.trigger_id) ?? `${userId}:${text(clicked.action_ts) ?? now}`}`,
      responseUrl: text(payload.response_url),
    },
  };
}

function ignored(reason: SlackIgnoredReason): { kind: "ignored"; reason: SlackIgnoredReason } {
  return { kind: "ignored", reason };
}
