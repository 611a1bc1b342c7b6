import type { ChatStopStreamArguments, WebClient } from "@slack/web-api";
import type { Logger } from "../../core/ports/logger.js";
import type {
  ApprovalPrompt,
  ReplyFinish,
  ReplySink,
  ReplyStart,
  ReplyVisibility,
} from "../../core/types.js";
import {
  approvalFallbackText,
  markdownToMrkdwn,
  renderApprovalBlocks,
  renderFinishBlocks,
  renderMrkdwnPieces,
  type SlackBlock,
  textSection,
} from "./slack-message-format.js";
import { findMarkdownCut, openFenceAt } from "./split-markdown.js";
import { slackErrorCode, summarizeSlackError } from "./summarize-slack-error.js";

/** Where a reply goes and who asked. */
export interface SlackReplyTarget {
  channel: string;
  /** Thread root to reply under; absent for the top level (a DM outside threads, a slash command). */
  threadTs?: string | undefined;
  /**
   * A message typed in a channel: its ts. The reply opens a thread on it, unless core places the
   * reply in the channel (`start({ placement: "channel" })`).
   */
  openThreadOn?: string | undefined;
  /** Who asked: the receiver of ephemeral replies and of streamed ones outside DMs. */
  userId: string;
  teamId: string;
  isDirectMessage: boolean;
  /** The asker's message, which carries the :eyes: "thinking" reaction. */
  messageTs?: string | undefined;
  /** An assistant thread (DM thread), where `assistant.threads.setStatus` shows "is thinking…". */
  isAssistantThread: boolean;
  /** A slash command's or button click's `response_url`, the conventional way to answer them privately. */
  responseUrl?: string | undefined;
}

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

/** Slack keeps at most five uses of a `response_url` (secondary sources; NOTES.md §4). */
const RESPONSE_URL_USES = 5;
const DEFAULT_STREAM_MESSAGE_LIMIT = 11_000;
export const THINKING_REACTION = "eyes";
const FENCE_CLOSE = "\n```";
/** Closes a partial answer whose reply failed: the stream ends visibly unfinished. */
export const INTERRUPTED_MARK = "\n\n_… (interrupted: this answer is unfinished)_";

type Mode = "undecided" | "stream" | "update" | "buffered";

const sleep = (milliseconds: number) => new Promise<void>((resolve) => setTimeout(resolve, milliseconds));

/**
 * Renders one reply in Slack. Streams with `chat.startStream`/`appendStream`/`stopStream` where the
 * workspace allows it; when it refuses, posts and edits with `chat.postMessage` + `chat.update` at
 * most once per interval. A stream Slack closed (after about five minutes) continues in a new
 * message, long answers continue in further messages split at paragraph or code-block boundaries,
 * and replies meant for the asker alone go out as ephemeral messages once complete. Every network
 * call runs on one queue, so edits never overtake each other.
 */
export class SlackReplySink implements ReplySink {
  private readonly client: WebClient;
  private readonly target: SlackReplyTarget;
  private readonly logger: Logger;
  private readonly streaming: SlackStreamingPolicy;
  private readonly fetchImpl: typeof fetch;
  private readonly interval: number;
  private readonly streamLimit: number;

  private visibility: ReplyVisibility = "everyone";
  private placement: "thread" | "channel" = "thread";
  private mode: Mode = "undecided";
  private closed = false;
  /** Every character of Markdown core has appended. */
  private received = "";
  /** Stream mode: how much of `received` Slack has accepted. */
  private streamedUpTo = 0;
  private stream: { ts: string; sent: string } | undefined;
  private stoppedByUser = false;
  /** Update mode: where in `received` the posted-and-edited messages begin. */
  private updateFrom = 0;
  private readonly updateMessages: Array<{ ts: string; shown: string }> = [];
  private bufferedResponseType: "ephemeral" | "in_channel" = "ephemeral";
  private responseUrlUses = 0;
  private statusMessageTs: string | undefined;
  private lastStatusAt = 0;
  private indicator: "reaction" | "status" | undefined;
  private lastFlushAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private queue: Promise<void> = Promise.resolve();
  private deferredError: unknown;

