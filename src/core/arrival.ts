import { channelOf } from "./channel-of.js";
import { toAppError } from "./errors.js";
import type { InboundMessage, PriorMessage } from "./ports/assistant-handler.js";
import type { Logger } from "./ports/logger.js";
import type { ChannelSettings, Conversation, MemoryStore } from "./ports/memory-store.js";
import type { ReplyStart } from "./ports/reply-sink.js";
import { defaultReplyMode } from "./reply-mode.js";

/** The most earlier thread messages read on first contact (Slack's `conversations.replies` page was 50 too). */
const EARLIER_MESSAGE_LIMIT = 50;

/** What core learned about a message before answering it; memory is read here once per message. */
export interface Arrival {
  /** The message as core answers it: a reply put in the channel remembers the channel, not a thread. */
  message: InboundMessage;
  placement: NonNullable<ReplyStart["placement"]>;
  /** Undefined when the memory store is down. */
  settings: ChannelSettings | undefined;
  /** The conversation, when it was loaded to decide; the answer path loads it otherwise (once). */
  conversation: Conversation | undefined;
  /** The store failed while deciding: the answer goes without memory. */
  memoryDown: boolean;
}

export function isStoreDown(error: unknown): boolean {
  return toAppError(error).code === "store_unavailable";
}

/** Whether the message was typed in the channel (it opens a thread, or has none). */
function typedInChannel(message: Pick<InboundMessage, "threadId" | "messageId">): boolean {
  return (
    message.threadId === undefined ||
    (message.messageId !== undefined && message.threadId === message.messageId)
  );
}

/** Whether teammate takes part in a conversation as memory has it. */
export function takesPart(conversation: Conversation): boolean {
  return conversation.turns.length > 0 || conversation.summary.length > 0;
}

/**
 * Decides whether a message is for teammate, before anything shows on the platform: a mention, a
 * command and a direct message always are; an unmentioned message in a thread only where the channel
 * listens to whole threads and teammate takes part (memory says; with memory down, the thread says).
 * Returns undefined for a message to leave alone, without a trace.
 */
export async function arrive(
  message: InboundMessage,
  store: Pick<MemoryStore, "getSettings" | "loadConversation">,
  log: Logger,
): Promise<Arrival | undefined> {
  const addressedBy = message.addressedBy ?? "mention";
  let memoryDown = false;
  const settings = await store.getSettings(channelOf(message)).catch((error: unknown) => {
    if (!isStoreDown(error)) throw error;
    log.warn({ err: error }, "memory store unavailable: channel settings at their defaults");
    memoryDown = true;
    return undefined;
  });
  let conversation: Conversation | undefined;
  if (addressedBy === "none") {
    if (typedInChannel(message) || (settings?.listen ?? "thread") === "mention") return undefined;
    if (!memoryDown) {
      conversation = await store.loadConversation(message).catch((error: unknown) => {
        if (!isStoreDown(error)) throw error;
        log.warn({ err: error }, "memory unavailable: asking the thread whether teammate is in it");
        memoryDown = true;
        return undefined;
      });
    }
    const engaged = conversation ? takesPart(conversation) : await includesTeammate(message, log);
    if (!engaged) return undefined;
  }
  // `config reply-mode channel`: a question typed in the channel is answered there, and remembered
  // as the channel's conversation rather than a thread's.
  const placement = typedInChannel(message)
    ? (settings?.replyMode ?? defaultReplyMode(message.platform))
    : "thread";
  const answered = placement === "channel" ? { ...message, threadId: undefined } : message;
  return { message: answered, placement, settings, conversation, memoryDown };
}

async function includesTeammate(message: InboundMessage, log: Logger): Promise<boolean> {
  if (!message.history) return false;
  try {
    return await message.history.includesTeammate();
  } catch (error) {
    log.warn({ err: error }, "the platform could not say whether teammate is in the thread either");
    return false;
  }
}

/**
 * The thread's earlier messages on first contact with a thread that already has some; none for a
 * message typed in the channel, or when the platform cannot read them (the answer goes on without).
 */
export async function earlierMessages(message: InboundMessage, log: Logger): Promise<PriorMessage[]> {
  // A command run on a message (Slack's "Summarize thread", Discord's message command) comes with
  // the history of the thread it is about, wherever it was run.
  if (!message.history || (message.addressedBy !== "command" && typedInChannel(message))) return [];
  try {
    return await message.history.earlier(EARLIER_MESSAGE_LIMIT);
  } catch (error) {
    log.warn({ err: error }, "earlier thread messages not readable; answering without them");
    return [];
  }
}
