import type { Logger } from "../ports/logger.js";
import type { Notifier, PostedMessage } from "../ports/notifier.js";
import type { ConversationRef } from "../types.js";

/**
 * A Notifier for the local terminal platform, where a worker has no chat to write into: status lines
 * go to the log instead, so progress is still visible.
 */
export function createLogNotifier(logger: Logger): Notifier {
  let counter = 0;
  return {
    async post(where: ConversationRef, text: string): Promise<PostedMessage> {
      counter += 1;
      const message = { ...where, messageId: `log-${counter}` };
      logger.info({ messageId: message.messageId, status: text }, "job status");
      return message;
    },
    async edit(message: PostedMessage, text: string): Promise<void> {
      logger.info({ messageId: message.messageId, status: text }, "job status");
    },
  };
}
