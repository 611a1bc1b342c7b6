import type { Actor } from "../../core/types.js";
import type { SlackActorHints } from "./slack-event-parser.js";
import type { SlackUser, SlackUserDirectory } from "./slack-user-directory.js";

/** What the acting member is, as the adapter works it out (name, admin verdicts, organisation). */
export type SlackActor = Actor & { isExternal: boolean };

/** Names the acting member of an event, command or click in the workspace it was delivered for. */
export type SlackActorResolver = (
  userId: string,
  workspaceId: string,
  hints: SlackActorHints,
) => Promise<SlackActor>;

/**
 * Whether a member belongs to another organisation (a Slack Connect guest in a shared channel):
 * Slack says so (`is_stranger`), or their home team differs from the workspace the event came
 * from and no Enterprise Grid organisation joins the two.
 */
function isExternalMember(member: SlackUser, workspaceId: string, hints: SlackActorHints): boolean {
  if (member.isStranger) return true;
  const homes = [hints.userTeam, member.teamId].filter((team): team is string => team !== undefined);
  if (homes.every((team) => team === workspaceId)) return false;
  return !(member.enterpriseId !== undefined && member.enterpriseId === hints.enterpriseId);
}

/** What core needs to know about an acting member: name, admin verdict now and later, organisation. */
export function createSlackActorResolver(users: SlackUserDirectory): SlackActorResolver {
  return async (userId, workspaceId, hints) => {
    const member = await users.lookup(userId, hints.fallbackName);
    const isExternal = isExternalMember(member, workspaceId, hints);
    return {
      userId,
      userName: member.name,
      // A guest from another organisation is never an admin here, whatever they are at home.
      isAdmin: member.isAdmin && !isExternal,
      isAdminNow: async () => !isExternal && (await users.isAdminNow(userId)),
      isExternal,
    };
  };
}
