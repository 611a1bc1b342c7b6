import type { Database } from "better-sqlite3";
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
import { migrateSqliteSchema, type SqliteMigration } from "./migrate-sqlite-schema.js";

export interface SqliteMemoryStoreOptions {
  /**
   * Whether `close()` closes the database. Off by default: the file is shared with the knowledge
   * index, so whoever opened it closes it.
   */
  ownsDatabase?: boolean | undefined;
}

type ChannelKey = [platform: string, workspaceId: string, channelId: string];
type ConversationKey = [...ChannelKey, threadId: string];

interface TurnRow {
  seq: number;
  role: Turn["role"];
  speaker_id: string;
  speaker_name: string;
  text: string;
  tokens: number;
  at: number;
}

interface NoteRow {
  note_id: string;
  text: string;
  author_id: string;
  author_name: string;
  at: number;
}

interface FeedbackRow {
  answer_id: string;
  voter_id: string;
  vote: Vote;
  at: number;
  record: string;
}

const MIGRATIONS: readonly SqliteMigration[] = [
  (database) => {
    // The channel-level conversation has thread_id '' so that it is distinct from every thread.
    // `last_seq` survives `forgetChannel`, so a fold computed before a forget can never match new turns.
    database.exec(`
      CREATE TABLE IF NOT EXISTS memory_conversations (
        platform TEXT NOT NULL,
        workspace_id TEXT NOT NULL,
        channel_id TEXT NOT NULL,
        thread_id TEXT NOT NULL,
        summary TEXT NOT NULL DEFAULT '',
        last_seq INTEGER NOT NULL DEFAULT 0,
        last_answer_id TEXT,
        PRIMARY KEY (platform, workspace_id, channel_id, thread_id)
      ) STRICT;
      CREATE TABLE IF NOT EXISTS memory_turns (
        platform TEXT NOT NULL,
        workspace_id TEXT NOT NULL,
        channel_id TEXT NOT NULL,
        thread_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
        speaker_id TEXT NOT NULL,
        speaker_name TEXT NOT NULL,
        text TEXT NOT NULL,
        tokens INTEGER NOT NULL,
        at REAL NOT NULL,
        PRIMARY KEY (platform, workspace_id, channel_id, thread_id, seq)
      ) STRICT, WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS memory_channels (
        platform TEXT NOT NULL,
        workspace_id TEXT NOT NULL,
        channel_id TEXT NOT NULL,
        settings TEXT NOT NULL DEFAULT '{}',
        last_note_number INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (platform, workspace_id, channel_id)
      ) STRICT;
      CREATE TABLE IF NOT EXISTS memory_notes (
        platform TEXT NOT NULL,
        workspace_id TEXT NOT NULL,
        channel_id TEXT NOT NULL,
        note_id TEXT NOT NULL,
        note_number INTEGER NOT NULL,
        text TEXT NOT NULL,
        author_id TEXT NOT NULL,
        author_name TEXT NOT NULL,
        at REAL NOT NULL,
        PRIMARY KEY (platform, workspace_id, channel_id, note_id)
      ) STRICT;
      CREATE TABLE IF NOT EXISTS memory_answers (
        answer_id TEXT PRIMARY KEY,
        platform TEXT NOT NULL,
        workspace_id TEXT NOT NULL,
        channel_id TEXT NOT NULL,
        thread_id TEXT NOT NULL,
        record TEXT NOT NULL
      ) STRICT;
      CREATE INDEX IF NOT EXISTS memory_answers_by_channel
        ON memory_answers (platform, workspace_id, channel_id);
      CREATE TABLE IF NOT EXISTS memory_votes (
        answer_id TEXT NOT NULL REFERENCES memory_answers (answer_id) ON DELETE CASCADE,
        voter_id TEXT NOT NULL,
        vote TEXT NOT NULL CHECK (vote IN ('up', 'down')),
        at REAL NOT NULL,
        PRIMARY KEY (answer_id, voter_id)
      ) STRICT;
      CREATE TABLE IF NOT EXISTS memory_events (
        event_key TEXT PRIMARY KEY,
        expires_at REAL NOT NULL
      ) STRICT;
      CREATE INDEX IF NOT EXISTS memory_events_by_expiry ON memory_events (expires_at);
    `);
  },
  (database) => {
    database.exec(`
      CREATE TABLE IF NOT EXISTS memory_open_work (
        work_id TEXT PRIMARY KEY,
        lease_until REAL NOT NULL,
        record TEXT NOT NULL
      ) STRICT;
      CREATE INDEX IF NOT EXISTS memory_open_work_by_lease ON memory_open_work (lease_until);
    `);
  },
  (database) => {
    // Bumped whenever turns go away or the summary changes (a fold, a forget): with `last_seq`, which
    // every append bumps, one row says whether a conversation read earlier is still what is stored.
    database.exec("ALTER TABLE memory_conversations ADD COLUMN revision INTEGER NOT NULL DEFAULT 0");
  },
  (database) => {
    // Every message claims its delivery, opens its reply as work, then closes it and extends the claim:
    // four commits on these small tables. Keyed by their text ids without a rowid, each is one b-tree
    // besides its expiry index instead of two, so a commit writes one page less (12.5 → 9.9 pages and
    // ~0.2 → ~0.1 ms for the four together, measured on their own).
    database.exec(`
      CREATE TABLE memory_events_next (
        event_key TEXT PRIMARY KEY,
        expires_at REAL NOT NULL
      ) STRICT, WITHOUT ROWID;
      INSERT INTO memory_events_next (event_key, expires_at) SELECT event_key, expires_at FROM memory_events;
      DROP TABLE memory_events;
      ALTER TABLE memory_events_next RENAME TO memory_events;
      CREATE INDEX memory_events_by_expiry ON memory_events (expires_at);
      CREATE TABLE memory_open_work_next (
        work_id TEXT PRIMARY KEY,
        lease_until REAL NOT NULL,
        record TEXT NOT NULL
      ) STRICT, WITHOUT ROWID;
      INSERT INTO memory_open_work_next (work_id, lease_until, record)
        SELECT work_id, lease_until, record FROM memory_open_work;
      DROP TABLE memory_open_work;
      ALTER TABLE memory_open_work_next RENAME TO memory_open_work;
      CREATE INDEX memory_open_work_by_lease ON memory_open_work (lease_until);
    `);
  },
  (database) => {
    // Open work holds only what is unfinished right now (a few rows), and only the sweep, every few
    // seconds, lists it by lease: a scan and a sort of those rows. The index cost every message a
    // page written when its reply opened and another when it closed (2 of ~19 WAL pages a message).
    database.exec("DROP INDEX IF EXISTS memory_open_work_by_lease");
  },
];

