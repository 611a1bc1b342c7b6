/**
 * Discord fetches every link in a message's content to show a preview, and the fetch goes to
 * whatever server the link names, with no click: a link the model wrote (`https://attacker/?d=…`)
 * would carry data out by merely being posted. Messages without embeds of their own are sent with
 * SUPPRESS_EMBEDS; a message that carries our sources embed cannot use that flag (it would hide the
 * embed too), so its links are wrapped in `<…>`, Discord's documented way to post a link without a
 * preview. Code spans and blocks are left alone: Discord previews nothing inside them.
 */

const CODE = /```[\s\S]*?```|`[^`\n]*`/g;
const LINK =
  /\[([^\]\n]*)\]\(\s*<?(https?:\/\/[^\s)>]+)>?\s*\)|<(https?:\/\/[^\s>]+)>|(https?:\/\/[^\s<>]+)/gi;
const TRAILING_PUNCTUATION = /[.,;:!?)\]}'"]+$/;

function wrapLinks(text: string): string {
  return text.replace(
    LINK,
    (
      whole,
      label: string | undefined,
      masked: string | undefined,
      wrapped: string | undefined,
      bare: string | undefined,
    ) => {
      if (masked !== undefined) return `[${label ?? ""}](<${masked}>)`;
      if (wrapped !== undefined) return whole;
      const link = bare ?? "";
      const trailing = TRAILING_PUNCTUATION.exec(link)?.[0] ?? "";
      return `<${link.slice(0, link.length - trailing.length)}>${trailing}`;
    },
  );
}

/** `content` with every link outside code wrapped so that Discord shows it without a preview. */
export function withoutLinkPreviews(content: string): string {
  let result = "";
  let last = 0;
  for (const match of content.matchAll(CODE)) {
    const start = match.index ?? 0;
    result += wrapLinks(content.slice(last, start)) + match[0];
    last = start + match[0].length;
  }
  return result + wrapLinks(content.slice(last));
}
