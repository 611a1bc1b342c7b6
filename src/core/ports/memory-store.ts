import type { ChannelRef, ConversationRef, Source } from "../types.js";

/** One message of a conversation, attributed to its speaker so a shared channel stays readable. */
export interface Turn {
  /** Increasing within a conversation; assigned by the store. */
  seq: number;
  role: "user" | "assistant";
  speakerId: string;
  speakerName: string;
  text: string;
  /** Token count of `text`, computed once when the turn is saved. */
  tokens: number;
  at: number;
}

export type NewTurn = Omit<Turn, "seq">;

/**
 * A turn as every store hands it back: `turn` with the seq the store assigned, frozen, its fields
 * written out in one order. Not `{ ...turn, seq }`: on Node 20 a spread followed by a property the
 * source lacks gets a hidden class of its own every time, and every later read of the turn along the
 * message path (the window, the prompt) then misses V8's inline caches.
 */
export function savedTurn(seq: number, turn: NewTurn): Turn {
  return Object.freeze({
    seq,
    role: turn.role,
    speakerId: turn.speakerId,
    speakerName: turn.speakerName,
    text: turn.text,
    tokens: turn.tokens,
    at: turn.at,
  });
}

export interface Conversation {
  /** The rolling summary of turns folded out of the window; empty at first. */
  summary: string;
  /** Turns not yet folded into the summary, oldest first. */
  turns: Turn[];
}

export interface Note {
  id: string;
  text: string;
  authorId: string;
  authorName: string;
  at: number;
}

/** Per-channel settings that admins change from chat. */
export interface ChannelSettings {
  persona?: string | undefined;
  model?: string | undefined;
  temperature?: number | undefined;
  /** When no indexed document is relevant, answer from general knowledge (and say so). */
  allowGeneralKnowledge?: boolean | undefined;
  /** Where a question typed in the channel is answered: in a thread under it (default) or in the channel. */
  replyMode?: "thread" | "channel" | undefined;
  /**
   * In a thread teammate takes part in: answer every message (`thread`, the default) or only the
   * ones that mention it (`mention`).
   */
  listen?: "mention" | "thread" | undefined;
}

/** What was answered, kept so that buttons, `sources`, `why` and feedback can refer to it. */
export interface AnswerRecord {
  id: string;
  conversation: ConversationRef;
  askerId: string;
  question: string;
  answer: string;
  sources: Source[];
  model: string;
  at: number;
  /** Free-form trace (passages, tool calls, tokens, latency); its shape belongs to the agent. */
  trace?: Record<string, unknown> | undefined;
}

export type Vote = "up" | "down";

export interface FeedbackRecord {
  answerId: string;
  voterId: string;
  vote: Vote;
  at: number;
}

/**
 * Something teammate shows as unfinished in a chat until it ends it: a job's status message, or a
 * reply being written (👀, a stream, a status line). Kept in the store while it is open, so that when
 * its owner is lost (a killed process, a job gone from the queue) another process can end it with a
 * sentence instead of leaving it unfinished forever. Ids only: no text, no secrets.
 */
export interface OpenWork {
  id: string;
  kind: "job" | "reply";
  /** Where it is shown. */
  where: ConversationRef;
  /** Who asked for it, to be told how it ended. */
  askerId: string;
  /** What it is, in a word or two for the closing sentence (`indexing`). */
  label?: string | undefined;
  /** The job whose status message this is (`kind: "job"`). */
  jobId?: string | undefined;
  /** The platform's ids of what is shown (status message, the asker's message with 👀, a stream). */
  messages: Record<string, string>;
  /** The process that shows it (an id per process start), for a restart to know its own from its predecessor's. */
  owner?: string | undefined;
  /** Until when (epoch ms) its owner vouches for it; renewed while it works. Past it, the owner is gone. */
  leaseUntil: number;
}

/**
 * The turns of each conversation (a channel, or a thread in it) with their rolling summary. Keys
 * always include platform + workspace + channel (+ thread): nothing crosses.
 */
export interface ConversationStore {
  loadConversation(conversation: ConversationRef): Promise<Conversation>;
  appendTurns(conversation: ConversationRef, turns: NewTurn[]): Promise<Turn[]>;
  /**
   * Replaces the summary and removes every turn with `seq <= throughSeq`, atomically, so a crash
   * between the two can never lose or double-count a turn.
   */
  foldTurns(conversation: ConversationRef, throughSeq: number, summary: string): Promise<void>;
  /** Clears conversations (every thread), notes and the last answers of a channel. Settings stay. */
  forgetChannel(channel: ChannelRef): Promise<void>;
}