/**
 * Conversations kept read in this process (least recently used dropped first): a long thread is read
 * and parsed once, then every message checks one row instead of reading all its turns again.
 */
const CACHED_CONVERSATIONS = 256;

/** Turns just inserted, with the conversation's row as the insert left it. */
interface AppendedTurns {
  saved: Turn[];
  lastSeq: number;
  revision: number;
}

interface CachedConversation {
  lastSeq: number;
  revision: number;
  summary: string;
  /** Frozen: callers get a new array of these on every load. */
  turns: Turn[];
}

const CHANNEL_WHERE = "platform = ? AND workspace_id = ? AND channel_id = ?";
const CONVERSATION_WHERE = `${CHANNEL_WHERE} AND thread_id = ?`;

/** One string per conversation; NUL cannot occur in a platform's ids, so no two keys collide. */
function cacheKey(key: ConversationKey): string {
  return key.join("\u0000");
}

function channelKey(channel: ChannelRef): ChannelKey {
  return [channel.platform, channel.workspaceId, channel.channelId];
}

function conversationKey(conversation: ConversationRef): ConversationKey {
  return [...channelKey(conversation), conversation.threadId ?? ""];
}

function toTurn(row: TurnRow): Turn {
  return Object.freeze({
    seq: row.seq,
    role: row.role,
    speakerId: row.speaker_id,
    speakerName: row.speaker_name,
    text: row.text,
    tokens: row.tokens,
    at: row.at,
  });
}

