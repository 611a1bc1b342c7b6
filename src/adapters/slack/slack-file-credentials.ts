import type { DocumentLoader } from "../../core/ports/document-loader.js";
import type { WorkspaceRef } from "../../core/types.js";

/** Where Slack serves `url_private` files (commercial and GovSlack). */
const SLACK_FILE_HOSTS: readonly string[] = ["files.slack.com", "files.slack-gov.com"];

export interface SlackFileCredentialsOptions {
  botToken: string;
  /**
   * `SLACK_API_URL` when set: its origin serves files too (a proxy, or the test stand-in), so URLs on
   * it get the token as well.
   */
  apiUrl?: string | undefined;
}

/**
 * Wraps a document loader so that a Slack file gets `Authorization: Bearer <bot token>` at download
 * time, in the bot or in a worker; the token never travels through core or a job payload. Two things
 * must both hold: the file arrived in a Slack event (the Slack adapter marks it with `arrivedIn`, which
 * the knowledge base keeps only when indexing into that same workspace; a typed URL never has it), and
 * the URL is on an exact Slack file host over https (or the configured API origin). Anything else goes
 * out without the token, so no other platform, and no typed link, can borrow it.
 */
/**
 * The rule itself, for every download of a chat attachment (indexing, or reading a file attached to
 * a question): the Slack bot token's header for a file that arrived in a Slack event and lies on an
 * exact Slack file host over https (or the configured API origin); undefined for anything else.
 */
export function slackFileHeaders(
  options: SlackFileCredentialsOptions,
): (url: string, arrivedIn: WorkspaceRef | undefined) => Record<string, string> | undefined {
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
  return (url, arrivedIn) =>
    arrivedIn?.platform === "slack" && isSlackFile(url)
      ? { Authorization: `Bearer ${options.botToken}` }
      : undefined;
}

/**
 * Wraps a document loader so that a Slack file gets `Authorization: Bearer <bot token>` at download
 * time, in the bot or in a worker; the token never travels through core or a job payload. Two things
 * must both hold: the file arrived in a Slack event (the Slack adapter marks it with `arrivedIn`, which
 * the knowledge base keeps only when indexing into that same workspace; a typed URL never has it), and
 * the URL is on an exact Slack file host over https (or the configured API origin). Anything else goes
 * out without the token, so no other platform, and no typed link, can borrow it.
 */
export function withSlackFileCredentials(
  loader: DocumentLoader,
  options: SlackFileCredentialsOptions,
): DocumentLoader {
  const headersFor = slackFileHeaders(options);
  return {
    load(reference, signal) {
      if (reference.kind === "url" && reference.headers === undefined) {
        const headers = headersFor(reference.url, reference.arrivedIn);
        if (headers) return loader.load({ ...reference, headers }, signal);
      }
      return loader.load(reference, signal);
    },
  };
}
