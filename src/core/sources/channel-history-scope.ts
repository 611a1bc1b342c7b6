import { AppError } from "../errors.js";
import type { DocumentScope } from "../ports/vector-store.js";
import type { Platform } from "../types.js";

/** What a platform says about a conversation whose history would be indexed. */
export interface ChannelFacts {
  platform: Platform;
  workspaceId: string;
  channelId: string;
  /** Shown in sentences: `#general`. */
  name: string;
  /**
   * `public`: every member of the workspace may open it. `private`: a private channel (Slack
   * `is_private`, a Discord channel hidden from @everyone). `direct`: a DM or group DM.
   */
  visibility: "public" | "private" | "direct";
  /** Whether the bot was invited (Slack `is_member`; Discord: the bot can view and read its history). */
  botIsMember: boolean;
}

const inviteSentence = (facts: ChannelFacts) =>
  facts.platform === "slack"
    ? `I'm not in ${facts.name}, so I can't read its history. Invite me there (\`/invite @teammate\`) and ask again.`
    : `I can't read ${facts.name}: give my role View Channel and Read Message History there, then ask again.`;

/**
 * The privacy rule for channel history, in one place for every platform: a channel's threads are
 * visible only in that channel, unless the channel is public and an admin asked for `--workspace`;
 * private channels and DMs never leave their own scope, whatever was asked; and the bot reads only
 * conversations it was invited to. Refusals are `AppError`s of category `user` whose sentence goes
 * to chat as it is.
 */
export function channelHistoryScope(facts: ChannelFacts, workspaceWide: boolean): DocumentScope {
  if (!facts.botIsMember) {
    throw new AppError("fetch_refused", `not a member of ${facts.platform} channel ${facts.channelId}`, {
      category: "user",
      userMessage: inviteSentence(facts),
    });
  }
  if (workspaceWide && facts.visibility !== "public") {
    const what = facts.visibility === "direct" ? "a direct message" : "a private channel";
    throw new AppError("command_forbidden", `--workspace refused for ${facts.visibility} channel`, {
      category: "user",
      userMessage: `${facts.name} is ${what}, so its history stays in it: I can index it for that conversation only. Ask again without \`--workspace\`.`,
    });
  }
  return {
    platform: facts.platform,
    workspaceId: facts.workspaceId,
    ...(workspaceWide ? {} : { channelId: facts.channelId }),
  };
}

/**
 * The same rule at every sync, against the scope the source was created with: the bot must still be
 * in the channel (otherwise the sync fails and says so), and a workspace-wide source must still be a
 * public channel. `withdraw` means the channel stopped being public: what was shared must go, so the
 * connector lists nothing and every stored thread is removed.
 */
export function recheckChannelHistoryScope(facts: ChannelFacts, scope: DocumentScope): "keep" | "withdraw" {
  if (scope.platform !== facts.platform || scope.workspaceId !== facts.workspaceId) {
    throw new AppError("command_forbidden", "channel source outside its workspace", {
      category: "user",
      userMessage: `${facts.name} belongs to another workspace than this source.`,
    });
  }
  if (!facts.botIsMember) {
    throw new AppError(
      "fetch_refused",
      `no longer a member of ${facts.platform} channel ${facts.channelId}`,
      {
        category: "user",
        userMessage: inviteSentence(facts),
      },
    );
  }
  if (scope.channelId === undefined) return facts.visibility === "public" ? "keep" : "withdraw";
  // A channel-scoped source holds one channel's threads, visible in that channel only.
  return scope.channelId === facts.channelId ? "keep" : "withdraw";
}
