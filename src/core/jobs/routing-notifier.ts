import { AppError } from "../errors.js";
import { safeOutgoingText } from "../outgoing-text.js";
import type { OpenWork } from "../ports/memory-store.js";
import type { Notifier, PostedMessage, PostOptions } from "../ports/notifier.js";
import type { ChannelRef, ConversationRef, Platform } from "../types.js";

/**
 * One Notifier over every configured platform: a message goes to the notifier of its platform.
 * A platform without one is a configuration problem, reported as such rather than dropped. Status
 * lines are chat messages like any other: secrets redacted, mentions neutralised on the way out.
 */
export function createRoutingNotifier(
  byPlatform: Partial<Record<Platform, Notifier>>,
  secrets: readonly string[] = [],
): Notifier {
  const pick = (platform: Platform): Notifier => {
    const notifier = byPlatform[platform];
    if (!notifier) {
      throw new AppError("config_invalid", `no notifier is configured for ${platform}`, {
        userMessage: `I can't post progress on ${platform}: its bot token is not configured for the worker.`,
      });
    }
    return notifier;
  };
  return {
    post: (where: ConversationRef, text: string, options?: PostOptions) =>
      pick(where.platform).post(where, safeOutgoingText(text, secrets), options),
    edit: (message: PostedMessage, text: string) =>
      pick(message.platform).edit(message, safeOutgoingText(text, secrets)),
    async endAbandonedReply(reply: OpenWork, sentence: string): Promise<void> {
      const notifier = pick(reply.where.platform);
      const safe = safeOutgoingText(sentence, secrets);
      if (notifier.endAbandonedReply) await notifier.endAbandonedReply(reply, safe);
      else await notifier.post(reply.where, safe, { notify: reply.askerId });
    },
    async verifyChannel(channel: ChannelRef): Promise<boolean> {
      const notifier = pick(channel.platform);
      return notifier.verifyChannel ? notifier.verifyChannel(channel) : true;
    },
  };
}
