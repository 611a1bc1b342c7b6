import { newReferenceId } from "./errors.js";
import type { Logger } from "./ports/logger.js";
import type { OpenWork, OpenWorkStore } from "./ports/memory-store.js";
import type { Notifier } from "./ports/notifier.js";
import type { ReplySink } from "./ports/reply-sink.js";
import type { ConversationRef } from "./types.js";

export interface OpenReplyOptions {
  store: OpenWorkStore;
  /** Unique per delivery (`reply-<platform>-<workspace>-<event id>`). */
  id: string;
  where: ConversationRef;
  askerId: string;
  sink: ReplySink;
  /** This process, so a restart tells its own replies from those of the process before it. */
  owner: string;
  /** How long the record outlives a silent owner; renewed every third of it. */
  leaseMs: number;
  logger: Logger;
}

/**
 * One reply's open-work record, from the moment it shows something until it ends: written when the
 * reply first shows a sign, rewritten when what it shows changes (a status line, a stream), its
 * lease renewed on a heartbeat, removed when the reply ends. If the process dies, the record stays
 * and its lease lapses, and the next sweep (see `sweepOpenReplies`) ends the reply with an apology.
 * A store that fails costs only this safety net, never the reply: errors are logged and dropped.
 */
export class OpenReply {
  private readonly options: OpenReplyOptions;
  private writes: Promise<void> = Promise.resolve();
  private opened = false;
  private closed = false;
  private lastMessages = "";
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(options: OpenReplyOptions) {
    this.options = options;
  }

  /** Something new is shown: record the reply (first time) or what it shows now. */
  readonly shown = (): void => {
    if (this.closed) return;
    this.enqueue(() => this.write());
    if (!this.heartbeat) {
      this.heartbeat = setInterval(() => this.enqueue(() => this.write(true)), this.options.leaseMs / 3);
      this.heartbeat.unref();
    }
  };

  /** The reply ended (answer or sentence): forget the record. */
  async close(): Promise<void> {
    const id = await this.release();
    if (id === undefined) return;
    await this.options.store.closeWork(id).catch((error: unknown) => {
      this.options.logger.debug({ err: error }, "open reply record not closed");
    });
  }

  /**
   * The reply ended: stops renewing, waits for the writes under way, and hands the record's id to a
   * caller that closes it in a write of its own (the delivery's settlement, `SettleClaim`);
   * undefined when nothing was recorded.
   */
  async release(): Promise<string | undefined> {
    this.closed = true;
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    await this.writes;
    return this.opened ? this.options.id : undefined;
  }

  private enqueue(work: () => Promise<void>): void {
    this.writes = this.writes.then(work).catch((error: unknown) => {
      this.options.logger.debug({ err: error }, "open reply record not written");
    });
  }

  private async write(renewOnly = false): Promise<void> {
    if (this.closed) return;
    const { store, id, leaseMs } = this.options;
    const messages = this.options.sink.shownMessages?.() ?? {};
    const serialized = JSON.stringify(messages);
    const leaseUntil = Date.now() + leaseMs;
    if (!this.opened) {
      await store.openWork({
        id,
        kind: "reply",
        where: this.options.where,
        askerId: this.options.askerId,
        owner: this.options.owner,
        messages,
        leaseUntil,
      });
      this.opened = true;
      this.lastMessages = serialized;
      return;
    }
    const changed = serialized !== this.lastMessages;
    if (!changed && !renewOnly) return;
    await store.renewWork(id, leaseUntil, changed ? messages : undefined);
    this.lastMessages = serialized;
  }
}

export interface SweepOpenRepliesDependencies {
  store: OpenWorkStore;
  notifier: Notifier;
  logger: Logger;
  /**
   * Also ends replies whose lease has not lapsed yet when no live process can own them: at start-up
   * of the embedded mode (one process per SQLite file), every reply of another owner is a dead one's.
   */
  endOthersOf?: string | undefined;
  now?: (() => number) | undefined;
}

/** The apology for a reply its process could not finish. */
function abandonedReplySentence(referenceId: string): string {
  return `Sorry, I was restarted while answering this and could not finish it (ref ${referenceId}). If no answer follows, please ask again.`;
}

/**
 * Ends every reply whose process is gone (its lease lapsed, or, at an embedded start-up, any other
 * process's): what it showed is taken down and an apology with a reference id is posted where it was
 * asked, once (whoever closes the record writes). Returns how many were ended.
 */
export async function sweepOpenReplies(
  dependencies: SweepOpenRepliesDependencies,
  limit = 200,
): Promise<number> {
  const now = (dependencies.now ?? Date.now)();
  let ended = 0;
  for (const work of await dependencies.store.listOpenWork(limit)) {
    if (work.kind !== "reply") continue;
    const orphan =
      work.leaseUntil <= now ||
      (dependencies.endOthersOf !== undefined && work.owner !== dependencies.endOthersOf);
    if (!orphan || !(await dependencies.store.closeWork(work.id))) continue;
    const referenceId = newReferenceId();
    dependencies.logger.warn(
      { replyId: work.id, owner: work.owner, referenceId },
      "reply left unfinished by a process that is gone; ending it",
    );
    await endAbandoned(dependencies.notifier, work, abandonedReplySentence(referenceId)).catch(
      (error: unknown) => {
        dependencies.logger.warn({ err: error, replyId: work.id }, "could not end an abandoned reply");
      },
    );
    ended += 1;
  }
  return ended;
}

async function endAbandoned(notifier: Notifier, work: OpenWork, sentence: string): Promise<void> {
  if (notifier.endAbandonedReply) await notifier.endAbandonedReply(work, sentence);
  else await notifier.post(work.where, sentence, { notify: work.askerId });
}
