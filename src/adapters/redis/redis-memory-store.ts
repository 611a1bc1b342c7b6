import type { ChainableCommander, Redis } from "ioredis";
import { AppError } from "../../core/errors.js";
import {
  type AnswerRecord,
  type ChannelSettings,
  type Conversation,
  type FeedbackRecord,
  type MemoryStore,
  type NewTurn,
  type Note,
  type OpenWork,
  savedTurn,
  type Turn,
  type Vote,
} from "../../core/ports/memory-store.js";
import type { ChannelRef, ConversationRef } from "../../core/types.js";
import { defineScript, escapeKeyPart, evaluateScript, type RedisScript } from "./redis-script.js";

export interface RedisMemoryStoreOptions {
  client: Redis;
  /** Put in front of every key; `teammate:` unless given. Tests pass a unique one. */
  keyPrefix?: string | undefined;
  /**
   * Whether `close()` quits the client. Off by default: the connection is usually shared, and
   * whoever created it closes it.
   */
  ownsClient?: boolean | undefined;
}

// Seqs come from one counter per conversation, and turns are stored under their seq, so concurrent
// appenders never interleave or reuse a number. The counter survives `forgetChannel`.
const APPEND_TURNS = defineScript(`
local count = #ARGV - 1
local last = redis.call('INCRBY', KEYS[1], count)
local first = last - count + 1
for index = 1, count do
  redis.call('HSET', KEYS[2], first + index - 1, ARGV[index + 1])
end
redis.call('SADD', KEYS[3], ARGV[1])
return first
`);

// Summary and deletion happen together or not at all; with nothing left to fold the call is a no-op.
const FOLD_TURNS = defineScript(`
local through = tonumber(ARGV[1])
local removed = 0
for _, field in ipairs(redis.call('HKEYS', KEYS[1])) do
  if tonumber(field) <= through then
    redis.call('HDEL', KEYS[1], field)
    removed = removed + 1
  end
end
if removed > 0 then
  redis.call('SET', KEYS[2], ARGV[2])
end
return removed
`);

