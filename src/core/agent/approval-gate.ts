import { randomUUID } from "node:crypto";
import type {
  ApprovalDecision,
  ApprovalGate,
  ApprovalRequest,
  DecideResult,
} from "../ports/approval-gate.js";
import type { ChannelRef } from "../types.js";

/**
 * What a click is told, the same from every implementation. A click from anywhere but where the
 * request was shown gets `NOT_WAITING` too, exactly like an unknown id, so a valid id learned
 * elsewhere tells the clicker nothing.
 */
export const NOT_WAITING: DecideResult = {
  status: "not_found",
  message: "This request is no longer waiting for a decision (it was already decided or it expired).",
};

export const NOT_ALLOWED: DecideResult = {
  status: "forbidden",
  message: "Only the person who asked, or an admin, can approve or deny this action.",
};

export function decidedResult(toolName: string, approve: boolean): DecideResult {
  return approve
    ? { status: "approved", message: `Approved: running ${toolName}.` }
    : { status: "denied", message: `Denied: ${toolName} will not run.` };
}

/** Whether a click happened where the request was shown (same platform, workspace and channel). */
function samePlace(left: ChannelRef, right: ChannelRef): boolean {
  return (
    left.platform === right.platform &&
    left.workspaceId === right.workspaceId &&
    left.channelId === right.channelId
  );
}

export interface InMemoryApprovalGateOptions {
  /** How long a request waits for a click before it counts as Deny. Default five minutes. */
  timeoutMs?: number;
  now?: () => number;
  createId?: () => string;
}

interface Waiting {
  request: ApprovalRequest;
  settle: (decision: ApprovalDecision) => void;
}

const DEFAULT_TIMEOUT_MS = 5 * 60_000;

/**
 * Approvals held in this process's memory, keyed by approval id. Enough for one bot process (the
 * embedded mode): the button click comes back to the process whose agent is waiting. Several bot
 * processes use `RedisApprovalGate` instead; both pass `test/contracts/approval-gate.contract.ts`.
 */
export function createInMemoryApprovalGate(options: InMemoryApprovalGateOptions = {}): ApprovalGate {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const now = options.now ?? Date.now;
  const createId = options.createId ?? (() => randomUUID());
  const waiting = new Map<string, Waiting>();

  return {
    async open(request, signal) {
      const id = createId();
      let resolveDecision!: (decision: ApprovalDecision) => void;
      const decision = new Promise<ApprovalDecision>((resolve) => {
        resolveDecision = resolve;
      });
      const onAbort = () => settle({ outcome: "timed_out" });
      const timer = setTimeout(onAbort, timeoutMs);
      // Settles once: the first of a click, the time limit or an abort wins; later ones are ignored.
      function settle(value: ApprovalDecision): void {
        if (!waiting.delete(id)) return;
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        resolveDecision(value);
      }
      waiting.set(id, { request, settle });
      if (signal?.aborted) onAbort();
      else signal?.addEventListener("abort", onAbort, { once: true });
      return { id, expiresAt: now() + timeoutMs, decision };
    },

    async decide(approvalId, decider, approve): Promise<DecideResult> {
      const entry = waiting.get(approvalId);
      if (!entry || !samePlace(entry.request.conversation, decider.place)) return NOT_WAITING;
      if (decider.userId !== entry.request.askerId && !(await decider.isAdmin())) return NOT_ALLOWED;
      // The admin check awaited the platform: the request may have been decided meanwhile.
      if (!waiting.has(approvalId)) return NOT_WAITING;
      entry.settle({ outcome: approve ? "approved" : "denied", deciderId: decider.userId });
      return decidedResult(entry.request.toolName, approve);
    },
  };
}
