import type { WebClient } from "@slack/web-api";
import { CoalescingWriter } from "../../core/coalescing-writer.js";
import type { Logger } from "../../core/ports/logger.js";
import type {
  ApprovalPrompt,
  ReplyFinish,
  ReplySink,
  ReplyStart,
  ReplyVisibility,
} from "../../core/ports/reply-sink.js";
import {
  approvalFallbackText,
  markdownToMrkdwn,
  renderApprovalBlocks,
  renderFinishBlocks,
  renderMrkdwnPieces,
  type SlackBlock,
  textSection,
} from "./slack-message-format.js";
import { SlackPostedReply } from "./slack-posted-reply.js";
import { SlackPrivateReply } from "./slack-private-reply.js";
import type { SlackReplyPlace, SlackReplyTarget } from "./slack-reply-place.js";
import { SlackStreamReply } from "./slack-stream-reply.js";
import { SlackThinkingIndicator } from "./slack-thinking-indicator.js";
import { findMarkdownCut, openFenceAt } from "./split-markdown.js";
import { slackErrorCode, summarizeSlackError } from "./summarize-slack-error.js";

export { type SlackReplyTarget, THINKING_REACTION } from "./slack-reply-place.js";

/**
 * Shared by every sink of one adapter: once the workspace refuses `chat.startStream`, later replies go
 * straight to `chat.postMessage` + `chat.update` instead of asking again. Reset on restart.
 */
export interface SlackStreamingPolicy {
  refused: boolean;
}

export interface SlackReplySinkOptions {
  client: WebClient;
  target: SlackReplyTarget;
  logger: Logger;
  streaming: SlackStreamingPolicy;
  fetchImpl?: typeof fetch | undefined;
  /** Least time between two edits of the same reply (`chat.update`, `chat.appendStream`). Default 1000. */
  updateIntervalMilliseconds?: number | undefined;
  /** Most Markdown characters one streamed message holds before the answer continues in a new one. */
  streamMessageLimit?: number | undefined;
}

const DEFAULT_STREAM_MESSAGE_LIMIT = 11_000;
const FENCE_CLOSE = "\n```";
const SOURCES_TEXT = "Sources and feedback";
/** Closes a partial answer whose reply failed: the stream ends visibly unfinished. */
export const INTERRUPTED_MARK = "\n\n_… (interrupted: this answer is unfinished)_";

/** `stream`: Slack's native stream. `update`: posted and edited. `buffered`: for the asker alone, sent whole. */
type Mode = "undecided" | "stream" | "update" | "buffered";

const isUnreachable = (error: unknown) => {
  const code = slackErrorCode(error);
  return code === "not_in_channel" || code === "channel_not_found";
};

/**
 * Renders one reply in Slack: decides what to say and when, and writes through one target per mode
 * ({@link SlackStreamReply}, {@link SlackPostedReply}, {@link SlackPrivateReply}). Streams where the
 * workspace allows it; when it refuses, posts and edits at most once per interval. A stream Slack
 * closed continues in a new message, long answers continue in further messages split at paragraph
 * or code-block boundaries, and replies meant for the asker alone go out privately once complete.
 * Every network call runs on one {@link CoalescingWriter}, so edits never overtake each other; text
 * edits go out at most once per interval, counted from the end of the write before.
 */
export class SlackReplySink implements ReplySink {
  private readonly place: SlackReplyPlace;
  private readonly streaming: SlackStreamingPolicy;
  private readonly streamLimit: number;
  private readonly writer: CoalescingWriter;
  private readonly indicator: SlackThinkingIndicator;
  private readonly posted: SlackPostedReply;
  private readonly privately: SlackPrivateReply;
  private readonly stream: SlackStreamReply;

  private visibility: ReplyVisibility = "everyone";
  private placement: "thread" | "channel" = "thread";
  private mode: Mode = "undecided";
  private closed = false;
  /** Every character of Markdown core has appended. */
  private received = "";
  /** Stream mode: how much of `received` Slack has accepted. */
  private streamedUpTo = 0;
  /** Update mode: where in `received` the posted-and-edited messages begin. */
  private updateFrom = 0;
  private deferredError: unknown;

  constructor(options: SlackReplySinkOptions) {
    const { target } = options;
    const interval = options.updateIntervalMilliseconds ?? 1_000;
    this.place = {
      client: options.client,
      target,
      logger: options.logger,
      // The message's own thread, or the one it opens unless core placed the reply in the channel.
      threadTs: () => target.threadTs ?? (this.placement === "thread" ? target.openThreadOn : undefined),
    };
    this.streaming = options.streaming;
    this.streamLimit = options.streamMessageLimit ?? DEFAULT_STREAM_MESSAGE_LIMIT;
    this.writer = new CoalescingWriter({
      intervalMs: interval,
      logger: options.logger,
      // A timed edit's failure: logged here, and the next `append` hands it to core.
      onUpdateError: (error) => {
        this.deferredError ??= error;
        this.place.logger.warn(summarizeSlackError(error), "slack reply update failed");
      },
    });
    this.indicator = new SlackThinkingIndicator(this.place);
    this.posted = new SlackPostedReply(this.place, this.indicator, interval);
    this.privately = new SlackPrivateReply(this.place, this.indicator, options.fetchImpl ?? fetch);
    this.stream = new SlackStreamReply(this.place, () => this.posted.deleteStatusLine());
  }

