import type { Notifier, PostedMessage, PostOptions } from "../../src/core/ports/notifier.js";
import type { ConversationRef } from "../../src/core/types.js";

export interface RecordedWrite {
  kind: "post" | "edit";
  messageId: string;
  /** Who a post pings (`PostOptions.notify`). */
  notify?: string | undefined;
  text: string;
  at: number;
}

/** A Notifier that keeps every post and edit in memory, for core tests. */
export class RecordingNotifier implements Notifier {
  readonly writes: RecordedWrite[] = [];
  readonly texts = new Map<string, string>();
  private counter = 0;

  async post(where: ConversationRef, text: string, options: PostOptions = {}): Promise<PostedMessage> {
    this.counter += 1;
    const messageId = `m${this.counter}`;
    this.writes.push({ kind: "post", messageId, text, at: Date.now(), notify: options.notify });
    this.texts.set(messageId, text);
    return { ...where, messageId };
  }

  async edit(message: PostedMessage, text: string): Promise<void> {
    this.writes.push({ kind: "edit", messageId: message.messageId, text, at: Date.now() });
    this.texts.set(message.messageId, text);
  }

  /** Writes to one message, oldest first. */
  writesTo(messageId: string): RecordedWrite[] {
    return this.writes.filter((write) => write.messageId === messageId);
  }

  /** What the channel shows now, message by message. */
  shown(): string[] {
    return [...this.texts.values()];
  }
}

/** The smallest gap between consecutive writes to one message. */
export function smallestGap(writes: ReadonlyArray<{ at: number }>): number {
  let smallest = Number.POSITIVE_INFINITY;
  for (let index = 1; index < writes.length; index += 1) {
    smallest = Math.min(smallest, (writes[index]?.at ?? 0) - (writes[index - 1]?.at ?? 0));
  }
  return smallest;
}
