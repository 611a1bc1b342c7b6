import type { ChannelRef } from "./types.js";

/**
 * The channel part of a message, thread or answer reference. Notes, settings, feedback and
 * retrieval scopes are per channel, so this strips the thread (and anything else) off.
 */
export function channelOf(reference: ChannelRef): ChannelRef {
  return { platform: reference.platform, workspaceId: reference.workspaceId, channelId: reference.channelId };
}
