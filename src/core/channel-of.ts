import type { ChannelRef, ConversationRef } from "./types.js";

/**
 * The channel part of a message, thread or answer reference. Notes, settings, feedback and
 * retrieval scopes are per channel, so this strips the thread (and anything else) off.
 */
export function channelOf(reference: ChannelRef): ChannelRef {
  return { platform: reference.platform, workspaceId: reference.workspaceId, channelId: reference.channelId };
}

/**
 * The conversation part of a message: its channel and thread. Written out rather than as
 * `{ ...channelOf(message), threadId }`: on Node 20 an object spread followed by a property the
 * source lacks gets a hidden class of its own every time, so every read of such a reference (the
 * memory store reads one per message) misses V8's inline caches.
 */
export function conversationOf(reference: ConversationRef): ConversationRef {
  return {
    platform: reference.platform,
    workspaceId: reference.workspaceId,
    channelId: reference.channelId,
    threadId: reference.threadId,
  };
}