  constructor(options: SlackReplySinkOptions) {
    this.client = options.client;
    this.target = options.target;
    this.logger = options.logger;
    this.streaming = options.streaming;
    this.fetchImpl = options.fetchImpl ?? fetch;
    this.interval = options.updateIntervalMilliseconds ?? 1_000;
    this.streamLimit = options.streamMessageLimit ?? DEFAULT_STREAM_MESSAGE_LIMIT;
  }

  /**
   * What this reply shows while unfinished, for `SlackNotifier.endAbandonedReply`: the asker's
   * message carrying 👀 (or the assistant thread with its status), an open stream, a status line.
   */
  shownMessages(): Record<string, string> {
    const shown: Record<string, string> = {};
    if (this.indicator === "reaction" && this.target.messageTs !== undefined)
      shown.reaction = this.target.messageTs;
    if (this.indicator === "status" && this.threadTs !== undefined) shown.assistantStatus = this.threadTs;
    if (this.stream && this.stream.ts !== "") shown.stream = this.stream.ts;
    if (this.statusMessageTs !== undefined) shown.status = this.statusMessageTs;
    return shown;
  }

  /** Whether `finish` or `fail` has run, so the adapter knows the user got an answer or a sentence. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** The thread the reply goes in: the message's own, or the one it opens unless placed in the channel. */
  private get threadTs(): string | undefined {
    return this.target.threadTs ?? (this.placement === "thread" ? this.target.openThreadOn : undefined);
  }

  async start(options: ReplyStart): Promise<void> {
    this.visibility = options.visibility;
    this.placement = options.placement ?? "thread";
    await this.enqueue(() => this.showThinking());
  }