function toNote(row: NoteRow): Note {
  return {
    id: row.note_id,
    text: row.text,
    authorId: row.author_id,
    authorName: row.author_name,
    at: row.at,
  };
}

/** Drops keys whose value is undefined, so that stored JSON and returned objects agree. */
function withoutUndefined(settings: ChannelSettings): ChannelSettings {
  return Object.fromEntries(Object.entries(settings).filter(([, value]) => value !== undefined));
}

/**
 * The embedded-default MemoryStore: every table is prefixed `memory_` and keyed by platform +
 * workspace + channel (+ thread, `''` for the channel itself). better-sqlite3 is synchronous, so each
 * method is one short transaction on the caller's turn of the event loop.
 */
export class SqliteMemoryStore implements MemoryStore {
  readonly #database: Database;
  readonly #ownsDatabase: boolean;
  readonly #statements;
  readonly #transactions;
  /** Keyed by `cacheKey`; validated against the conversation's row on every load (see `revision`). */
  readonly #conversations = new Map<string, CachedConversation>();
  #closed = false;

  constructor(database: Database, options: SqliteMemoryStoreOptions = {}) {
    this.#database = database;
    this.#ownsDatabase = options.ownsDatabase ?? false;
    try {
      migrateSqliteSchema(database, "memory", MIGRATIONS);
      this.#statements = this.#prepare();
      this.#transactions = this.#prepareTransactions();
    } catch (error) {
      throw translateError("prepare the memory tables", error, database.name);
    }
  }