  /**
   * What this reply shows while unfinished, for `SlackNotifier.endAbandonedReply`: the asker's
   * message carrying 👀 (or the assistant thread with its status), an open stream, a status line.
   */
  shownMessages(): Record<string, string> {
    return {
      ...this.indicator.shownMessages(),
      ...this.stream.shownMessages(),
      ...this.posted.shownMessages(),
    };
  }

  /** Whether `finish` or `fail` has run, so the adapter knows the user got an answer or a sentence. */
  get isClosed(): boolean {
    return this.closed;
  }

  async start(options: ReplyStart): Promise<void> {
    this.visibility = options.visibility;
    this.placement = options.placement ?? "thread";
    await this.writer.inOrder(() => this.indicator.show());
  }

  async append(text: string): Promise<void> {
    if (this.closed || text === "") return;
    if (this.deferredError !== undefined) throw this.deferredError;
    this.received += text;
    await this.writer.updateOrSend(() => this.flush(false));
  }

  async status(line: string): Promise<void> {
    if (this.closed) return;
    await this.writer.inOrder(() => this.showStatus(line.slice(0, 150)));
  }

  /**
   * Posts the Approve / Deny request as a message of its own in the reply's thread, where the asker
   * and an admin can both click it. A status line shown so far goes first, so the answer that follows
   * the decision appears below the request. A reply meant for the asker alone, or a slash command in
   * a channel the bot cannot post in, gets the request privately (response_url or ephemeral); the
   * buttons work there too.
   */
  async requestApproval(prompt: ApprovalPrompt): Promise<void> {
    if (this.closed) return;
    const request = { text: approvalFallbackText(prompt), blocks: renderApprovalBlocks(prompt) };
    await this.writer.inOrder(async () => {
      this.decideMode();
      if (this.mode === "buffered") return this.privately.writeNext(request);
      await this.posted.deleteStatusLine();
      try {
        await this.posted.post(request);
      } catch (error) {
        if (!isUnreachable(error) || this.place.target.responseUrl === undefined) throw error;
        await this.privately.writeNext(request);
      }
    });
  }

  async finish(result: ReplyFinish): Promise<void> {
    if (this.closed) return;
    this.writer.close();
    await this.writer.inOrder(async () => {
      // A reply for the asker alone is sent whole, not edited: it need not wait for an edit's slot.
      if (this.mode !== "buffered" && this.received.length > 0) await this.writer.waitForSlot();
      await this.flush(true, renderFinishBlocks(result));
    });
    await this.close();
  }

  async fail(message: string): Promise<void> {
    if (this.closed) return;
    this.writer.close();
    // A partial answer is marked as cut, so it is never read as a finished one.
    if (this.received.trim() !== "") this.received += INTERRUPTED_MARK;
    await this.writer.inOrder(async () => {
      // Whatever answer text already arrived is shown first; then the sentence, always.
      this.decideMode();
      try {
        if (this.mode !== "buffered" && this.deferredError === undefined) await this.flush(true, []);
      } catch (error) {
        this.place.logger.warn(summarizeSlackError(error), "slack reply could not show the partial answer");
      }
      await this.deliverSentence(message);
    });
    await this.close();
  }

  private async close(): Promise<void> {
    this.closed = true;
    await this.writer.inOrder(async () => {
      await this.indicator.clear();
      await this.posted.deleteStatusLine();
    });
  }

  private decideMode(): void {
    if (this.mode !== "undecided") return;
    if (this.visibility === "asker" && !this.place.target.isDirectMessage) this.mode = "buffered";
    else if (!this.streaming.refused && this.place.threadTs() !== undefined) this.mode = "stream";
    else this.mode = "update";
  }

  private async flush(final: boolean, finishBlocks?: SlackBlock[]): Promise<void> {
    this.decideMode();
    const before = this.mode;
    this.writer.markWritten();
    if (this.mode === "stream") await this.flushStream(final, finishBlocks);
    // A refused stream hands over to posting: the interval counts from that first post.
    if (before === "stream" && this.mode === "update") this.writer.markWritten();
    if (this.mode === "update") await this.flushUpdate(final, finishBlocks);
    if (this.mode === "buffered" && final && finishBlocks !== undefined)
      await this.deliverBuffered(finishBlocks);
  }

  // ---- streaming ----

