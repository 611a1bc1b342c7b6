import type { ChannelRef, ConversationRef } from "../types.js";
import type { ToolRisk } from "./tool.js";

/** A tool call waiting for a human. */
export interface ApprovalRequest {
  toolName: string;
  risk: Exclude<ToolRisk, "read">;
  /** The call's arguments as shown to the deciders (secrets already redacted, length capped). */
  argumentsPreview: string;
  conversation: ConversationRef;
  /** Whoever asked the question that led to this call; they (or an admin) may decide. */
  askerId: string;
}

export type ApprovalOutcome = "approved" | "denied" | "timed_out";

export interface ApprovalDecision {
  outcome: ApprovalOutcome;
  /** Who clicked; absent when the time limit passed or the turn was cancelled. */
  deciderId?: string | undefined;
}

export interface PendingApproval {
  /** Round-trips through the platform as the Approve / Deny buttons' value. */
  id: string;
  /** Epoch milliseconds after which the request counts as denied. */
  expiresAt: number;
  /** Settles exactly once: approved, denied, or timed out (also when `signal` aborts). */
  decision: Promise<ApprovalDecision>;
}

type DecideStatus = "approved" | "denied" | "forbidden" | "not_found";

/** Who clicked, and where. */
export interface Decider {
  userId: string;
  /** Where the click happened (platform, workspace, channel); it counts only where the request was shown. */
  place: ChannelRef;
  /** Asked only when the clicker is not the asker: admins of the request's workspace may decide too. */
  isAdmin: () => Promise<boolean>;
}

export interface DecideResult {
  status: DecideStatus;
  /** A sentence for the person who clicked (a refusal, or what happened). */
  message: string;
}

/**
 * Human approval of risky tool calls. The agent opens a request, posts the buttons, and waits;
 * the core's `handleAction` calls `decide` when someone clicks. A click counts only in the platform,
 * workspace and channel the request was shown in, and only from the asker or an admin of that
 * workspace; silence until `expiresAt` counts as Deny. Each request settles exactly once, however
 * many clicks race for it. Deliberately leaves out rendering: posting the buttons is the reply
 * sink's job.
 *
 * Implementations: in this process's memory (one bot process), or in Redis, where the click may reach
 * any bot process sharing `REDIS_URL` and the one whose agent waits learns the decision.
 */
export interface ApprovalGate {
  /**
   * Opens a request. Resolves once it is recorded, so a click on buttons posted afterwards finds it
   * from any process; rejects when it cannot be recorded (the tool then does not run).
   */
  open(request: ApprovalRequest, signal?: AbortSignal): Promise<PendingApproval>;
  decide(approvalId: string, decider: Decider, approve: boolean): Promise<DecideResult>;
}
