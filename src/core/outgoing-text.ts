import { redactSecrets } from "./redaction.js";

/**
 * What every chat message passes through before a platform sees it: secrets redacted, and mass
 * mentions and pings neutralised. The model writes text an attacker may have dictated (a document,
 * a page, a tool result), so `<!channel>` or `@everyone` in it must not notify anyone. Both
 * platforms' forms are handled here, in core, because the text is the same for both; adapters add
 * their own switch where the platform has one (Discord's `allowed_mentions`).
 */

const ZERO_WIDTH_SPACE = "\u200b";

const MENTIONS: ReadonlyArray<[RegExp, (...groups: string[]) => string]> = [
  // Slack: <!channel>, <!here>, <!everyone> (with or without a label).
  [/<!(channel|here|everyone)(?:\|[^>]*)?>/g, (_all, name) => `@${ZERO_WIDTH_SPACE}${name}`],
  // Slack user groups: <!subteam^S123|@oncall>.
  [/<!subteam\^[A-Za-z0-9]+(?:\|@?([^>]*))?>/g, (_all, label) => `@${ZERO_WIDTH_SPACE}${label || "group"}`],
  // Slack users: <@U123> or <@W123|name>.
  [/<@([UW][A-Z0-9]+)(?:\|[^>]*)?>/g, (_all, id) => `@${ZERO_WIDTH_SPACE}${id}`],
  // Discord users and roles: <@123>, <@!123>, <@&123>.
  [/<@([!&]?)(\d+)>/g, (_all, kind, id) => `@${ZERO_WIDTH_SPACE}${kind === "&" ? "&" : ""}${id}`],
  // Plain mass mentions (Discord's @everyone and @here; Slack's @channel typed as text).
  [/@(everyone|here|channel)\b/g, (_all, name) => `@${ZERO_WIDTH_SPACE}${name}`],
];

/** `text` with every mass mention and ping made inert (a zero-width space after the `@`). */
export function neutralizeMentions(text: string): string {
  let result = text;
  for (const [pattern, replace] of MENTIONS) {
    result = result.replace(pattern, (...match: unknown[]) => replace(...(match.slice(0, -2) as string[])));
  }
  return result;
}

/** A whole message made safe to post: secrets redacted, mentions neutralised. */
export function safeOutgoingText(text: string, secrets: readonly string[] = []): string {
  return neutralizeMentions(redactSecrets(text, secrets));
}

/** A token or mention this long is still held back while it streams in; longer runs are let through. */
const LONGEST_HELD = 256;

/**
 * {@link safeOutgoingText} for text that arrives in pieces (a streamed answer): a mention or a
 * token split across two pieces would slip past a per-piece check, so the unfinished tail (the last
 * word, or an unclosed `<…`) is held until the next piece or `flush`.
 */
export class OutgoingTextFilter {
  private pending = "";

  constructor(private readonly secrets: readonly string[] = []) {}

  /** Adds a piece; returns the part that is safe to send now (possibly empty). */
  push(piece: string): string {
    this.pending += piece;
    const cut = this.safeCut();
    if (cut === 0) return "";
    const ready = this.pending.slice(0, cut);
    this.pending = this.pending.slice(cut);
    return safeOutgoingText(ready, this.secrets);
  }

  /** Everything still held, made safe: call once the text is complete. */
  flush(): string {
    const rest = this.pending;
    this.pending = "";
    return rest === "" ? "" : safeOutgoingText(rest, this.secrets);
  }

  private safeCut(): number {
    const text = this.pending;
    let cut = text.length;
    const lastSpace = Math.max(text.lastIndexOf(" "), text.lastIndexOf("\n"), text.lastIndexOf("\t"));
    if (lastSpace < text.length - 1) cut = lastSpace + 1;
    const open = text.lastIndexOf("<");
    if (open >= 0 && text.indexOf(">", open) === -1) cut = Math.min(cut, open);
    // A run without a break this long is no mention or token: let most of it through.
    if (text.length - cut > LONGEST_HELD) cut = text.length - LONGEST_HELD / 2;
    return Math.max(0, cut);
  }
}