const RECORD_VOTE = defineScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1
`);

// A renewal only moves the lease of an item still open: a closed one is never brought back.
const RENEW_WORK = defineScript(`
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
if ARGV[3] ~= '' then redis.call('HSET', KEYS[3], ARGV[1], ARGV[3]) end
return 1
`);

type StoredTurn = Omit<Turn, "seq">;
type StoredNote = Omit<Note, "id">;
interface StoredVote {
  vote: Vote;
  at: number;
}

function noteNumber(noteId: string): number {
  return Number.parseInt(noteId.slice(1), 10);
}

/**
 * The MemoryStore for several processes sharing `REDIS_URL`. Each conversation is a hash of turns by
 * seq plus a summary string; each channel keeps a set of its conversations and of its answers, so
 * `forgetChannel` finds every thread without KEYS or SCAN.
 */
export class RedisMemoryStore implements MemoryStore {
  readonly #client: Redis;
  readonly #prefix: string;
  readonly #ownsClient: boolean;
  #closed = false;

  constructor(options: RedisMemoryStoreOptions) {
    this.#client = options.client;
    this.#prefix = options.keyPrefix ?? "teammate:";
    this.#ownsClient = options.ownsClient ?? false;
  }

  #channelKey(channel: ChannelRef, suffix: string): string {
    const parts = [channel.platform, channel.workspaceId, channel.channelId].map(escapeKeyPart);
    return `${this.#prefix}channel:${parts.join(":")}:${suffix}`;
  }

  #conversationKey(conversation: ConversationRef, suffix: string): string {
    return this.#threadKey(conversation, conversation.threadId ?? "", suffix);
  }

  // The channel itself is thread '' so that it is distinct from each of its threads.
  #threadKey(channel: ChannelRef, threadId: string, suffix: string): string {
    const parts = [channel.platform, channel.workspaceId, channel.channelId, threadId].map(escapeKeyPart);
    return `${this.#prefix}conversation:${parts.join(":")}:${suffix}`;
  }

  #answerKey(answerId: string): string {
    return `${this.#prefix}answer:${escapeKeyPart(answerId)}`;
  }

  #votesKey(answerId: string): string {
    return `${this.#prefix}votes:${escapeKeyPart(answerId)}`;
  }

  async loadConversation(conversation: ConversationRef): Promise<Conversation> {
    return this.#run("load a conversation", async () => {
      const [summary, stored] = await this.#exec(
        this.#client
          .multi()
          .get(this.#conversationKey(conversation, "summary"))
          .hgetall(this.#conversationKey(conversation, "turns")),
      );
      const turns = Object.entries(stored as Record<string, string>)
        .map(([seq, json]) => savedTurn(Number(seq), JSON.parse(json) as StoredTurn))
        .sort((left, right) => left.seq - right.seq);
      return { summary: (summary as string | null) ?? "", turns };
    });
  }

  async appendTurns(conversation: ConversationRef, turns: NewTurn[]): Promise<Turn[]> {
    if (turns.length === 0) return [];
    return this.#run("append turns", async () => {
      const stored = turns.map(
        (turn): StoredTurn => ({
          role: turn.role,
          speakerId: turn.speakerId,
          speakerName: turn.speakerName,
          text: turn.text,
          tokens: turn.tokens,
          at: turn.at,
        }),
      );
      const firstSeq = Number(
        await this.#evaluate(
          APPEND_TURNS,
          [
            this.#conversationKey(conversation, "seq"),
            this.#conversationKey(conversation, "turns"),
            this.#channelKey(conversation, "conversations"),
          ],
          [conversation.threadId ?? "", ...stored.map((turn) => JSON.stringify(turn))],
        ),
      );
      return stored.map((turn, index) => savedTurn(firstSeq + index, turn));
    });
  }

  /**
   * Does nothing when no turn with `seq <= throughSeq` is left: the fold was already applied by
   * another process, or the channel was forgotten while the summary was being written, and applying
   * it would bring back what was folded or forgotten.
   */
  async foldTurns(conversation: ConversationRef, throughSeq: number, summary: string): Promise<void> {
    await this.#run("fold turns", () =>
      this.#evaluate(
        FOLD_TURNS,
        [this.#conversationKey(conversation, "turns"), this.#conversationKey(conversation, "summary")],
        [String(throughSeq), summary],
      ),
    );
  }

  /**
   * A conversation or answer created while the forget runs may survive it; it stays tracked, so the
   * next forget removes it.
   */
  async forgetChannel(channel: ChannelRef): Promise<void> {
    await this.#run("forget a channel", async () => {
      const conversationsKey = this.#channelKey(channel, "conversations");
      const answersKey = this.#channelKey(channel, "answers");
      const [threadIds, answerIds] = (await this.#exec(
        this.#client.multi().smembers(conversationsKey).smembers(answersKey),
      )) as [string[], string[]];
      const transaction = this.#client.multi();
      for (const threadId of threadIds) {
        transaction.del(
          this.#threadKey(channel, threadId, "summary"),
          this.#threadKey(channel, threadId, "turns"),
          this.#threadKey(channel, threadId, "last-answer"),
        );
      }
      for (const answerId of answerIds) transaction.del(this.#answerKey(answerId), this.#votesKey(answerId));
      transaction.del(this.#channelKey(channel, "notes"));
      // Removing only the members read above keeps anything added meanwhile tracked.
      if (threadIds.length > 0) transaction.srem(conversationsKey, ...threadIds);
      if (answerIds.length > 0) transaction.srem(answersKey, ...answerIds);
      await this.#exec(transaction);
    });
  }

  async addNote(channel: ChannelRef, note: Omit<Note, "id">): Promise<Note> {
    return this.#run("add a note", async () => {
      // The counter is never reset, so an old id typed by a user cannot hit a newer note.
      const number = await this.#client.incr(this.#channelKey(channel, "note-number"));
      const stored: StoredNote = {
        text: note.text,
        authorId: note.authorId,
        authorName: note.authorName,
        at: note.at,
      };
      const saved: Note = { id: `n${number}`, ...stored };
      await this.#client.hset(this.#channelKey(channel, "notes"), saved.id, JSON.stringify(stored));
      return saved;
    });
  }

  async listNotes(channel: ChannelRef): Promise<Note[]> {
    return this.#run("list notes", async () => {
      const stored = await this.#client.hgetall(this.#channelKey(channel, "notes"));
      return Object.entries(stored)
        .sort(([left], [right]) => noteNumber(left) - noteNumber(right))
        .map(([id, json]) => ({ id, ...(JSON.parse(json) as StoredNote) }));
    });
  }

  async deleteNote(channel: ChannelRef, noteId: string): Promise<boolean> {
    return this.#run(
      "delete a note",
      async () => (await this.#client.hdel(this.#channelKey(channel, "notes"), noteId)) > 0,
    );
  }

  async getSettings(channel: ChannelRef): Promise<ChannelSettings> {
    return this.#run("read channel settings", async () =>
      parseSettings(await this.#client.hgetall(this.#channelKey(channel, "settings"))),
    );
  }

  /** Merges like object spread: absent keys stay, a key given as `undefined` is cleared. */
  async updateSettings(channel: ChannelRef, patch: ChannelSettings): Promise<ChannelSettings> {
    return this.#run("update channel settings", async () => {
      const key = this.#channelKey(channel, "settings");
      const entries = Object.entries(patch);
      const toSet = entries.filter(([, value]) => value !== undefined);
      const toClear = entries.filter(([, value]) => value === undefined).map(([name]) => name);
      const transaction = this.#client.multi();
      if (toSet.length > 0) {
        transaction.hset(
          key,
          Object.fromEntries(toSet.map(([name, value]) => [name, JSON.stringify(value)])),
        );
      }
      if (toClear.length > 0) transaction.hdel(key, ...toClear);
      transaction.hgetall(key);
      const results = await this.#exec(transaction);
      return parseSettings(results.at(-1) as Record<string, string>);
    });
  }

  /**
   * The answer in one MULTI and the exchange's turns by the append script, sent together: one
   * connection keeps their order, and the reply waits one round trip instead of two.
   */
  async saveAnswer(answer: AnswerRecord, exchange: NewTurn[] = []): Promise<Turn[]> {
    const [, turns] = await Promise.all([
      this.#run("save an answer", () =>
        this.#exec(
          this.#client
            .multi()
            .set(this.#answerKey(answer.id), JSON.stringify(answer))
            .sadd(this.#channelKey(answer.conversation, "answers"), answer.id)
            .set(this.#conversationKey(answer.conversation, "last-answer"), answer.id)
            .sadd(this.#channelKey(answer.conversation, "conversations"), answer.conversation.threadId ?? ""),
        ),
      ),
      this.appendTurns(answer.conversation, exchange),
    ]);
    return turns;
  }

  async getAnswer(answerId: string): Promise<AnswerRecord | undefined> {
    return this.#run("read an answer", async () =>
      parseAnswer(await this.#client.get(this.#answerKey(answerId))),
    );
  }

  async lastAnswer(conversation: ConversationRef): Promise<AnswerRecord | undefined> {
    return this.#run("read the last answer", async () => {
      const answerId = await this.#client.get(this.#conversationKey(conversation, "last-answer"));
      return answerId === null ? undefined : parseAnswer(await this.#client.get(this.#answerKey(answerId)));
    });
  }

  /** Throws `not_found` when the answer does not exist (never saved, or forgotten). */
  async recordVote(vote: FeedbackRecord): Promise<void> {
    await this.#run("record a vote", async () => {
      const stored: StoredVote = { vote: vote.vote, at: vote.at };
      const recorded = await this.#evaluate(
        RECORD_VOTE,
        [this.#answerKey(vote.answerId), this.#votesKey(vote.answerId)],
        [vote.voterId, JSON.stringify(stored)],
      );
      if (Number(recorded) !== 1) throw answerNotFound(vote.answerId);
    });
  }

  async listFeedback(channel: ChannelRef): Promise<Array<FeedbackRecord & { answer: AnswerRecord }>> {
    return this.#run("list feedback", async () => {
      const answerIds = await this.#client.smembers(this.#channelKey(channel, "answers"));
      if (answerIds.length === 0) return [];
      const pipeline = this.#client.pipeline();
      for (const answerId of answerIds)
        pipeline.get(this.#answerKey(answerId)).hgetall(this.#votesKey(answerId));
      const results = await this.#exec(pipeline);
      return answerIds
        .flatMap((answerId, index) => {
          const answer = parseAnswer(results[index * 2] as string | null);
          const votes = results[index * 2 + 1] as Record<string, string>;
          if (answer === undefined) return [];
          return Object.entries(votes).map(([voterId, json]) => {
            const stored = JSON.parse(json) as StoredVote;
            return { answerId, voterId, vote: stored.vote, at: stored.at, answer };
          });
        })
        .sort((left, right) => right.at - left.at);
    });
  }

  async claimEvent(eventKey: string, ttlSeconds: number): Promise<boolean> {
    return this.#run("claim an event", async () => {
      const milliseconds = Math.max(1, Math.ceil(ttlSeconds * 1000));
      const claimed = await this.#client.set(
        `${this.#prefix}event:${escapeKeyPart(eventKey)}`,
        "1",
        "PX",
        milliseconds,
        "NX",
      );
      return claimed === "OK";
    });
  }

  async extendEvent(eventKey: string, ttlSeconds: number): Promise<void> {
    await this.#run("extend an event claim", async () => {
      // PEXPIRE leaves a key that already expired (a lease that lapsed) alone.
      await this.#client.pexpire(
        `${this.#prefix}event:${escapeKeyPart(eventKey)}`,
        Math.max(1, Math.ceil(ttlSeconds * 1000)),
      );
    });
  }

  async settleEvent(eventKey: string, ttlSeconds: number, openWorkId?: string): Promise<void> {
    const [records, leases, messages] = this.#openWorkKeys();
    await this.#run("settle an event claim", async () => {
      const transaction = this.#client.multi();
      if (openWorkId !== undefined)
        transaction.hdel(records, openWorkId).zrem(leases, openWorkId).hdel(messages, openWorkId);
      // PEXPIRE leaves a key that already expired (a lease that lapsed) alone, as in `extendEvent`.
      transaction.pexpire(
        `${this.#prefix}event:${escapeKeyPart(eventKey)}`,
        Math.max(1, Math.ceil(ttlSeconds * 1000)),
      );
      await this.#exec(transaction);
    });
  }

  /** Open work: the record by id, its lease in a sorted set (oldest first), its message ids apart. */
  #openWorkKeys(): [string, string, string] {
    return [
      `${this.#prefix}open-work`,
      `${this.#prefix}open-work:leases`,
      `${this.#prefix}open-work:messages`,
    ];
  }

  async openWork(work: OpenWork): Promise<void> {
    const [records, leases, messages] = this.#openWorkKeys();
    await this.#run("record open work", async () => {
      const { messages: ids, leaseUntil: _lease, ...record } = work;
      await this.#client
        .multi()
        .hset(records, work.id, JSON.stringify(record))
        .zadd(leases, work.leaseUntil, work.id)
        .hset(messages, work.id, JSON.stringify(ids))
        .exec();
    });
  }

  async renewWork(id: string, leaseUntil: number, messages?: Record<string, string>): Promise<void> {
    await this.#run("renew open work", async () => {
      await this.#evaluate(RENEW_WORK, this.#openWorkKeys(), [
        id,
        String(leaseUntil),
        messages ? JSON.stringify(messages) : "",
      ]);
    });
  }

  async closeWork(id: string): Promise<boolean> {
    const [records, leases, messages] = this.#openWorkKeys();
    return this.#run("close open work", async () => {
      const results = await this.#client.multi().hdel(records, id).zrem(leases, id).hdel(messages, id).exec();
      return results?.[0]?.[1] === 1;
    });
  }

  async listOpenWork(limit: number): Promise<OpenWork[]> {
    const [records, leases, messages] = this.#openWorkKeys();
    return this.#run("list open work", async () => {
      const ranked = await this.#client.zrange(leases, 0, Math.max(0, limit - 1), "WITHSCORES");
      const ids: string[] = [];
      const leaseOf = new Map<string, number>();
      for (let index = 0; index + 1 < ranked.length; index += 2) {
        const id = ranked[index] as string;
        ids.push(id);
        leaseOf.set(id, Number(ranked[index + 1]));
      }
      if (ids.length === 0) return [];
      const [bodies, messageIds] = await Promise.all([
        this.#client.hmget(records, ...ids),
        this.#client.hmget(messages, ...ids),
      ]);
      return ids.flatMap((id, index): OpenWork[] => {
        const body = bodies[index];
        if (!body) return [];
        const record = JSON.parse(body) as Omit<OpenWork, "messages" | "leaseUntil">;
        const ids = JSON.parse(messageIds[index] ?? "{}") as Record<string, string>;
        return [{ ...record, messages: ids, leaseUntil: leaseOf.get(id) ?? 0 }];
      });
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#ownsClient) await this.#run("close the connection", () => this.#client.quit());
  }

  #evaluate(script: RedisScript, keys: string[], args: string[]): Promise<unknown> {
    return evaluateScript(this.#client, script, keys, args);
  }

  /** Runs a MULTI or pipeline and fails if any of its commands failed. */
  async #exec(commands: ChainableCommander): Promise<unknown[]> {
    const results = await commands.exec();
    if (results === null) throw new Error("Redis transaction was aborted");
    return results.map(([error, result]) => {
      if (error) throw error;
      return result;
    });
  }

  async #run<Result>(operation: string, work: () => Promise<Result>): Promise<Result> {
    try {
      return await work();
    } catch (error) {
      throw translateError(operation, error);
    }
  }
}

function parseSettings(stored: Record<string, string>): ChannelSettings {
  return Object.fromEntries(
    Object.entries(stored).map(([name, json]) => [name, JSON.parse(json) as unknown]),
  ) as ChannelSettings;
}

function parseAnswer(json: string | null): AnswerRecord | undefined {
  return json === null ? undefined : (JSON.parse(json) as AnswerRecord);
}

function answerNotFound(answerId: string): AppError {
  return new AppError("not_found", `No answer ${answerId} to vote on`, {
    category: "user",
    userMessage: "That answer is no longer remembered, so I cannot record feedback on it.",
  });
}

function translateError(operation: string, error: unknown): AppError {
  if (error instanceof AppError) return error;
  const reason = error instanceof Error ? error.message : String(error);
  // A ReplyError is Redis refusing a command (a bug or a wrong server); anything else is the connection.
  const refused = error instanceof Error && error.name === "ReplyError";
  return new AppError("store_unavailable", `Redis memory store could not ${operation}: ${reason}`, {
    cause: error,
    retryable: !refused,
    userMessage: "My memory is not available right now.",
  });
}