  private async flushStream(final: boolean, finishBlocks?: SlackBlock[]): Promise<void> {
    // Mid-answer, a trailing half word waits for the next flush, so a message never ends inside a word.
    let available = this.received.length;
    if (!final) {
      const boundary = Math.max(this.received.lastIndexOf(" "), this.received.lastIndexOf("\n")) + 1;
      if (boundary > this.streamedUpTo) available = boundary;
      else if (available - this.streamedUpTo < 200) return;
    }
    while (this.mode === "stream" && !this.stream.stoppedByUser && this.streamedUpTo < available) {
      const sent = this.stream.sent;
      const pending = this.received.slice(this.streamedUpTo, available);
      if (sent.length + pending.length <= this.streamLimit) {
        if (!(await this.sendToStream(pending))) return;
        this.streamedUpTo += pending.length;
        continue;
      }
      // The message is full: fill it up to a paragraph boundary, close it, continue in a new one.
      const whole = sent + pending;
      const cut = Math.max(
        findMarkdownCut(whole, Math.max(sent.length, Math.floor(this.streamLimit / 2)), this.streamLimit - 4),
        sent.length,
      );
      const fence = openFenceAt(whole, cut);
      const piece = whole.slice(sent.length, cut);
      if (piece.trim() !== "" || fence !== undefined) {
        if (!(await this.sendToStream(fence === undefined ? piece : `${piece}${FENCE_CLOSE}`))) return;
      }
      this.streamedUpTo += piece.length;
      await this.stopStream([]);
      // Skip the line breaks at the cut; reopen the code block the cut fell in.
      const skipped = /^\n*/.exec(this.received.slice(this.streamedUpTo))?.[0].length ?? 0;
      this.streamedUpTo += skipped;
      if (fence !== undefined) this.stream.openNextWith(`${fence}\n`);
    }
    if (this.mode === "stream" && final) await this.stopStream(finishBlocks ?? []);
  }

  /** Sends Markdown to the stream; false when the reply left stream mode (refused, or stopped by the asker). */
  private async sendToStream(markdown: string): Promise<boolean> {
    const outcome = await this.stream.send(markdown);
    if (outcome === "sent") return true;
    if (outcome === "refused") {
      if (this.streamedUpTo === 0) this.streaming.refused = true;
      this.mode = "update";
      this.updateFrom = this.streamedUpTo;
    }
    return false;
  }

  private async stopStream(blocks: SlackBlock[]): Promise<void> {
    if (await this.stream.stop(blocks)) return;
    // No open stream to carry the sources and buttons: they get a message of their own.
    if (blocks.length > 0) await this.posted.post({ text: SOURCES_TEXT, blocks });
  }

  // ---- post and edit ----

  private async flushUpdate(final: boolean, finishBlocks?: SlackBlock[]): Promise<void> {
    const pieces = renderMrkdwnPieces(this.received.slice(this.updateFrom));
    const extraBlocks = final ? (finishBlocks ?? []) : [];
    if (pieces.length === 0) {
      if (extraBlocks.length > 0) await this.posted.post({ text: SOURCES_TEXT, blocks: extraBlocks });
      return;
    }
    for (const [index, piece] of pieces.entries()) {
      const isLast = index === pieces.length - 1;
      const blocks = isLast && extraBlocks.length > 0 ? [textSection(piece, 0), ...extraBlocks] : undefined;
      const isFirstPost = this.posted.count === 0 && !this.posted.hasStatusLine;
      try {
        await this.posted.writeAt(index, { text: piece, blocks });
      } catch (error) {
        // A slash command in a channel the bot is not in: the answer goes through its response_url.
        if (!isFirstPost || !isUnreachable(error) || this.place.target.responseUrl === undefined) throw error;
        this.mode = "buffered";
        this.privately.responseType = "in_channel";
        return;
      }
    }
  }

  // ---- replies for the asker alone, and the closing sentence ----

  private async deliverBuffered(finishBlocks: SlackBlock[]): Promise<void> {
    const pieces = renderMrkdwnPieces(this.received);
    if (pieces.length === 0 && finishBlocks.length === 0) return;
    if (pieces.length === 0) pieces.push(SOURCES_TEXT);
    for (const [index, piece] of pieces.entries()) {
      const isLast = index === pieces.length - 1;
      await this.privately.writeNext({
        text: piece,
        blocks: isLast && finishBlocks.length > 0 ? [textSection(piece, 0), ...finishBlocks] : undefined,
      });
    }
  }

  private async deliverSentence(message: string): Promise<void> {
    const text = markdownToMrkdwn(message) || message;
    if (this.mode === "buffered") {
      for (const piece of renderMrkdwnPieces(this.received)) await this.privately.writeNext({ text: piece });
      await this.privately.writeNext({ text });
      return;
    }
    if (this.visibility === "asker" && !this.place.target.isDirectMessage) {
      await this.privately.writeNext({ text });
      return;
    }
    try {
      await this.posted.post({ text });
    } catch (error) {
      if (this.place.target.responseUrl === undefined) throw error;
      this.privately.responseType = "in_channel";
      await this.privately.writeNext({ text });
    }
  }

  /** A status line: the assistant thread's status, else a small message until the answer begins. */
  private async showStatus(line: string): Promise<void> {
    if (await this.indicator.showStatus(line)) return;
    this.decideMode();
    const answerStarted = this.stream.isOpen || this.posted.count > 0 || this.streamedUpTo > 0;
    if (this.mode === "buffered" || answerStarted) return;
    await this.posted.showStatusLine(line);
  }
}