/** Long-term notes of a channel ("remember that…"). */
export interface NoteStore {
  addNote(channel: ChannelRef, note: Omit<Note, "id">): Promise<Note>;
  listNotes(channel: ChannelRef): Promise<Note[]>;
  /** Returns false when no such note exists in this channel. */
  deleteNote(channel: ChannelRef, noteId: string): Promise<boolean>;
}

/** What admins set per channel from chat (persona, model, reply mode, listening). */
export interface ChannelSettingsStore {
  getSettings(channel: ChannelRef): Promise<ChannelSettings>;
  updateSettings(channel: ChannelRef, patch: ChannelSettings): Promise<ChannelSettings>;
}

/** What was answered, and the votes on it: read by buttons, `sources`, `why`, feedback and fine-tuning. */
export interface AnswerLog {
  /**
   * Stores an answer. With `exchange` (the question's turn and the answer's), also appends those
   * turns to the answer's conversation, in the same write where the store has transactions (SQLite):
   * an exchange is remembered with its answer, and a message pays for one commit instead of two.
   * Returns the appended turns as `appendTurns` does.
   */
  saveAnswer(answer: AnswerRecord, exchange?: NewTurn[]): Promise<Turn[]>;
  getAnswer(answerId: string): Promise<AnswerRecord | undefined>;
  /** The latest answer in a conversation (for `sources` and `why`). */
  lastAnswer(conversation: ConversationRef): Promise<AnswerRecord | undefined>;
  /** Stores a vote; a second vote by the same voter on the same answer replaces the first. */
  recordVote(vote: FeedbackRecord): Promise<void>;
  listFeedback(channel: ChannelRef): Promise<Array<FeedbackRecord & { answer: AnswerRecord }>>;
}

/** Delivery de-duplication: a platform's retried event, a second click, an alert posted once. */
export interface DeliveryClaims {
  /**
   * Claims a delivery id. Returns true the first time an id is seen (within `ttlSeconds`), false
   * for every later delivery, also across processes sharing the same store.
   */
  claimEvent(eventKey: string, ttlSeconds: number): Promise<boolean>;
  /**
   * Sets a claimed id's time to live to `ttlSeconds` from now; no effect on an id no longer held. A
   * claim is a lease: its holder extends it while it works and once more, for long, when done, so a
   * delivery whose handler died is claimable again soon after, while a finished one stays dropped.
   */
  extendEvent(eventKey: string, ttlSeconds: number): Promise<void>;
  /**
   * Settles a handled delivery: `extendEvent` to `ttlSeconds` and, when given, `closeWork` of its
   * reply's open-work item, in one write (one transaction on SQLite, one MULTI on Redis). A crash
   * then leaves both undone (the lease lapses and the sweep ends the reply) or neither.
   */
  settleEvent(eventKey: string, ttlSeconds: number, openWorkId?: string): Promise<void>;
}

/** Work shown as unfinished in a chat (see `OpenWork`), so a lost owner's is ended by another process. */
export interface OpenWorkStore {
  /** Records (or replaces, by id) something shown as unfinished. */
  openWork(work: OpenWork): Promise<void>;
  /** Moves an open item's lease and, when given, replaces its message ids; no effect once it is closed. */
  renewWork(id: string, leaseUntil: number, messages?: Record<string, string>): Promise<void>;
  /**
   * Forgets an open item. True for exactly one caller (the one that closed it), so when several
   * processes find the same lost item, only one of them writes the closing sentence.
   */
  closeWork(id: string): Promise<boolean>;
  /** Open items, oldest lease first, at most `limit`. */
  listOpenWork(limit: number): Promise<OpenWork[]>;
}

/**
 * Everything one deployment remembers, as one store: the narrow ports above together. Callers take
 * the narrow port they use; the composition root hands the same object to each. Implementations:
 * SQLite (embedded default) and Redis (`REDIS_URL`); both pass `test/contracts/memory-store.contract.ts`.
 */
export interface MemoryStore
  extends ConversationStore,
    NoteStore,
    ChannelSettingsStore,
    AnswerLog,
    DeliveryClaims,
    OpenWorkStore {
  close(): Promise<void>;
}
