import { channelOf } from "../channel-of.js";
import { hasAdminRights } from "../privileges.js";
import type { Action } from "./action.js";

function decide(approve: boolean): Action {
  return {
    name: approve ? "approve-tool" : "deny-tool",
    async run(action, reply, services) {
      if (!services.agent) {
        await reply.say("That button is not something I know how to handle any more.", "asker");
        return;
      }
      const decided = await services.agent.approvals.decide(
        action.value,
        { userId: action.userId, place: channelOf(action), isAdmin: () => hasAdminRights(action) },
        approve,
      );
      await reply.say(
        decided.message,
        decided.status === "forbidden" || decided.status === "not_found" ? "asker" : "everyone",
      );
    },
  };
}

/** Approve / Deny on a risky tool call the agent is waiting on. */
export const approvalActions: readonly Action[] = [decide(true), decide(false)];
