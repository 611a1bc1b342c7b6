import {
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  type Message,
  type MessageContextMenuCommandInteraction,
  type MessageCreateOptions,
  MessageFlags,
  type ModalSubmitInteraction,
  type SendableChannels,
} from "discord.js";
import type { Logger } from "../../core/ports/logger.js";
import type { ReplyVisibility } from "../../core/ports/reply-sink.js";
import { defaultReplyMode } from "../../core/reply-mode.js";
import type { DiscordOutgoingMessage, DiscordReplyTarget } from "./discord-reply-sink.js";
import { withoutLinkPreviews } from "./link-previews.js";

// Answers never ping @everyone, roles or users by accident; the asker is pinged by the reply itself.
const NO_MENTIONS = { parse: [] as [] };

/**
 * One outgoing message as discord.js options, with no link preview (see `link-previews.ts`): the
 * SUPPRESS_EMBEDS flag when the message has no embed of its own, otherwise its links wrapped in
 * `<…>`. The flag is always sent, also as 0, so an edit that adds the sources embed clears it.
 */
function toOptions(message: DiscordOutgoingMessage) {
  const hasEmbeds = (message.embeds?.length ?? 0) > 0;
  return {
    content: hasEmbeds ? withoutLinkPreviews(message.content) : message.content,
    ...(message.embeds ? { embeds: message.embeds } : {}),
    ...(message.components ? { components: message.components } : {}),
    ...(message.files
      ? { files: message.files.map((file) => ({ attachment: file.data, name: file.name })) }
      : {}),
    allowedMentions: NO_MENTIONS,
    // An empty list is flags 0: sent as such, it clears SUPPRESS_EMBEDS from a message being edited.
    flags: (hasEmbeds ? [] : [MessageFlags.SuppressEmbeds]) as MessageFlags.SuppressEmbeds[],
  } satisfies MessageCreateOptions;
}

export interface InteractionReplyTargetOptions {
  interaction:
    | ChatInputCommandInteraction
    | ButtonInteraction
    | MessageContextMenuCommandInteraction
    | ModalSubmitInteraction;
  /** When the interaction arrived; its token works for 15 minutes from then. */
  receivedAt: number;
  /** How long to use the interaction token before switching to plain channel messages. */
  tokenLifetimeMs: number;
  /** The channel to post in once the token has expired. */
  fallbackChannel: () => Promise<SendableChannels | undefined>;
  logger: Logger;
}

/**
 * Replies to a slash command or button: a deferred reply (ephemeral for `asker`), edits of
 * `@original`, ordered follow-ups. Work that outlives the interaction token finishes with normal
 * channel messages, since Discord rejects the token after 15 minutes.
 */
export function createInteractionReplyTarget(
  options: InteractionReplyTargetOptions,
): DiscordReplyTarget & { readonly acknowledged: boolean } {
  const { interaction, logger } = options;
  let deferredAs: ReplyVisibility | undefined;
  let visibility: ReplyVisibility = "everyone";
  // "@original" after a deferred reply; a follow-up's id when the original had to be replaced.
  let firstMessageId: string | undefined;
  let channelMessage: Message | undefined;
  // The deferral in flight: a later call (core's start racing the adapter's timer) waits for it.
  let deferral: Promise<unknown> = Promise.resolve();

  const expired = () => Date.now() - options.receivedAt >= options.tokenLifetimeMs;
  /** A follow-up's flags: the message's own, plus Ephemeral for a reply meant for the asker alone. */
  const followUpFlags = (
    outgoing: ReturnType<typeof toOptions>,
  ): ReadonlyArray<MessageFlags.SuppressEmbeds | MessageFlags.Ephemeral> =>
    visibility === "asker" ? [...outgoing.flags, MessageFlags.Ephemeral] : outgoing.flags;

  async function sendInChannel(message: DiscordOutgoingMessage, editFirst: boolean): Promise<void> {
    if (visibility === "asker") {
      // Posting an asker-only reply in the open channel would leak it; dropping it is the lesser harm.
      logger.warn(
        { interactionId: interaction.id },
        "interaction token expired; dropped an asker-only reply",
      );
      return;
    }
    if (editFirst && channelMessage) {
      await channelMessage.edit(toOptions(message));
      return;
    }
    const channel = await options.fallbackChannel();
    if (!channel) throw new Error(`cannot post in channel ${interaction.channelId} after the token expired`);
    const sent = await channel.send(toOptions(message));
    if (editFirst) channelMessage = sent;
  }

  return {
    get acknowledged() {
      return deferredAs !== undefined;
    },

    async acknowledge(wanted) {
      visibility = wanted;
      if (deferredAs === undefined) {
        deferredAs = wanted;
        firstMessageId = "@original";
        deferral = interaction.deferReply(wanted === "asker" ? { flags: MessageFlags.Ephemeral } : {});
        await deferral;
        return;
      }
      await deferral;
      if (deferredAs === "everyone" && wanted === "asker" && firstMessageId === "@original") {
        // Deferred publicly before core said the reply is for the asker only: replace the public
        // placeholder with an ephemeral follow-up.
        firstMessageId = undefined;
        await interaction.deleteReply();
      }
    },

    async writeFirst(message) {
      await deferral;
      if (expired()) return sendInChannel(message, true);
      if (firstMessageId === undefined) {
        const outgoing = toOptions(message);
        const sent = await interaction.followUp({ ...outgoing, flags: followUpFlags(outgoing) });
        firstMessageId = sent.id;
        return;
      }
      await interaction.editReply({ ...toOptions(message), message: firstMessageId });
    },

    async writeNext(message) {
      await deferral;
      if (expired()) return sendInChannel(message, false);
      const outgoing = toOptions(message);
      await interaction.followUp({ ...outgoing, flags: followUpFlags(outgoing) });
    },
  };
}

