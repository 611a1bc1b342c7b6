import type { WebClient } from "@slack/web-api";
import type { Logger } from "../../core/ports/logger.js";
import { summarizeSlackError } from "./summarize-slack-error.js";

export interface SlackUser {
  name: string;
  /** Workspace admin or owner at home, or listed in ADMIN_USER_IDS (whether that counts here is the adapter's call). */
  isAdmin: boolean;
  /** The member's home workspace (`users.info` `team_id`); another organisation's for a Slack Connect guest. */
  teamId?: string | undefined;
  /** The member's Enterprise Grid organisation, when they belong to one. */
  enterpriseId?: string | undefined;
  /** Slack's flag for a member of another organisation whose profile is restricted. */
  isStranger: boolean;
}

export interface SlackUserDirectory {
  /** Display name, home team and admin verdict of a member, from a short cache; never throws. */
  lookup(userId: string, fallbackName?: string): Promise<SlackUser>;
  /**
   * The admin verdict asked of Slack now, bypassing the cache (and refreshing it): what privileges
   * are checked with. When Slack cannot be asked, only ADMIN_USER_IDS counts.
   */
  isAdminNow(userId: string): Promise<boolean>;
}

export interface SlackUserDirectoryOptions {
  client: WebClient;
  /** `ADMIN_USER_IDS`, platform-qualified (`slack:U123`). */
  adminUserIds: readonly string[];
  logger: Logger;
  /** How long a looked-up member is remembered for names. Default ten minutes. */
  cacheMilliseconds?: number;
}

interface UsersInfoUser {
  name?: string;
  real_name?: string;
  team_id?: string;
  is_admin?: boolean;
  is_owner?: boolean;
  is_primary_owner?: boolean;
  is_stranger?: boolean;
  enterprise_user?: { enterprise_id?: string };
  profile?: { display_name?: string; real_name?: string };
}

/**
 * Resolves members with `users.info` (cached for names, one request in flight per member). Admins are
 * workspace admins and owners plus `ADMIN_USER_IDS`; when Slack cannot be asked, only the list counts.
 */
export function createSlackUserDirectory(options: SlackUserDirectoryOptions): SlackUserDirectory {
  const cacheMilliseconds = options.cacheMilliseconds ?? 10 * 60 * 1000;
  const listed = new Set(options.adminUserIds);
  const cache = new Map<string, { expires: number; user: Promise<SlackUser> }>();

  const fetchUser = async (userId: string, fallbackName: string | undefined): Promise<SlackUser> => {
    const response = await options.client.users.info({ user: userId });
    const user = (response.user ?? {}) as UsersInfoUser;
    const name =
      user.profile?.display_name ||
      user.profile?.real_name ||
      user.real_name ||
      user.name ||
      fallbackName ||
      userId;
    const isAdmin =
      user.is_admin === true ||
      user.is_owner === true ||
      user.is_primary_owner === true ||
      listed.has(`slack:${userId}`);
    return {
      name,
      isAdmin,
      teamId: user.team_id,
      enterpriseId: user.enterprise_user?.enterprise_id,
      isStranger: user.is_stranger === true,
    };
  };

  const remember = (userId: string, user: Promise<SlackUser>) => {
    cache.set(userId, { expires: Date.now() + cacheMilliseconds, user });
    // A failed lookup is not remembered (the caller reports it); a newer one may have replaced it.
    void user.catch(() => {
      if (cache.get(userId)?.user === user) cache.delete(userId);
    });
  };

  return {
    async lookup(userId, fallbackName) {
      const cached = cache.get(userId);
      if (cached && cached.expires > Date.now()) {
        try {
          return await cached.user;
        } catch {
          // Fall through to a fresh request below.
        }
      }
      const user = fetchUser(userId, fallbackName);
      remember(userId, user);
      try {
        return await user;
      } catch (error) {
        options.logger.warn(
          { ...summarizeSlackError(error), userId },
          "slack users.info failed; using the id as name",
        );
        return { name: fallbackName ?? userId, isAdmin: listed.has(`slack:${userId}`), isStranger: false };
      }
    },

    async isAdminNow(userId) {
      const user = fetchUser(userId, undefined);
      remember(userId, user);
      try {
        const fresh = await user;
        return fresh.isAdmin && !fresh.isStranger;
      } catch (error) {
        options.logger.warn(
          { ...summarizeSlackError(error), userId },
          "slack users.info failed; only ADMIN_USER_IDS count as admins",
        );
        return listed.has(`slack:${userId}`);
      }
    },
  };
}