  /**
   * The transactions every message runs, made once: `database.transaction` builds a wrapper of
   * several functions each time it is called, which per call was a few KB of garbage per message.
   */
  #prepareTransactions() {
    const database = this.#database;
    const statements = this.#statements;
    return {
      load: database.transaction((key: ConversationKey) => ({
        state: statements.loadState.get(...key),
        turns: statements.loadTurns.all(...key).map(toTurn),
      })),
      insertTurns: database.transaction((key: ConversationKey, turns: NewTurn[]) =>
        this.#insertTurns(key, turns),
      ),
      saveAnswer: database.transaction((answer: AnswerRecord, key: ConversationKey, exchange: NewTurn[]) => {
        statements.upsertAnswer.run(answer.id, ...key, JSON.stringify(answer));
        statements.pointLastAnswer.run(...key, answer.id);
        return exchange.length > 0 ? this.#insertTurns(key, exchange) : undefined;
      }),
      claimEvent: database.transaction((eventKey: string, ttlSeconds: number) => {
        const now = Date.now();
        // Expired claims are swept here rather than by a timer; the index keeps this cheap.
        statements.deleteExpiredEvents.run(now);
        return statements.insertEvent.run(eventKey, now + ttlSeconds * 1000).changes === 1;
      }),
      settleEvent: database.transaction(
        (eventKey: string, ttlSeconds: number, openWorkId: string | undefined) => {
          if (openWorkId !== undefined) statements.deleteOpenWork.run(openWorkId);
          const now = Date.now();
          statements.extendEvent.run(now + ttlSeconds * 1000, eventKey, now);
        },
      ),
    };
  }

  #prepare() {
    const database = this.#database;
    return {
      loadState: database.prepare<ConversationKey, { summary: string; last_seq: number; revision: number }>(
        `SELECT summary, last_seq, revision FROM memory_conversations WHERE ${CONVERSATION_WHERE}`,
      ),
      loadVersion: database.prepare<ConversationKey, { last_seq: number; revision: number }>(
        `SELECT last_seq, revision FROM memory_conversations WHERE ${CONVERSATION_WHERE}`,
      ),
      loadTurns: database.prepare<ConversationKey, TurnRow>(
        `SELECT seq, role, speaker_id, speaker_name, text, tokens, at FROM memory_turns WHERE ${CONVERSATION_WHERE} ORDER BY seq`,
      ),
      reserveSeqs: database.prepare<[...ConversationKey, number], { last_seq: number; revision: number }>(
        `INSERT INTO memory_conversations (platform, workspace_id, channel_id, thread_id, last_seq) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (platform, workspace_id, channel_id, thread_id) DO UPDATE SET last_seq = last_seq + excluded.last_seq
         RETURNING last_seq, revision`,
      ),
      insertTurn: database.prepare<
        [...ConversationKey, number, string, string, string, string, number, number]
      >(
        `INSERT INTO memory_turns (platform, workspace_id, channel_id, thread_id, seq, role, speaker_id, speaker_name, text, tokens, at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      deleteTurnsThrough: database.prepare<[...ConversationKey, number]>(
        `DELETE FROM memory_turns WHERE ${CONVERSATION_WHERE} AND seq <= ?`,
      ),
      replaceSummary: database.prepare<[string, ...ConversationKey], { last_seq: number; revision: number }>(
        `UPDATE memory_conversations SET summary = ?, revision = revision + 1 WHERE ${CONVERSATION_WHERE}
         RETURNING last_seq, revision`,
      ),
      deleteChannelTurns: database.prepare<ChannelKey>(`DELETE FROM memory_turns WHERE ${CHANNEL_WHERE}`),
      clearChannelConversations: database.prepare<ChannelKey>(
        `UPDATE memory_conversations SET summary = '', last_answer_id = NULL, revision = revision + 1
         WHERE ${CHANNEL_WHERE}`,
      ),
      deleteChannelNotes: database.prepare<ChannelKey>(`DELETE FROM memory_notes WHERE ${CHANNEL_WHERE}`),
      deleteChannelAnswers: database.prepare<ChannelKey>(`DELETE FROM memory_answers WHERE ${CHANNEL_WHERE}`),
      reserveNoteNumber: database.prepare<ChannelKey, { last_note_number: number }>(
        `INSERT INTO memory_channels (platform, workspace_id, channel_id, last_note_number) VALUES (?, ?, ?, 1)
         ON CONFLICT (platform, workspace_id, channel_id) DO UPDATE SET last_note_number = last_note_number + 1
         RETURNING last_note_number`,
      ),
      insertNote: database.prepare<[...ChannelKey, string, number, string, string, string, number]>(
        `INSERT INTO memory_notes (platform, workspace_id, channel_id, note_id, note_number, text, author_id, author_name, at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      listNotes: database.prepare<ChannelKey, NoteRow>(
        `SELECT note_id, text, author_id, author_name, at FROM memory_notes WHERE ${CHANNEL_WHERE} ORDER BY note_number`,
      ),
      deleteNote: database.prepare<[...ChannelKey, string]>(
        `DELETE FROM memory_notes WHERE ${CHANNEL_WHERE} AND note_id = ?`,
      ),
      loadSettings: database.prepare<ChannelKey, { settings: string }>(
        `SELECT settings FROM memory_channels WHERE ${CHANNEL_WHERE}`,
      ),
      saveSettings: database.prepare<[...ChannelKey, string]>(
        `INSERT INTO memory_channels (platform, workspace_id, channel_id, settings) VALUES (?, ?, ?, ?)
         ON CONFLICT (platform, workspace_id, channel_id) DO UPDATE SET settings = excluded.settings`,
      ),
      upsertAnswer: database.prepare<[string, ...ConversationKey, string]>(
        `INSERT INTO memory_answers (answer_id, platform, workspace_id, channel_id, thread_id, record) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (answer_id) DO UPDATE SET platform = excluded.platform, workspace_id = excluded.workspace_id,
           channel_id = excluded.channel_id, thread_id = excluded.thread_id, record = excluded.record`,
      ),
      pointLastAnswer: database.prepare<[...ConversationKey, string]>(
        `INSERT INTO memory_conversations (platform, workspace_id, channel_id, thread_id, last_answer_id) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (platform, workspace_id, channel_id, thread_id) DO UPDATE SET last_answer_id = excluded.last_answer_id`,
      ),
      getAnswer: database.prepare<[string], { record: string }>(
        "SELECT record FROM memory_answers WHERE answer_id = ?",
      ),
      lastAnswer: database.prepare<ConversationKey, { record: string }>(
        `SELECT answer.record FROM memory_conversations AS conversation
         JOIN memory_answers AS answer ON answer.answer_id = conversation.last_answer_id
         WHERE conversation.platform = ? AND conversation.workspace_id = ? AND conversation.channel_id = ?
           AND conversation.thread_id = ?`,
      ),
      answerExists: database.prepare<[string], { found: number }>(
        "SELECT 1 AS found FROM memory_answers WHERE answer_id = ?",
      ),
      upsertVote: database.prepare<[string, string, string, number]>(
        `INSERT INTO memory_votes (answer_id, voter_id, vote, at) VALUES (?, ?, ?, ?)
         ON CONFLICT (answer_id, voter_id) DO UPDATE SET vote = excluded.vote, at = excluded.at`,
      ),
      listFeedback: database.prepare<ChannelKey, FeedbackRow>(
        `SELECT vote.answer_id, vote.voter_id, vote.vote, vote.at, answer.record
         FROM memory_votes AS vote JOIN memory_answers AS answer ON answer.answer_id = vote.answer_id
         WHERE answer.platform = ? AND answer.workspace_id = ? AND answer.channel_id = ?
         ORDER BY vote.at DESC, vote.rowid DESC`,
      ),
      deleteExpiredEvents: database.prepare<[number]>("DELETE FROM memory_events WHERE expires_at <= ?"),
      extendEvent: database.prepare<[number, string, number]>(
        "UPDATE memory_events SET expires_at = ? WHERE event_key = ? AND expires_at > ?",
      ),
      upsertOpenWork: database.prepare<[string, number, string]>(
        `INSERT INTO memory_open_work (work_id, lease_until, record) VALUES (?, ?, ?)
         ON CONFLICT (work_id) DO UPDATE SET lease_until = excluded.lease_until, record = excluded.record`,
      ),
      getOpenWork: database.prepare<[string], { record: string }>(
        "SELECT record FROM memory_open_work WHERE work_id = ?",
      ),
      deleteOpenWork: database.prepare<[string]>("DELETE FROM memory_open_work WHERE work_id = ?"),
      listOpenWork: database.prepare<[number], { record: string }>(
        "SELECT record FROM memory_open_work ORDER BY lease_until, work_id LIMIT ?",
      ),
      insertEvent: database.prepare<[string, number]>(
        "INSERT INTO memory_events (event_key, expires_at) VALUES (?, ?) ON CONFLICT (event_key) DO NOTHING",
      ),
    };
  }

  async loadConversation(conversation: ConversationRef): Promise<Conversation> {
    return this.#run("load a conversation", () => {
      const key = conversationKey(conversation);
      const name = cacheKey(key);
      const cached = this.#conversations.get(name);
      if (cached) {
        const version = this.#statements.loadVersion.get(...key);
        if (version?.last_seq === cached.lastSeq && version.revision === cached.revision) {
          this.#remember(name, cached);
          return { summary: cached.summary, turns: [...cached.turns] };
        }
      }
      const loaded = this.#transactions.load(key);
      if (loaded.state) {
        this.#remember(name, {
          lastSeq: loaded.state.last_seq,
          revision: loaded.state.revision,
          summary: loaded.state.summary,
          turns: loaded.turns,
        });
      }
      return { summary: loaded.state?.summary ?? "", turns: [...loaded.turns] };
    });
  }

  /** Most recently used last, so the least recently used is dropped first. */
  #remember(name: string, conversation: CachedConversation): void {
    this.#conversations.delete(name);
    this.#conversations.set(name, conversation);
    if (this.#conversations.size > CACHED_CONVERSATIONS) {
      const oldest = this.#conversations.keys().next().value;
      if (oldest !== undefined) this.#conversations.delete(oldest);
    }
  }

  async appendTurns(conversation: ConversationRef, turns: NewTurn[]): Promise<Turn[]> {
    if (turns.length === 0) return [];
    return this.#run("append turns", () => {
      const key = conversationKey(conversation);
      const appended = this.#transactions.insertTurns(key, turns);
      return this.#appended(key, appended);
    });
  }

  /** Inside a transaction: reserves the turns' seqs and inserts them. */
  #insertTurns(key: ConversationKey, turns: NewTurn[]): AppendedTurns {
    const reserved = this.#statements.reserveSeqs.get(...key, turns.length)!;
    const firstSeq = reserved.last_seq - turns.length + 1;
    const saved = turns.map((turn, index): Turn => {
      // In the class of a turn read back (`toTurn`), so that a cached conversation's turns share one.
      const stored = savedTurn(firstSeq + index, turn);
      this.#statements.insertTurn.run(
        ...key,
        stored.seq,
        stored.role,
        stored.speakerId,
        stored.speakerName,
        stored.text,
        stored.tokens,
        stored.at,
      );
      return stored;
    });
    return { saved, lastSeq: reserved.last_seq, revision: reserved.revision };
  }

  /**
   * After the commit: a read of the conversation just before these turns now ends with them. If
   * anything else was written in between (another process), the next load reads it all again.
   */
  #appended(key: ConversationKey, { saved, lastSeq, revision }: AppendedTurns): Turn[] {
    const name = cacheKey(key);
    const cached = this.#conversations.get(name);
    if (cached) {
      if (cached.lastSeq === lastSeq - saved.length && cached.revision === revision) {
        // Frozen when made (`#insertTurns`), so the cache holds them as they are.
        cached.turns.push(...saved);
        cached.lastSeq = lastSeq;
      } else {
        this.#conversations.delete(name);
      }
    }
    return saved;
  }

  /**
   * Does nothing when no turn with `seq <= throughSeq` is left: the fold was already applied by
   * another process, or the channel was forgotten while the summary was being written, and applying
   * it would bring back what was folded or forgotten.
   */
  async foldTurns(conversation: ConversationRef, throughSeq: number, summary: string): Promise<void> {
    this.#run("fold turns", () => {
      const key = conversationKey(conversation);
      const folded = this.#database.transaction(() => {
        const deleted = this.#statements.deleteTurnsThrough.run(...key, throughSeq).changes;
        return deleted > 0 ? this.#statements.replaceSummary.get(summary, ...key) : undefined;
      })();
      if (!folded) return;
      // After the commit, as in `appendTurns`: a read of the conversation just before this fold is
      // brought to it; anything else written meanwhile makes the next load read it all again.
      const name = cacheKey(key);
      const cached = this.#conversations.get(name);
      if (!cached) return;
      if (cached.lastSeq === folded.last_seq && cached.revision === folded.revision - 1) {
        cached.turns = cached.turns.filter((turn) => turn.seq > throughSeq);
        cached.summary = summary;
        cached.revision = folded.revision;
      } else {
        this.#conversations.delete(name);
      }
    });
  }

  async forgetChannel(channel: ChannelRef): Promise<void> {
    this.#run("forget a channel", () =>
      this.#database.transaction(() => {
        const key = channelKey(channel);
        this.#statements.deleteChannelTurns.run(...key);
        this.#statements.clearChannelConversations.run(...key);
        this.#statements.deleteChannelNotes.run(...key);
        this.#statements.deleteChannelAnswers.run(...key);
      })(),
    );
    // The revision bump already makes these stale; dropping them frees the memory at once.
    const prefix = `${cacheKey([...channelKey(channel), ""])}`;
    for (const name of [...this.#conversations.keys()]) {
      if (name.startsWith(prefix)) this.#conversations.delete(name);
    }
  }

  async addNote(channel: ChannelRef, note: Omit<Note, "id">): Promise<Note> {
    return this.#run("add a note", () =>
      this.#database.transaction(() => {
        const key = channelKey(channel);
        // Numbers are never reused, even after a delete or a forget, so an old id cannot hit a new note.
        const number = this.#statements.reserveNoteNumber.get(...key)!.last_note_number;
        const saved: Note = { id: `n${number}`, ...note };
        this.#statements.insertNote.run(
          ...key,
          saved.id,
          number,
          saved.text,
          saved.authorId,
          saved.authorName,
          saved.at,
        );
        return saved;
      })(),
    );
  }

  async listNotes(channel: ChannelRef): Promise<Note[]> {
    return this.#run("list notes", () => this.#statements.listNotes.all(...channelKey(channel)).map(toNote));
  }

  async deleteNote(channel: ChannelRef, noteId: string): Promise<boolean> {
    return this.#run(
      "delete a note",
      () => this.#statements.deleteNote.run(...channelKey(channel), noteId).changes > 0,
    );
  }

  async getSettings(channel: ChannelRef): Promise<ChannelSettings> {
    return this.#run("read channel settings", () => this.#readSettings(channelKey(channel)));
  }

  /** Merges like object spread: absent keys stay, a key given as `undefined` is cleared. */
  async updateSettings(channel: ChannelRef, patch: ChannelSettings): Promise<ChannelSettings> {
    return this.#run("update channel settings", () =>
      this.#database.transaction(() => {
        const key = channelKey(channel);
        const merged = withoutUndefined({ ...this.#readSettings(key), ...patch });
        this.#statements.saveSettings.run(...key, JSON.stringify(merged));
        return merged;
      })(),
    );
  }

  #readSettings(key: ChannelKey): ChannelSettings {
    const row = this.#statements.loadSettings.get(...key);
    return row === undefined ? {} : (JSON.parse(row.settings) as ChannelSettings);
  }

  async saveAnswer(answer: AnswerRecord, exchange: NewTurn[] = []): Promise<Turn[]> {
    return this.#run("save an answer", () => {
      const key = conversationKey(answer.conversation);
      const appended = this.#transactions.saveAnswer(answer, key, exchange);
      return appended ? this.#appended(key, appended) : [];
    });
  }

  async getAnswer(answerId: string): Promise<AnswerRecord | undefined> {
    return this.#run("read an answer", () => {
      const row = this.#statements.getAnswer.get(answerId);
      return row === undefined ? undefined : (JSON.parse(row.record) as AnswerRecord);
    });
  }

  async lastAnswer(conversation: ConversationRef): Promise<AnswerRecord | undefined> {
    return this.#run("read the last answer", () => {
      const row = this.#statements.lastAnswer.get(...conversationKey(conversation));
      return row === undefined ? undefined : (JSON.parse(row.record) as AnswerRecord);
    });
  }

  /** Throws `not_found` when the answer does not exist (never saved, or forgotten). */
  async recordVote(vote: FeedbackRecord): Promise<void> {
    this.#run("record a vote", () =>
      this.#database.transaction(() => {
        if (this.#statements.answerExists.get(vote.answerId) === undefined)
          throw answerNotFound(vote.answerId);
        this.#statements.upsertVote.run(vote.answerId, vote.voterId, vote.vote, vote.at);
      })(),
    );
  }

  async listFeedback(channel: ChannelRef): Promise<Array<FeedbackRecord & { answer: AnswerRecord }>> {
    return this.#run("list feedback", () =>
      this.#statements.listFeedback.all(...channelKey(channel)).map((row) => ({
        answerId: row.answer_id,
        voterId: row.voter_id,
        vote: row.vote,
        at: row.at,
        answer: JSON.parse(row.record) as AnswerRecord,
      })),
    );
  }

  async claimEvent(eventKey: string, ttlSeconds: number): Promise<boolean> {
    return this.#run("claim an event", () => this.#transactions.claimEvent(eventKey, ttlSeconds));
  }

  async extendEvent(eventKey: string, ttlSeconds: number): Promise<void> {
    this.#run("extend an event claim", () => {
      const now = Date.now();
      this.#statements.extendEvent.run(now + ttlSeconds * 1000, eventKey, now);
    });
  }

  async settleEvent(eventKey: string, ttlSeconds: number, openWorkId?: string): Promise<void> {
    this.#run("settle an event claim", () =>
      this.#transactions.settleEvent(eventKey, ttlSeconds, openWorkId),
    );
  }

  async openWork(work: OpenWork): Promise<void> {
    this.#run("record open work", () => {
      this.#statements.upsertOpenWork.run(work.id, work.leaseUntil, JSON.stringify(work));
    });
  }

  async renewWork(id: string, leaseUntil: number, messages?: Record<string, string>): Promise<void> {
    this.#run("renew open work", () =>
      this.#database.transaction(() => {
        const row = this.#statements.getOpenWork.get(id);
        if (!row) return;
        const work = JSON.parse(row.record) as OpenWork;
        const renewed: OpenWork = { ...work, leaseUntil, ...(messages ? { messages } : {}) };
        this.#statements.upsertOpenWork.run(id, leaseUntil, JSON.stringify(renewed));
      })(),
    );
  }

  async closeWork(id: string): Promise<boolean> {
    return this.#run("close open work", () => this.#statements.deleteOpenWork.run(id).changes === 1);
  }

  async listOpenWork(limit: number): Promise<OpenWork[]> {
    return this.#run("list open work", () =>
      this.#statements.listOpenWork.all(limit).map((row) => JSON.parse(row.record) as OpenWork),
    );
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#ownsDatabase) this.#database.close();
  }

  #run<Result>(operation: string, work: () => Result): Result {
    try {
      return work();
    } catch (error) {
      throw translateError(operation, error, this.#database.name);
    }
  }
}

