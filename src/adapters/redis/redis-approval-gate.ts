import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import { decidedResult, NOT_ALLOWED, NOT_WAITING } from "../../core/agent/approval-gate.js";
import { AppError } from "../../core/errors.js";
import type {
  ApprovalDecision,
  ApprovalGate,
  ApprovalOutcome,
  ApprovalRequest,
  DecideResult,
  Decider,
  PendingApproval,
} from "../../core/ports/approval-gate.js";
import { type Logger, silentLogger } from "../../core/ports/logger.js";
import type { ChannelRef } from "../../core/types.js";
import { defineScript, escapeKeyPart, evaluateScript } from "./redis-script.js";

export interface RedisApprovalGateOptions {
  /** Commands go here; a second connection, duplicated from it, listens for decisions. */
  client: Redis;
  /** The deployment's store prefix (`<QUEUE_PREFIX>:store:`): keys and the notification channel live under it. */
  keyPrefix: string;
  /** How long a request waits for a click before it counts as Deny. Default five minutes. */
  timeoutMs?: number | undefined;
  /**
   * How often a waiting request re-reads its state, so a decision whose notification was lost (the
   * listening connection was down when it was published) is still learned. Default 5 s.
   */
  recheckIntervalMs?: number | undefined;
  logger?: Logger | undefined;
}

const DEFAULT_TIMEOUT_MS = 5 * 60_000;
const DEFAULT_RECHECK_MS = 5_000;
/** A pending request outlives its deadline by this much, so the waiter's own timer settles it. */
const PENDING_GRACE_MS = 5_000;
/** A decided request is kept this long, so the waiter can read the outcome after a lost notification. */
const DECIDED_KEEP_MS = 60_000;
/** Ids are UUIDs; a longer button value is not ours and is never looked up. */
const MAX_ID_LENGTH = 64;

/**
 * Settles a request once: only a request still pending takes the outcome, and the process that waits
 * for it is told on the notification channel. Clicks in two processes, or a click racing the time
 * limit, cannot both win.
 */
const SETTLE = defineScript(`
if redis.call('HGET', KEYS[1], 'state') ~= 'pending' then
  return 0
end
redis.call('HSET', KEYS[1], 'state', ARGV[1], 'decider', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 1
`);

interface Notification {
  id: string;
  outcome: ApprovalOutcome;
  deciderId: string;
}

interface Waiting {
  key: string;
  resolve: (decision: ApprovalDecision) => void;
}

const OUTCOMES = new Set<string>(["approved", "denied", "timed_out"]);

type Field = string | null | undefined;

function decisionOf(state: Field, decider: Field): ApprovalDecision | undefined {
  if (state === "approved" || state === "denied") return { outcome: state, deciderId: decider ?? undefined };
  if (state === "timed_out") return { outcome: "timed_out" };
  return undefined;
}

/**
 * Approvals shared by every bot process on one Redis: the process whose agent waits opens the
 * request, a click may land on any process (Slack HTTP behind a load balancer, another Discord
 * shard), and the decision reaches the waiting process through a pub/sub notification, with a slow
 * re-read as a safety net.
 *
 * Each request is a hash `<prefix>approval:<platform>:<workspace>:<channel>:<id>` (tool, asker,
 * state, decider) that expires shortly after its deadline. The place is part of the key, so a click
 * from another channel, workspace or platform looks up a key that does not exist, exactly like an
 * unknown id. Nothing a request writes outlives it by more than a minute.
 *
 * Left out: a waiting process that dies cannot run the tool; a click in the minute before its
 * request expires is then acknowledged, and nothing runs, as when a single process restarts.
 */
export class RedisApprovalGate implements ApprovalGate {
  readonly #client: Redis;
  readonly #prefix: string;
  readonly #channel: string;
  readonly #timeoutMs: number;
  readonly #recheckMs: number;
  readonly #logger: Logger;
  readonly #waiting = new Map<string, Waiting>();
  #subscriber: Redis | undefined;
  #listening: Promise<void> | undefined;
  #closed = false;