  async append(text: string): Promise<void> {
    if (this.closed || text === "") return;
    if (this.deferredError !== undefined) throw this.deferredError;
    this.received += text;
    const wait = this.lastFlushAt + this.interval - Date.now();
    if (wait <= 0) {
      this.clearTimer();
      await this.enqueue(() => this.flush(false));
      return;
    }
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.enqueue(() => this.flush(false)).catch((error: unknown) => {
        this.deferredError ??= error;
        this.logger.warn(summarizeSlackError(error), "slack reply update failed");
      });
    }, wait);
  }

  async status(line: string): Promise<void> {
    if (this.closed) return;
    await this.enqueue(() => this.showStatus(line));
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
    const text = approvalFallbackText(prompt);
    const blocks = renderApprovalBlocks(prompt);
    await this.enqueue(async () => {
      this.decideMode();
      if (this.mode === "buffered") {
        await this.deliverPrivately(text, blocks);
        return;
      }
      await this.deleteStatusMessage();
      try {
        await this.postMessage(text, blocks);
      } catch (error) {
        const code = slackErrorCode(error);
        const unreachable = code === "not_in_channel" || code === "channel_not_found";
        if (!unreachable || this.target.responseUrl === undefined) throw error;
        await this.deliverPrivately(text, blocks);
      }
    });
  }

  async finish(result: ReplyFinish): Promise<void> {
    if (this.closed) return;
    this.clearTimer();
    await this.enqueue(async () => {
      await this.waitForInterval();
      await this.flush(true, renderFinishBlocks(result));
    });
    await this.close();
  }

  async fail(message: string): Promise<void> {
    if (this.closed) return;
    this.clearTimer();
    // A partial answer is marked as cut, so it is never read as a finished one.
    if (this.received.trim() !== "") this.received += INTERRUPTED_MARK;
    await this.enqueue(async () => {
      // Whatever answer text already arrived is shown first; then the sentence, always.
      this.decideMode();
      try {
        if (this.mode !== "buffered" && this.deferredError === undefined) await this.flush(true, []);
      } catch (error) {
        this.logger.warn(summarizeSlackError(error), "slack reply could not show the partial answer");
      }
      await this.deliverSentence(message);
    });
    await this.close();
  }

  // ---- queue and timing ----

  private enqueue(work: () => Promise<void>): Promise<void> {
    const run = this.queue.then(work);
    this.queue = run.catch(() => {});
    return run;
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async waitForInterval(): Promise<void> {
    const wait = this.lastFlushAt + this.interval - Date.now();
    if (wait > 0 && this.mode !== "buffered" && this.received.length > 0) await sleep(wait);
  }

  private async close(): Promise<void> {
    this.closed = true;
    await this.enqueue(() => this.clearThinking());
  }

  private decideMode(): void {
    if (this.mode !== "undecided") return;
    if (this.visibility === "asker" && !this.target.isDirectMessage) this.mode = "buffered";
    else if (!this.streaming.refused && this.threadTs !== undefined) this.mode = "stream";
    else this.mode = "update";
  }

  private async flush(final: boolean, finishBlocks?: SlackBlock[]): Promise<void> {
    this.decideMode();
    this.lastFlushAt = Date.now();
    if (this.mode === "stream") await this.flushStream(final, finishBlocks);
    // A refused or broken stream hands over to update mode inside flushStream.
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
    while (this.mode === "stream" && !this.stoppedByUser && this.streamedUpTo < available) {
      const sent = this.stream?.sent ?? "";
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
      if (fence !== undefined) this.stream = { ts: "", sent: `${fence}\n` };
    }
    if (this.mode === "stream" && final) await this.stopStream(finishBlocks ?? []);
  }

  /** Sends Markdown to the open stream, or opens one. False when the reply left stream mode. */
  private async sendToStream(markdown: string): Promise<boolean> {
    let current = this.stream;
    if (current && current.ts !== "") {
      try {
        await this.client.chat.appendStream({
          channel: this.target.channel,
          ts: current.ts,
          markdown_text: markdown,
        });
        current.sent += markdown;
        return true;
      } catch (error) {
        const code = slackErrorCode(error);
        if (code === "stopped_by_user") {
          this.stoppedByUser = true;
          return false;
        }
        // Slack closed the stream (about five minutes) or lost it: continue in a new message.
        this.logger.info(
          { code, channel: this.target.channel },
          "slack stream closed; continuing in a new message",
        );
        const reopen = openFenceAt(current.sent, current.sent.length);
        current = reopen === undefined ? undefined : { ts: "", sent: `${reopen}\n` };
        this.stream = current;
      }
    }
    const opening = `${current?.sent ?? ""}${markdown}`;
    try {
      await this.deleteStatusMessage();
      const response = await this.client.chat.startStream({
        channel: this.target.channel,
        thread_ts: this.threadTs ?? "",
        markdown_text: opening,
        ...(this.target.isDirectMessage
          ? {}
          : { recipient_user_id: this.target.userId, recipient_team_id: this.target.teamId }),
      });
      if (typeof response.ts !== "string") throw new Error("chat.startStream returned no ts");
      this.stream = { ts: response.ts, sent: opening };
      return true;
    } catch (error) {
      const code = slackErrorCode(error);
      if (this.streamedUpTo === 0) this.streaming.refused = true;
      this.logger.info(
        { code, channel: this.target.channel },
        "slack streaming refused; posting and editing instead",
      );
      this.stream = undefined;
      this.mode = "update";
      this.updateFrom = this.streamedUpTo;
      return false;
    }
  }

  private async stopStream(blocks: SlackBlock[]): Promise<void> {
    const current = this.stream;
    this.stream = undefined;
    if (current && current.ts !== "") {
      try {
        await this.client.chat.stopStream({
          channel: this.target.channel,
          ts: current.ts,
          ...(blocks.length > 0
            ? { blocks: blocks as unknown as NonNullable<ChatStopStreamArguments["blocks"]> }
            : {}),
        });
        return;
      } catch (error) {
        this.logger.info({ code: slackErrorCode(error) }, "slack stream was already closed");
      }
    }
    // No open stream to carry the sources and buttons: they get a message of their own.
    if (blocks.length > 0) await this.postMessage("Sources and feedback", blocks);
  }

  // ---- post and edit ----

  private async flushUpdate(final: boolean, finishBlocks?: SlackBlock[]): Promise<void> {
    const markdown = this.received.slice(this.updateFrom);
    const pieces = renderMrkdwnPieces(markdown);
    const extraBlocks = final ? (finishBlocks ?? []) : [];
    if (pieces.length === 0) {
      if (extraBlocks.length > 0) await this.postMessage("Sources and feedback", extraBlocks);
      return;
    }
    if (this.updateMessages.length === 0 && this.statusMessageTs !== undefined) {
      // The status line's message becomes the first piece of the answer.
      this.updateMessages.push({ ts: this.statusMessageTs, shown: "" });
      this.statusMessageTs = undefined;
    }
    for (const [index, piece] of pieces.entries()) {
      const isLast = index === pieces.length - 1;
      const blocks = isLast && extraBlocks.length > 0 ? [textSection(piece, 0), ...extraBlocks] : undefined;
      const existing = this.updateMessages[index];
      if (existing) {
        if (existing.shown === piece && blocks === undefined) continue;
        await this.client.chat.update({
          channel: this.target.channel,
          ts: existing.ts,
          text: piece,
          ...(blocks ? { blocks } : {}),
        });
        existing.shown = piece;
      } else {
        const ts = await this.postFirstOrNext(piece, blocks);
        if (ts === undefined) return;
        this.updateMessages.push({ ts, shown: piece });
      }
    }
  }

  /** Posts a piece; a slash command in a channel the bot is not in falls back to its `response_url`. */
  private async postFirstOrNext(text: string, blocks: SlackBlock[] | undefined): Promise<string | undefined> {
    try {
      return await this.postMessage(text, blocks);
    } catch (error) {
      const code = slackErrorCode(error);
      const unreachable = code === "not_in_channel" || code === "channel_not_found";
      if (this.updateMessages.length > 0 || !unreachable || this.target.responseUrl === undefined)
        throw error;
      this.mode = "buffered";
      this.bufferedResponseType = "in_channel";
      return undefined;
    }
  }

  private async postMessage(text: string, blocks?: SlackBlock[]): Promise<string> {
    const response = await this.client.chat.postMessage({
      channel: this.target.channel,
      text,
      ...(this.threadTs !== undefined ? { thread_ts: this.threadTs } : {}),
      ...(blocks ? { blocks } : {}),
      unfurl_links: false,
      unfurl_media: false,
    });
    if (typeof response.ts !== "string") throw new Error("chat.postMessage returned no ts");
    return response.ts;
  }

  // ---- replies for the asker alone ----

  private async deliverBuffered(finishBlocks: SlackBlock[]): Promise<void> {
    const pieces = renderMrkdwnPieces(this.received);
    if (pieces.length === 0 && finishBlocks.length === 0) return;
    if (pieces.length === 0) pieces.push("Sources and feedback");
    for (const [index, piece] of pieces.entries()) {
      const isLast = index === pieces.length - 1;
      await this.deliverPrivately(
        piece,
        isLast && finishBlocks.length > 0 ? [textSection(piece, 0), ...finishBlocks] : undefined,
      );
    }
  }

  private async deliverPrivately(text: string, blocks?: SlackBlock[]): Promise<void> {
    const responseUrl = this.target.responseUrl;
    if (responseUrl !== undefined && this.responseUrlUses < RESPONSE_URL_USES) {
      this.responseUrlUses += 1;
      const response = await this.fetchImpl(responseUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          response_type: this.bufferedResponseType,
          replace_original: false,
          text,
          ...(blocks ? { blocks } : {}),
        }),
      });
      if (response.ok) return;
      this.logger.warn({ status: response.status }, "slack response_url refused the reply");
      if (this.bufferedResponseType === "in_channel")
        throw new Error(`response_url answered ${response.status}`);
    }
    await this.client.chat.postEphemeral({
      channel: this.target.channel,
      user: this.target.userId,
      text,
      ...(this.threadTs !== undefined ? { thread_ts: this.threadTs } : {}),
      ...(blocks ? { blocks } : {}),
    });
  }

  private async deliverSentence(message: string): Promise<void> {
    const text = markdownToMrkdwn(message) || message;
    if (this.mode === "buffered") {
      const partial = renderMrkdwnPieces(this.received);
      for (const piece of partial) await this.deliverPrivately(piece);
      await this.deliverPrivately(text);
      return;
    }
    if (this.visibility === "asker" && !this.target.isDirectMessage) {
      await this.deliverPrivately(text);
      return;
    }
    try {
      await this.postMessage(text);
    } catch (error) {
      if (this.target.responseUrl === undefined) throw error;
      this.bufferedResponseType = "in_channel";
      await this.deliverPrivately(text);
    }
  }

  // ---- thinking indicator and status lines ----

  private async showThinking(): Promise<void> {
    if (this.target.isAssistantThread && this.threadTs !== undefined) {
      try {
        await this.client.assistant.threads.setStatus({
          channel_id: this.target.channel,
          thread_ts: this.threadTs,
          status: "is thinking…",
        });
        this.indicator = "status";
        return;
      } catch (error) {
        this.logger.debug({ code: slackErrorCode(error) }, "assistant status unavailable; using a reaction");
      }
    }
    if (this.target.messageTs === undefined) return;
    try {
      await this.client.reactions.add({
        channel: this.target.channel,
        timestamp: this.target.messageTs,
        name: THINKING_REACTION,
      });
      this.indicator = "reaction";
    } catch (error) {
      this.logger.debug({ code: slackErrorCode(error) }, "thinking reaction not added");
    }
  }

  private async clearThinking(): Promise<void> {
    try {
      if (this.indicator === "reaction" && this.target.messageTs !== undefined) {
        await this.client.reactions.remove({
          channel: this.target.channel,
          timestamp: this.target.messageTs,
          name: THINKING_REACTION,
        });
      } else if (this.indicator === "status" && this.threadTs !== undefined) {
        await this.client.assistant.threads.setStatus({
          channel_id: this.target.channel,
          thread_ts: this.threadTs,
          status: "",
        });
      }
    } catch (error) {
      this.logger.debug({ code: slackErrorCode(error) }, "thinking indicator not cleared");
    }
    this.indicator = undefined;
    await this.deleteStatusMessage();
  }

  private async showStatus(line: string): Promise<void> {
    const short = line.slice(0, 150);
    if (this.indicator === "status" && this.threadTs !== undefined) {
      try {
        await this.client.assistant.threads.setStatus({
          channel_id: this.target.channel,
          thread_ts: this.threadTs,
          status: short,
        });
      } catch (error) {
        this.logger.debug({ code: slackErrorCode(error) }, "assistant status not set");
      }
      return;
    }
    // Elsewhere a status line is a small message of its own until the answer begins.
    this.decideMode();
    const answerStarted =
      this.stream !== undefined || this.updateMessages.length > 0 || this.streamedUpTo > 0;
    if (this.mode === "buffered" || answerStarted) return;
    const text = `_${markdownToMrkdwn(short).replace(/[_*]/g, "")}_`;
    try {
      if (this.statusMessageTs === undefined) {
        this.statusMessageTs = await this.postMessage(text);
      } else if (Date.now() - this.lastStatusAt >= this.interval) {
        await this.client.chat.update({ channel: this.target.channel, ts: this.statusMessageTs, text });
      } else {
        return;
      }
      this.lastStatusAt = Date.now();
    } catch (error) {
      this.logger.debug({ code: slackErrorCode(error) }, "status line not shown");
    }
  }

  private async deleteStatusMessage(): Promise<void> {
    const ts = this.statusMessageTs;
    if (ts === undefined) return;
    this.statusMessageTs = undefined;
    try {
      await this.client.chat.delete({ channel: this.target.channel, ts });
    } catch (error) {
      this.logger.debug({ code: slackErrorCode(error) }, "status message not deleted");
    }
  }
}
