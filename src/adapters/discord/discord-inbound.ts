import type { Message, PermissionsBitField } from "discord.js";
import type { Addressing } from "../../core/ports/assistant-handler.js";
import type { ConversationRef } from "../../core/types.js";

/**
 * A DM has no guild, so it gets a workspace of its own per person: documents indexed "workspace-wide"
 * in one person's DM, and their answers and buttons, stay theirs.
 */
function directMessageWorkspace(userId: string): string {
  return `dm-${userId}`;
}

/** The part of a discord.js channel that says where a conversation is. */
interface ChannelPlace {
  id: string;
  isThread(): boolean;
  parentId?: string | null;
}

/**
 * The conversation a message or interaction belongs to: a thread is a conversation inside its parent
 * channel; anything else is the channel itself. A DM (no guild) is in the asker's own workspace.
 */
export function conversationOf(place: {
  guildId: string | null;
  userId: string;
  channelId: string | null;
  channel: ChannelPlace | null;
}): ConversationRef {
  const workspaceId = place.guildId ?? directMessageWorkspace(place.userId);
  const channel = place.channel;
  if (channel?.isThread() && channel.parentId) {
    return { platform: "discord", workspaceId, channelId: channel.parentId, threadId: channel.id };
  }
  return { platform: "discord", workspaceId, channelId: place.channelId ?? channel?.id ?? "unknown" };
}

/** The conversation a message was typed in. */
export function messageConversation(message: Message): ConversationRef {
  return conversationOf({
    guildId: message.guildId,
    userId: message.author.id,
    channelId: message.channelId,
    channel: message.channel,
  });
}

/**
 * How a message addresses teammate, as Discord shows it: a DM is for teammate; a mention of the bot,
 * of its managed role, or an inline reply to one of its messages is a mention; any other message in
 * a thread is `none` (core decides); any other channel message is not for teammate (undefined).
 */
export function addressingOf(
  message: Message,
  botId: string,
  botRoleId: string | undefined,
): Addressing | undefined {
  if (!message.inGuild()) return "direct";
  const mentioned =
    message.mentions.users.has(botId) ||
    message.mentions.repliedUser?.id === botId ||
    (botRoleId !== undefined && message.mentions.roles.has(botRoleId)) ||
    message.mentions.roles.some((role) => role.tags?.botId === botId);
  if (mentioned) return "mention";
  return message.channel.isThread() ? "none" : undefined;
}

export function memberPermissions(message: Message): Readonly<PermissionsBitField> | undefined {
  try {
    return message.member?.permissions;
  } catch {
    // Permissions need the guild's roles in cache; without them the member is simply not an admin.
    return undefined;
  }
}

/**
 * The message without the bot's mention. Spaces left by the mention collapse; line breaks stay, so
 * a pasted list or code block reaches the model (and commands like `classify a, b: text`) intact.
 */
export function stripMentions(content: string, botId: string, botRoleId: string | undefined): string {
  let text = content.replace(new RegExp(`<@!?${botId}>`, "g"), " ");
  if (botRoleId) text = text.replace(new RegExp(`<@&${botRoleId}>`, "g"), " ");
  return text
    .replace(/[^\S\n]+/g, " ")
    .replace(/ *\n */g, "\n")
    .trim();
}
