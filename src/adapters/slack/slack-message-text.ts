/**
 * Removes teammate's own mention and Slack's HTML escaping, so core sees what the person typed.
 * Other mentions and links stay in Slack's `<…>` form.
 */
export function normalizeSlackText(raw: string, botUserId: string | undefined): string {
  let result = raw;
  if (botUserId) result = result.replace(new RegExp(`<@${botUserId}(\\|[^>]*)?>`, "g"), " ");
  // Line breaks stay: people paste code and lists.
  return result
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&")
    .replace(/[ \t]+/g, " ")
    .replace(/ *\n */g, "\n")
    .trim();
}
