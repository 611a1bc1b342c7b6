import type { LogFn, Logger } from "./ports/logger.js";

/**
 * The one redaction function for everything teammate writes down or says: log lines (through
 * {@link redactingLogger}), error texts and chat messages (through the reply guard). It hides
 * credentials by shape, whoever configured them, and the deployment's own secrets by value.
 *
 * Written by hand: the log libraries redact by field path (pino's `redact`), which misses a token
 * inside an error message, a URL or a server's echoed response body, and that is where they leak.
 */

const REDACTED = "[redacted]";

/** Credentials recognisable by their shape alone. */
const SECRET_SHAPES: readonly RegExp[] = [
  // Slack tokens: bot, user, workspace, refresh, configuration (xoxb-, xoxp-, xoxa-, xoxe-, …) and app-level.
  /\bxox[a-z]-[A-Za-z0-9-]{6,}/g,
  /\bxapp-[A-Za-z0-9-]{6,}/g,
  // Discord bot tokens: base64 user id, timestamp and HMAC, dot-separated.
  /\b[A-Za-z0-9_-]{23,28}\.[A-Za-z0-9_-]{6,7}\.[A-Za-z0-9_-]{27,}/g,
  // Discord interaction tokens: base64 of "interaction:<id>:<secret>".
  /\baW50ZXJhY3Rpb246[A-Za-z0-9_=-]{8,}/g,
  // OpenAI-style API keys (OpenAI sk-…, Groq gsk_…, and the like).
  /\b(?:sk|gsk|pk|rk)[-_][A-Za-z0-9_*-]{8,}/g,
];

/** A webhook or interaction URL carries its token as the path segment after the id. */
const TOKEN_IN_PATH = /\/(webhooks|interactions)\/(\d{5,})\/([^/\s"'?#]{8,})/g;

/** `Authorization: Bearer …`, `"authorization":"Bot …"`, `authorization=…`. */
const AUTHORIZATION = /(authorization["']?\s*[:=]\s*["']?)(?:(bearer|bot|basic)\s+)?([^\s"',;}]+)/gi;

/**
 * A bearer token outside an Authorization header (an SDK's error text quoting the request). Capital
 * `Bearer` and a token-like word only, so "the bearer of" in an answer is left alone.
 */
const BEARER = /\bBearer\s+(?!\[redacted\])[A-Za-z0-9._~+/=-]{8,}/g;

/**
 * What every pattern above needs somewhere in the text (ignoring case, so it may say yes where
 * they say no): an answer streamed in pieces is checked once per piece, and most pieces have none
 * of it, so the eight replacements are not run on them.
 */
const ANY_SHAPE =
  /xox[a-z]-|xapp-|\.[A-Za-z0-9_-]{6,7}\.|aW50ZXJhY3Rpb246|(?:sk|pk|rk)[-_]|\/(?:webhooks|interactions)\/|authorization|bearer/i;

/** Secrets shorter than this are not matched by value: too likely to hit ordinary words. */
const SHORTEST_SECRET = 6;

/** Hides every credential in `text`: known shapes, tokens in webhook paths, Authorization values, and `secrets` by value. */
export function redactSecrets(text: string, secrets: readonly string[] = []): string {
  let result = text;
  for (const secret of secrets) {
    if (secret.length < SHORTEST_SECRET) continue;
    for (const form of new Set([secret, encodeURIComponent(secret)])) {
      if (result.includes(form)) result = result.split(form).join(REDACTED);
    }
  }
  if (!ANY_SHAPE.test(result)) return result;
  result = result.replace(TOKEN_IN_PATH, `/$1/$2/${REDACTED}`);
  result = result.replace(AUTHORIZATION, (_match, prefix: string, scheme: string | undefined) =>
    scheme ? `${prefix}${scheme} ${REDACTED}` : `${prefix}${REDACTED}`,
  );
  result = result.replace(BEARER, `Bearer ${REDACTED}`);
  for (const shape of SECRET_SHAPES) result = result.replace(shape, REDACTED);
  return result;
}

const MAX_DEPTH = 8;

/**
 * A copy of a log value with every string redacted. Errors become plain objects (type, message,
 * stack, their own fields, cause) so nothing about them reaches the log unredacted; objects that
 * are neither plain nor errors are kept as they are.
 */
function redactValue(
  value: unknown,
  secrets: readonly string[],
  depth = 0,
  seen = new WeakSet<object>(),
): unknown {
  if (typeof value === "string") return redactSecrets(value, secrets);
  if (value === null || typeof value !== "object") return value;
  if (seen.has(value) || depth > MAX_DEPTH) return "[omitted]";
  seen.add(value);
  const next = (inner: unknown) => redactValue(inner, secrets, depth + 1, seen);
  if (Array.isArray(value)) return value.map(next);
  if (value instanceof Error) {
    const plain: Record<string, unknown> = { type: value.name, message: next(value.message) };
    if (value.stack) plain.stack = next(value.stack);
    for (const [key, inner] of Object.entries(value)) plain[key] = next(inner);
    if (value.cause !== undefined) plain.cause = next(value.cause);
    return plain;
  }
  const prototype = Object.getPrototypeOf(value) as unknown;
  if (prototype !== Object.prototype && prototype !== null) return value;
  const plain: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) plain[key] = next(inner);
  return plain;
}

const REDACTING = Symbol("redacting logger");

/**
 * Wraps a logger so that every line it writes, message and fields alike, goes through
 * {@link redactSecrets}. The composition roots wrap whatever logger they are given, so a test's
 * recording logger sees exactly what pino would print. Wrapping twice is a no-op.
 */
export function redactingLogger(logger: Logger, secrets: readonly string[]): Logger {
  if ((logger as Logger & { [REDACTING]?: true })[REDACTING]) return logger;
  const wrap = (log: LogFn): LogFn =>
    ((objectOrMessage: Record<string, unknown> | string, message?: string) => {
      if (typeof objectOrMessage === "string") {
        log(redactSecrets(objectOrMessage, secrets));
        return;
      }
      const fields = redactValue(objectOrMessage, secrets) as Record<string, unknown>;
      if (message === undefined) log(fields);
      else log(fields, redactSecrets(message, secrets));
    }) as LogFn;
  const wrapped: Logger & { [REDACTING]: true } = {
    [REDACTING]: true,
    debug: wrap(logger.debug.bind(logger)),
    info: wrap(logger.info.bind(logger)),
    warn: wrap(logger.warn.bind(logger)),
    error: wrap(logger.error.bind(logger)),
    child: (bindings) =>
      redactingLogger(logger.child(redactValue(bindings, secrets) as Record<string, unknown>), secrets),
  };
  return wrapped;
}