  constructor(options: RedisApprovalGateOptions) {
    this.#client = options.client;
    this.#prefix = options.keyPrefix;
    this.#channel = `${options.keyPrefix}approval-decided`;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#recheckMs = options.recheckIntervalMs ?? DEFAULT_RECHECK_MS;
    this.#logger = options.logger ?? silentLogger;
  }

  async open(request: ApprovalRequest, signal?: AbortSignal): Promise<PendingApproval> {
    if (this.#closed) throw unavailable("open an approval request", new Error("the gate is closed"));
    // Subscribed before the request exists, so no decision on it can be published unheard.
    await this.#listen();
    const id = randomUUID();
    const key = this.#key(request.conversation, id);
    const expiresAt = Date.now() + this.#timeoutMs;
    let resolveDecision!: (decision: ApprovalDecision) => void;
    const decision = new Promise<ApprovalDecision>((resolve) => {
      resolveDecision = resolve;
    });
    const onAbort = () => {
      void this.#expire(id);
    };
    const timer = setTimeout(onAbort, this.#timeoutMs);
    const recheck = setInterval(() => {
      void this.#recheck(id);
    }, this.#recheckMs);
    this.#waiting.set(id, {
      key,
      resolve: (value) => {
        if (!this.#waiting.delete(id)) return;
        clearTimeout(timer);
        clearInterval(recheck);
        signal?.removeEventListener("abort", onAbort);
        resolveDecision(value);
      },
    });
    try {
      const results = await this.#client
        .multi()
        .hset(key, { tool: request.toolName, asker: request.askerId, state: "pending" })
        .pexpire(key, this.#timeoutMs + PENDING_GRACE_MS)
        .exec();
      const failed = results?.find(([error]) => error)?.[0];
      if (!results || failed) throw failed ?? new Error("Redis transaction was aborted");
    } catch (error) {
      this.#waiting.get(id)?.resolve({ outcome: "timed_out" });
      throw unavailable("open an approval request", error);
    }
    if (signal?.aborted) onAbort();
    else signal?.addEventListener("abort", onAbort, { once: true });
    return { id, expiresAt, decision };
  }

  async decide(approvalId: string, decider: Decider, approve: boolean): Promise<DecideResult> {
    if (approvalId.length === 0 || approvalId.length > MAX_ID_LENGTH) return NOT_WAITING;
    const key = this.#key(decider.place, approvalId);
    let tool: Field;
    let asker: Field;
    let state: Field;
    try {
      [tool, asker, state] = await this.#client.hmget(key, "tool", "asker", "state");
    } catch (error) {
      throw unavailable("read an approval request", error);
    }
    if (state !== "pending" || typeof tool !== "string" || typeof asker !== "string") return NOT_WAITING;
    // Checked now, from the platform: a demoted admin is refused at once.
    if (decider.userId !== asker && !(await decider.isAdmin())) return NOT_ALLOWED;
    const outcome: ApprovalOutcome = approve ? "approved" : "denied";
    // The admin check awaited the platform: the request may have been decided meanwhile, here or
    // in another process; the script lets only the first decision through.
    if (!(await this.#settle(key, approvalId, outcome, decider.userId))) return NOT_WAITING;
    return decidedResult(tool, approve);
  }

  /**
   * Stops listening. Requests still waiting in this process end as timed out (also in Redis, so a
   * later click elsewhere is told they are no longer waiting).
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#waiting.keys()].map((id) => this.#expire(id)));
    const subscriber = this.#subscriber;
    this.#subscriber = undefined;
    if (subscriber) await subscriber.quit().catch(() => subscriber.disconnect());
  }

  #key(place: ChannelRef, id: string): string {
    const parts = [place.platform, place.workspaceId, place.channelId, id].map(escapeKeyPart);
    return `${this.#prefix}approval:${parts.join(":")}`;
  }

  async #settle(key: string, id: string, outcome: ApprovalOutcome, deciderId: string): Promise<boolean> {
    const notification: Notification = { id, outcome, deciderId };
    try {
      const settled = await evaluateScript(
        this.#client,
        SETTLE,
        [key],
        [outcome, deciderId, String(DECIDED_KEEP_MS), this.#channel, JSON.stringify(notification)],
      );
      return Number(settled) === 1;
    } catch (error) {
      throw unavailable("record an approval decision", error);
    }
  }

  /** The time limit passed or the turn was cancelled: time out, unless a click got in first. */
  async #expire(id: string): Promise<void> {
    const waiting = this.#waiting.get(id);
    if (!waiting) return;
    try {
      if (await this.#settle(waiting.key, id, "timed_out", "")) {
        waiting.resolve({ outcome: "timed_out" });
        return;
      }
      const [state, decider] = await this.#client.hmget(waiting.key, "state", "decider");
      waiting.resolve(decisionOf(state, decider) ?? { outcome: "timed_out" });
    } catch (error) {
      // Without Redis nobody can have approved it lately either: the tool does not run.
      this.#logger.warn({ err: error, approvalId: id }, "could not settle an expired approval in Redis");
      waiting.resolve({ outcome: "timed_out" });
    }
  }

  async #recheck(id: string): Promise<void> {
    const waiting = this.#waiting.get(id);
    if (!waiting) return;
    try {
      const [state, decider] = await this.#client.hmget(waiting.key, "state", "decider");
      // Gone means expired: only a deadline long passed (a process asleep) deletes a pending request.
      const decision =
        state === null || state === undefined
          ? { outcome: "timed_out" as const }
          : decisionOf(state, decider);
      if (decision) waiting.resolve(decision);
    } catch (error) {
      this.#logger.debug({ err: error, approvalId: id }, "could not re-read an approval request");
    }
  }

  #listen(): Promise<void> {
    this.#listening ??= this.#subscribe().catch((error: unknown) => {
      // The next request tries again.
      this.#listening = undefined;
      throw unavailable("listen for approval decisions", error);
    });
    return this.#listening;
  }

