import type { DocumentLoader } from "../../core/ports/document-loader.js";

/** Where Slack serves `url_private` files (commercial and GovSlack). */
export const SLACK_FILE_HOSTS: readonly string[] = ["files.slack.com", "files.slack-gov.com"];

export interface SlackFileCredentialsOptions {
  botToken: string;
  /**
   * `SLACK_API_URL` when set: its origin serves files too (a proxy, or the test stand-in), so URLs on
   * it get the token as well.
   */
  apiUrl?: string | undefined;
}

/**
 * Wraps a document loader so that Slack file URLs without headers get `Authorization: Bearer <bot
 * token>`. Job data may not hold the token (BullMQ stores it in clear text), so the bot strips it and
 * the worker adds it back here, at download time. Only exact Slack file hosts over https (or the
 * configured API origin) qualify; any other URL goes out without the token.
 */
export function withSlackFileCredentials(
  loader: DocumentLoader,
  options: SlackFileCredentialsOptions,
): DocumentLoader {
  const apiOrigin = options.apiUrl ? new URL(options.apiUrl).origin : undefined;
  const isSlackFile = (address: string): boolean => {
    let url: URL;
    try {
      url = new URL(address);
    } catch {
      return false;
    }
    // Credentials in the URL would make the origin ambiguous; such a URL is not Slack's.
    if (url.username !== "" || url.password !== "") return false;
    if (apiOrigin !== undefined && url.origin === apiOrigin) return true;
    return url.protocol === "https:" && url.port === "" && SLACK_FILE_HOSTS.includes(url.hostname);
  };
  return {
    load(reference, signal) {
      if (reference.kind === "url" && reference.headers === undefined && isSlackFile(reference.url)) {
        return loader.load(
          { ...reference, headers: { Authorization: `Bearer ${options.botToken}` } },
          signal,
        );
      }
      return loader.load(reference, signal);
    },
  };
}
