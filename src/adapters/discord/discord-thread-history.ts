import type { Client, Message } from "discord.js";
import type { PriorMessage, ThreadHistory } from "../../core/ports/assistant-handler.js";
import type { Logger } from "../../core/ports/logger.js";

/** How far up a chain of inline replies the history reads. */
const REPLY_CHAIN_DEPTH = 5;
/** Discord serves at most 100 messages per request. */
const FETCH_LIMIT = 100;
/** How many of a thread's latest messages tell whether teammate takes part in it. */
const PARTICIPATION_WINDOW = 20;

/**
 * What came before a Discord message, read only when core asks (`ThreadHistory`): the chain of
 * inline replies above it (Discord's threads inside a channel), then, in a thread, the thread's
 * earlier messages; oldest first. A read that fails is logged here and reads as nothing (no earlier
 * messages, teammate not in the thread): the message is then answered without that context rather
 * than not at all.
 */
export class DiscordThreadHistory implements ThreadHistory {
  private readonly message: Message;
  private readonly botId: string;
  private readonly logger: Logger;
  // One request per size, however often core asks.
  private readonly threadReads = new Map<number, Promise<Message[]>>();

  constructor(message: Message, botId: string, logger: Logger) {
    this.message = message;
    this.botId = botId;
    this.logger = logger;
  }

  /** Whether a message has anything before it worth reading: it is in a thread, or replies to one. */
  static applies(message: Message): boolean {
    return message.channel.isThread() || Boolean(message.reference?.messageId);
  }

  async earlier(limit: number): Promise<PriorMessage[]> {
    if (limit <= 0) return [];
    try {
      const collected = new Map<string, Message>();
      for (const earlier of await this.replyChain()) collected.set(earlier.id, earlier);
      for (const earlier of await this.threadBefore(Math.min(limit, FETCH_LIMIT))) {
        collected.set(earlier.id, earlier);
      }
      return toPriorMessages([...collected.values()], this.botId).slice(-limit);
    } catch (error) {
      this.logger.warn({ err: error }, "could not read discord context messages");
      return [];
    }
  }

  async includesTeammate(): Promise<boolean> {
    try {
      const recent = await this.threadBefore(PARTICIPATION_WINDOW);
      return recent.some((earlier) => earlier.author.id === this.botId);
    } catch (error) {
      this.logger.warn({ err: error }, "discord could not read the thread");
      return false;
    }
  }

  private async replyChain(): Promise<Message[]> {
    const chain: Message[] = [];
    let current = this.message;
    for (let depth = 0; depth < REPLY_CHAIN_DEPTH && current.reference?.messageId; depth++) {
      current = await current.fetchReference();
      chain.push(current);
    }
    return chain;
  }

  private threadBefore(limit: number): Promise<Message[]> {
    const channel = this.message.channel;
    if (!channel.isThread()) return Promise.resolve([]);
    let read = this.threadReads.get(limit);
    if (!read) {
      read = channel.messages
        .fetch({ limit, before: this.message.id })
        .then((fetched) => [...fetched.values()]);
      // A failed read is not kept: the next question asks Discord again.
      read.catch(() => this.threadReads.delete(limit));
      this.threadReads.set(limit, read);
    }
    return read;
  }
}

/** Messages with text, oldest first, as core's `PriorMessage`s. */
function toPriorMessages(messages: readonly Message[], botId: string): PriorMessage[] {
  return messages
    .filter((earlier) => earlier.content.trim() !== "")
    .sort((a, b) => a.createdTimestamp - b.createdTimestamp || a.id.localeCompare(b.id))
    .map((earlier) => ({
      userId: earlier.author.id,
      userName: earlier.author.globalName ?? earlier.author.username,
      text: earlier.content,
      fromAssistant: earlier.author.id === botId,
    }));
}

/** How many messages "Summarize thread" reads (Discord serves at most 100 per request). */
const SUMMARY_MESSAGE_LIMIT = 50;

/**
 * The conversation "Summarize thread" works on, read when core asks: the thread the message
 * started, or the thread it is in, or else the channel's messages up to it. Oldest first, read once.
 */
export function threadAroundHistory(
  target: Message,
  client: Client | undefined,
  botId: string,
): ThreadHistory {
  let read: Promise<PriorMessage[]> | undefined;
  const messages = () => {
    read ??= readThreadAround(target, client, botId);
    return read;
  };
  return {
    earlier: async (limit) => (await messages()).slice(-limit),
    includesTeammate: async () => (await messages()).some((message) => message.fromAssistant),
  };
}

async function readThreadAround(
  target: Message,
  client: Client | undefined,
  botId: string,
): Promise<PriorMessage[]> {
  const collected = new Map<string, Message>([[target.id, target]]);
  // A thread started from a message has the message's id; it may not be in the cache yet.
  let thread = target.thread;
  if (!thread && target.hasThread && client) {
    const channel = await client.channels.fetch(target.id).catch(() => null);
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
