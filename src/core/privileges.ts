import type { Actor } from "./types.js";

/**
 * Whether `actor` holds admin rights right now: never for a member of another organisation, and
 * otherwise the platform's fresh verdict where it offers one. Core calls this where a privilege is
 * used, not the cached `isAdmin`.
 */
export async function hasAdminRights(actor: Actor): Promise<boolean> {
  if (actor.isExternal === true) return false;
  if (actor.isAdminNow) return actor.isAdminNow();
  return actor.isAdmin;
}