  async #subscribe(): Promise<void> {
    // The commands connection may refuse commands while it connects (the app's memory client has no
    // offline queue, so an outage fails fast); this new connection must queue its SUBSCRIBE until it is up.
    const subscriber = this.#client.duplicate({ enableOfflineQueue: true });
    this.#subscriber = subscriber;
    subscriber.on("error", (error: unknown) => {
      this.#logger.warn({ err: error }, "approval notifications connection error");
    });
    subscriber.on("message", (channel: string, message: string) => {
      if (channel === this.#channel) this.#onNotification(message);
    });
    try {
      await subscriber.subscribe(this.#channel);
    } catch (error) {
      subscriber.disconnect();
      if (this.#subscriber === subscriber) this.#subscriber = undefined;
      throw error;
    }
  }

  #onNotification(message: string): void {
    let notification: Partial<Notification>;
    try {
      notification = JSON.parse(message) as Partial<Notification>;
    } catch {
      return;
    }
    const { id, outcome, deciderId } = notification;
    // Every process hears every decision; only the one holding the waiting agent acts on it.
    if (typeof id !== "string" || typeof outcome !== "string" || !OUTCOMES.has(outcome)) return;
    const waiting = this.#waiting.get(id);
    if (!waiting) return;
    waiting.resolve(
      outcome === "timed_out"
        ? { outcome }
        : {
            outcome: outcome as ApprovalOutcome,
            deciderId: typeof deciderId === "string" ? deciderId : undefined,
          },
    );
  }
}

function unavailable(operation: string, error: unknown): AppError {
  if (error instanceof AppError) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new AppError("store_unavailable", `Redis approval gate could not ${operation}: ${reason}`, {
    cause: error,
    retryable: true,
    userMessage: "I cannot reach the store that keeps approval requests right now; please try again shortly.",
  });
}
