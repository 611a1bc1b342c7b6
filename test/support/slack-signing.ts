import { createHmac } from "node:crypto";

/**
 * Signs inbound Slack requests exactly as Slack does (`v0=` + HMAC-SHA256 over `v0:<ts>:<raw body>`)
 * and POSTs them to a receiver, so tests exercise Bolt's real verification.
 */
export function signSlackBody(signingSecret: string, timestamp: number | string, body: string): string {
  return `v0=${createHmac("sha256", signingSecret).update(`v0:${timestamp}:${body}`).digest("hex")}`;
}

export interface SignedPostOptions {
  url: string;
  signingSecret: string;
  body: string;
  contentType?: "application/json" | "application/x-www-form-urlencoded";
  /** Unix seconds; defaults to now. */
  timestamp?: number;
  /** Overrides the computed signature (for negative tests). */
  signature?: string;
  retryNum?: number;
  retryReason?: string;
}

export interface SignedPostResult {
  status: number;
  body: string;
  elapsedMilliseconds: number;
}

export async function postSignedToSlackReceiver(options: SignedPostOptions): Promise<SignedPostResult> {
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  const headers: Record<string, string> = {
    "content-type": options.contentType ?? "application/json",
    "x-slack-request-timestamp": String(timestamp),
    "x-slack-signature": options.signature ?? signSlackBody(options.signingSecret, timestamp, options.body),
  };
  if (options.retryNum !== undefined) {
    headers["x-slack-retry-num"] = String(options.retryNum);
    headers["x-slack-retry-reason"] = options.retryReason ?? "http_timeout";
  }
  const started = performance.now();
  const response = await fetch(options.url, { method: "POST", headers, body: options.body });
  const body = await response.text();
  return { status: response.status, body, elapsedMilliseconds: performance.now() - started };
}

/** Encodes a slash command or interactivity payload as Slack sends it. */
export function formBody(fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString();
}
