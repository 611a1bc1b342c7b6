import type { WebClient } from "@slack/web-api";
import type { Logger } from "../../core/ports/logger.js";
import { summarizeSlackError } from "./summarize-slack-error.js";

export interface SlackUser {
  name: string;
  isAdmin: boolean;
}

export interface SlackUserDirectory {
  /** Display name and admin verdict of a workspace member; never throws. */
  lookup(userId: string, fallbackName?: string): Promise<SlackUser>;
}

export interface SlackUserDirectoryOptions {
  client: WebClient;
  /** `ADMIN_USER_IDS`, platform-qualified (`slack:U123`). */
  adminUserIds: readonly string[];
  logger: Logger;
  /** How long a looked-up member is remembered. Default ten minutes. */
  cacheMilliseconds?: number;
}

interface UsersInfoUser {
  name?: string;
  real_name?: string;
  is_admin?: boolean;
  is_owner?: boolean;
  is_primary_owner?: boolean;
  profile?: { display_name?: string; real_name?: string };
}

/**
 * Resolves members with `users.info` (cached, one request in flight per member). Admins are workspace
 * admins and owners plus `ADMIN_USER_IDS`; when Slack cannot be asked, only the list counts.
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
    return { name, isAdmin };
  };

  return {
    async lookup(userId, fallbackName) {
      const now = Date.now();
      const cached = cache.get(userId);
      if (cached && cached.expires > now) return cached.user;
      const user = fetchUser(userId, fallbackName);
      cache.set(userId, { expires: now + cacheMilliseconds, user });
      try {
        return await user;
      } catch (error) {
        cache.delete(userId);
        options.logger.warn(
          { ...summarizeSlackError(error), userId },
          "slack users.info failed; using the id as name",
        );
        return { name: fallbackName ?? userId, isAdmin: listed.has(`slack:${userId}`) };
      }
    },
  };
}
