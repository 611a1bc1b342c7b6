import slackifyMarkdown from "slackify-markdown";
import type { ApprovalPrompt, ReplyButton, ReplyFinish } from "../../core/ports/reply-sink.js";
import type { Source } from "../../core/types.js";
import { splitMarkdown } from "./split-markdown.js";

/**
 * How an answer looks in Slack: Markdown converted to mrkdwn and split under Slack's limits, sources
 * as a numbered section, buttons as an actions block. Pure functions, so the reply sink only decides
 * when to send.
 */

/** Characters of mrkdwn per message. A section block holds 3000; Slack advises under 4000 for `text`. */
const MESSAGE_TEXT_LIMIT = 3_000;
/** Markdown characters per piece before conversion, leaving room for conversion to grow it. */
const MARKDOWN_PIECE_LIMIT = 2_700;

/** A Block Kit block, as loosely as this adapter builds them. */
export type SlackBlock = Record<string, unknown>;

/** Markdown → Slack mrkdwn (bold, italics, links, lists, code blocks) with the maintained converter. */
export function markdownToMrkdwn(markdown: string): string {
  return slackifyMarkdown(markdown).trimEnd();
}

/**
 * Converts an answer into mrkdwn pieces of at most {@link MESSAGE_TEXT_LIMIT} characters each, cut at
 * paragraph or code-block boundaries, so nothing is truncated by Slack.
 */
export function renderMrkdwnPieces(markdown: string, limit = MARKDOWN_PIECE_LIMIT): string[] {
  const pieces: string[] = [];
  for (const piece of splitMarkdown(markdown, limit)) {
    const converted = markdownToMrkdwn(piece);
    if (converted.length <= MESSAGE_TEXT_LIMIT) {
      if (converted !== "") pieces.push(converted);
    } else {
      // Conversion grew the piece (escaped `&`, `<`, `>`): split that piece finer.
      pieces.push(...renderMrkdwnPieces(piece, Math.floor(limit / 2)));
    }
  }
  return pieces;
}

function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function sourceLine(source: Source): string {
  const title = escapeMrkdwn(source.title).replace(/\|/g, "¦");
  if (/^https?:\/\//i.test(source.location)) {
    return `[${source.index}] <${source.location.replace(/[<>|\s]/g, encodeURIComponent)}|${title}>`;
  }
  return `[${source.index}] ${title} — \`${escapeMrkdwn(source.location)}\``;
}

/** Sections listing the sources as `[n] <link|title>`, each under the section text limit. */
function renderSourceBlocks(sources: Source[]): SlackBlock[] {
  if (sources.length === 0) return [];
  const sections: string[] = [];
  let current = "*Sources*";
  for (const source of sources) {
    const line = sourceLine(source).slice(0, MESSAGE_TEXT_LIMIT - 20);
    if (current.length + 1 + line.length > MESSAGE_TEXT_LIMIT) {
      sections.push(current);
      current = line;
    } else {
      current = `${current}\n${line}`;
    }
  }
  sections.push(current);
  return sections.slice(0, 10).map((text, index) => ({
    type: "section",
    block_id: `answer-sources-${index}`,
    text: { type: "mrkdwn", text },
  }));
}

/** An actions block with one button per `ReplyButton` (at most 25, Slack's limit). */
function renderButtonBlocks(buttons: ReplyButton[]): SlackBlock[] {
  if (buttons.length === 0) return [];
  return [
    {
      type: "actions",
      block_id: "answer-actions",
      elements: buttons.slice(0, 25).map((button) => ({
        type: "button",
        action_id: button.action,
        text: { type: "plain_text", text: button.label.slice(0, 75), emoji: true },
        value: button.value.slice(0, 2_000),
        ...(button.style ? { style: button.style } : {}),
      })),
    },
  ];
}

/** Sources and buttons for the end of an answer: exactly the buttons core chose (its one button policy). */
export function renderFinishBlocks(finish: ReplyFinish): SlackBlock[] {
  return [...renderSourceBlocks(finish.sources), ...renderButtonBlocks(finish.buttons)];
}

/** A section block showing one mrkdwn piece of the answer. */
export function textSection(mrkdwn: string, index: number): SlackBlock {
  return { type: "section", block_id: `answer-text-${index}`, text: { type: "mrkdwn", text: mrkdwn } };
}

/** Longest approval text shown; the prompt is a sentence plus an arguments preview, far below this. */
const APPROVAL_TEXT_LIMIT = 2_000;

/**
 * The blocks of an approval request: the prompt as escaped mrkdwn (tool arguments come from the model,
 * and a poisoned document must not get `<!channel>` or a link rendered through them), when the request
 * expires in the reader's own time zone, and the Approve / Deny buttons. Each button's `action_id` is
 * the core action and its `value` the approval id, so the click comes back as an `InboundAction`.
 */
export function renderApprovalBlocks(prompt: ApprovalPrompt): SlackBlock[] {
  const seconds = Math.floor(prompt.expiresAt / 1000);
  const fallback = new Date(prompt.expiresAt).toISOString();
  const actions = renderButtonBlocks(prompt.buttons).map((block) => ({
    ...block,
    block_id: "approval-actions",
  }));
  return [
    {
      type: "section",
      block_id: "approval-text",
      text: { type: "mrkdwn", text: approvalFallbackText(prompt) },
    },
    {
      type: "context",
      block_id: "approval-expiry",
      elements: [
        {
          type: "mrkdwn",
          text: `No decision by <!date^${seconds}^{time}|${fallback}> counts as Deny.`,
        },
      ],
    },
    ...actions,
  ];
}

/** The approval prompt as the message's escaped notification text. */
export function approvalFallbackText(prompt: ApprovalPrompt): string {
  const escaped = escapeMrkdwn(prompt.text);
  // Escaping can triple a character, so the cut comes after it, never inside an `&amp;`.
  const shown =
    escaped.length <= APPROVAL_TEXT_LIMIT
      ? escaped
      : `${escaped.slice(0, APPROVAL_TEXT_LIMIT).replace(/&[a-z]*$/, "")}…`;
  return `:raised_hand: *Approval needed* — ${shown}`;
}