function answerNotFound(answerId: string): AppError {
  return new AppError("not_found", `No answer ${answerId} to vote on`, {
    category: "user",
    userMessage: "That answer is no longer remembered, so I cannot record feedback on it.",
  });
}

const RETRYABLE_SQLITE_CODES = new Set(["SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_IOERR", "SQLITE_FULL"]);

/** What an admin should look at, for the SQLite result codes a full or unwritable disk produces. */
const SQLITE_CAUSES: Record<string, string> = {
  SQLITE_FULL: "the disk is full",
  SQLITE_READONLY: "the file or its directory is read-only",
  SQLITE_CANTOPEN: "the file cannot be opened (missing directory or no permission)",
  SQLITE_IOERR: "the disk reported an I/O error",
  SQLITE_BUSY: "another process holds the database lock",
  SQLITE_LOCKED: "another connection holds the database lock",
  SQLITE_CORRUPT: "the file is damaged",
};

/** One line naming the file and the cause (`…: /data/teammate.sqlite: the disk is full (SQLITE_FULL)`). */
function translateError(operation: string, error: unknown, path?: string): AppError {
  if (error instanceof AppError) return error;
  const code = typeof error === "object" && error !== null && "code" in error ? String(error.code) : "";
  const prefix = code.split("_").slice(0, 2).join("_");
  const cause = SQLITE_CAUSES[prefix];
  const where = path ? `: ${path}` : "";
  const why = cause ? `: ${cause} (${code})` : code ? ` (${code})` : "";
  return new AppError("store_unavailable", `SQLite memory store could not ${operation}${where}${why}`, {
    cause: error,
    retryable: RETRYABLE_SQLITE_CODES.has(prefix),
    userMessage: "My memory is not available right now.",
  });
}