/** Where a reply to a message typed in a channel goes (`ReplyStart.placement`). */
type ReplyPlacement = "thread" | "channel";

/** Where a reply goes when core does not say: the channel's default reply mode on Discord (see `defaultReplyMode`). */
const DISCORD_DEFAULT_PLACEMENT: ReplyPlacement = defaultReplyMode("discord");

/** Discord allows thread names of 1-100 characters. */
const THREAD_NAME_LENGTH = 100;

/** A thread name from the question: its first line, shortened; `teammate` for a message without text. */
export function threadNameFor(text: string): string {
  const line = (text.split("\n").find((candidate) => candidate.trim() !== "") ?? "")
    .replace(/\s+/g, " ")
    .trim();
  const characters = [...line];
  if (characters.length === 0) return "teammate";
  return characters.length <= THREAD_NAME_LENGTH
    ? line
    : `${characters.slice(0, THREAD_NAME_LENGTH - 1).join("")}…`;
}

export interface MessageReplyTarget extends DiscordReplyTarget {
  /** Where the reply goes, as core said at `start`; before it, and when core says nothing, Discord's default. */
  place(placement: ReplyPlacement | undefined): void;
}

/**
 * Replies to a message that addressed teammate. In a thread or a DM, and with placement `channel`:
 * a reply to the message, edits of that reply, then further messages in the same channel. With
 * placement `thread` for a message typed in a channel: a thread started on the message (or the one it
 * already has), and the reply posted there. When Discord refuses the thread (no permission to create
 * threads, a channel type without threads), the reply goes in the channel instead.
 */
export function createMessageReplyTarget(
  message: Message,
  logger: Logger,
  threadName: string,
): MessageReplyTarget {
  let placement: ReplyPlacement = DISCORD_DEFAULT_PLACEMENT;
  let destination: Promise<SendableChannels | undefined> | undefined;
  let threadId: string | undefined;
  let sent: Message | undefined;
  let typing = false;

  /** The thread the reply goes in, decided once; undefined for a reply in the message's channel. */
  function thread(): Promise<SendableChannels | undefined> {
    destination ??= startThread().then((started) => {
      threadId = started?.id;
      return started;
    });
    return destination;
  }

  async function startThread(): Promise<SendableChannels | undefined> {
    if (placement !== "thread" || !message.inGuild() || message.channel.isThread()) return undefined;
    try {
      if (message.thread) return message.thread;
      return await message.startThread({ name: threadName });
    } catch (error) {
      logger.warn({ err: error }, "discord could not start a thread; answering in the channel");
      return undefined;
    }
  }

  return {
    place(wanted) {
      if (!destination) placement = wanted ?? DISCORD_DEFAULT_PLACEMENT;
    },
    shownMessages() {
      // `thread`: the reply is in a thread started on the question, not beside the question.
      return {
        asker: message.id,
        ...(sent ? { reply: sent.id } : {}),
        ...(threadId ? { thread: threadId } : {}),
      };
    },
    async acknowledge() {
      if (typing) return;
      typing = true;
      const channel = (await thread()) ?? (message.channel.isSendable() ? message.channel : undefined);
      await channel?.sendTyping().catch((error: unknown) => {
        logger.debug({ err: error }, "discord typing indicator failed");
      });
    },
    async writeFirst(outgoing) {
      if (sent) {
        await sent.edit(toOptions(outgoing));
        return;
      }
      const inThread = await thread();
      sent = inThread
        ? await inThread.send(toOptions(outgoing))
        : await message.reply({ ...toOptions(outgoing), allowedMentions: { parse: [], repliedUser: true } });
    },
    async writeNext(outgoing) {
      const channel = (await thread()) ?? (message.channel.isSendable() ? message.channel : undefined);
      if (!channel) throw new Error(`channel ${message.channelId} is not sendable`);
      await channel.send(toOptions(outgoing));
    },
  };
}
