import type { WebClient } from "@slack/web-api";
import type { PriorMessage, ThreadHistory } from "../../core/ports/assistant-handler.js";
import type { Logger } from "../../core/ports/logger.js";
import { normalizeSlackText, record, type SlackBotIdentity, text } from "./slack-event-parser.js";
import type { SlackUserDirectory } from "./slack-user-directory.js";
import { summarizeSlackError } from "./summarize-slack-error.js";

/** One page of `conversations.replies`: a thread longer than this is read from its first 200. */
const REPLIES_PAGE = 200;

export interface SlackThreadHistoryOptions {
  client: WebClient;
  users: Pick<SlackUserDirectory, "lookup">;
  /** Read at call time: known once the adapter has started. */
  identity: () => SlackBotIdentity;
  channel: string;
  rootTs: string;
  /** The message being answered: `earlier` returns messages before it (or up to it, `inclusive`). */
  currentTs: string;
  /** Include the current message itself (a shortcut or modal asks about a message already posted). */
  inclusive?: boolean | undefined;
  logger: Logger;
}

/** A thread reader that also says whether Slack refused, for callers that must tell the person. */
export interface SlackThreadHistory extends ThreadHistory {
  /** Like `earlier`, but undefined when Slack refused (not in the channel, no access). */
  read(limit: number): Promise<PriorMessage[] | undefined>;
}

/**
 * `ThreadHistory` on `conversations.replies`, read lazily and at most once however often core asks.
 * A refusal is logged and reads as an empty thread (the answer goes on without the context; core
 * says nothing is remembered), never as an error the asker would see instead of an answer.
 */
export function createSlackThreadHistory(options: SlackThreadHistoryOptions): SlackThreadHistory {
  const { client, channel, rootTs, logger } = options;
  let replies: Promise<Array<Record<string, unknown>> | undefined> | undefined;
  const readReplies = () => {
    replies ??= client.conversations.replies({ channel, ts: rootTs, limit: REPLIES_PAGE }).then(
      (response) => (response.messages ?? []).map(record),
      (error: unknown) => {
        logger.warn(summarizeSlackError(error), "slack could not read the thread");
        return undefined;
      },
    );
    return replies;
  };
  const isTeammate = (message: Record<string, unknown>): boolean => {
    const { userId, botId } = options.identity();
    return (
      (userId !== undefined && text(message.user) === userId) ||
      (botId !== undefined && text(message.bot_id) === botId)
    );
  };
  const toPrior = async (message: Record<string, unknown>): Promise<PriorMessage> => {
    const userId = text(message.user);
    const fromAssistant = isTeammate(message);
    const userName = fromAssistant
      ? "teammate"
      : userId
        ? (await options.users.lookup(userId)).name
        : (text(message.username) ?? "bot");
    return {
      userId: userId ?? text(message.bot_id) ?? "unknown",
      userName,
      text: normalizeSlackText(text(message.text) ?? "", options.identity().userId),
      fromAssistant,
    };
  };
  const current = Number(options.currentTs);
  const isEarlier = (message: Record<string, unknown>): boolean => {
    const ts = text(message.ts);
    if (ts === undefined) return false;
    return options.inclusive ? Number(ts) <= current : ts !== options.currentTs && Number(ts) < current;
  };
  const read = async (limit: number): Promise<PriorMessage[] | undefined> => {
    const messages = await readReplies();
    if (messages === undefined) return undefined;
    const earlier = limit > 0 ? messages.filter(isEarlier).slice(-limit) : [];
    const prior: PriorMessage[] = [];
    // One at a time: the member directory caches, and a thread repeats its speakers.
    for (const message of earlier) prior.push(await toPrior(message));
    return prior;
  };
  return {
    read,
    earlier: async (limit) => (await read(limit)) ?? [],
    includesTeammate: async () => (await readReplies())?.some(isTeammate) ?? false,
  };
}
