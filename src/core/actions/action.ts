import type { AgentSetup } from "../chains/answer-chain.js";
import type { InboundAction } from "../ports/assistant-handler.js";
import type { MemoryStore } from "../ports/memory-store.js";
import type { ReplyGuard } from "../reply-guard.js";

/** What an action may use. */
export interface ActionServices {
  store: Pick<MemoryStore, "getAnswer" | "recordVote">;
  /** Present when answers run with tools (and so may ask for approvals). */
  agent: AgentSetup | undefined;
  now: () => number;
}

/**
 * A button click core answers, registered in a table like commands are: the adapter routes the
 * clicked `ReplyButton.action` back, and core finds the action of that name.
 */
export interface Action {
  /** The `ReplyButton.action` it answers (`feedback-up`, `approve-tool`, …). */
  name: string;
  run(action: InboundAction, reply: ReplyGuard, services: ActionServices): Promise<void>;
}
