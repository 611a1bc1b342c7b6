import { lookup as dnsLookup } from "node:dns/promises";
import http, { type IncomingMessage } from "node:http";
import https from "node:https";
import { isIP, type LookupFunction } from "node:net";
import { finished } from "node:stream/promises";
import { raceWithSignal } from "../../core/deadline.js";
import { AppError } from "../../core/errors.js";
import { classifyAddress, describeAddressClass } from "./address-class.js";
import { createHostAllowlist, type HostAllowlist } from "./host-allowlist.js";

/** One address a host name resolved to. */
export interface ResolvedAddress {
  address: string;
  family: number;
}

/** Resolves a host name to all of its addresses. Injectable so tests can "resolve" names without DNS. */
export type HostLookup = (hostname: string) => Promise<ResolvedAddress[]>;

export interface SafeHttpFetcherOptions {
  /** Largest body accepted, counted while streaming (a Content-Length header is not trusted). Default 25 MiB. */
  maxBytes?: number;
  /** Time limit for the whole fetch: every lookup, redirect hop and the body. Default 30 s. */
  timeoutMs?: number;
  /** Redirects followed before giving up. Default 5. */
  maxRedirects?: number;
  /**
   * Destinations allowed even though their address is not public: `host:port`, `[v6]:port`, a bare
   * host or address (any port), or a CIDR range. Read from `FETCH_ALLOW_PRIVATE_HOSTS` by the
   * composition root; tests list their 127.0.0.1 servers here.
   */
  allowedHosts?: readonly string[];
  /** Media types accepted (without parameters). A missing Content-Type counts as `application/octet-stream`. */
  allowedMediaTypes?: readonly string[];
  lookup?: HostLookup;
  /** PEM certificates that replace Node's trust store for https (a private CA; tests). Default: Node's store. */
  certificateAuthorities?: readonly string[];
  userAgent?: string;
  /**
   * Reuse connections (keep-alive, at most 8 per host) instead of opening one per request: a crawler
   * re-checking a thousand pages of one site spends most of its time on connection set-up otherwise.
   * Safe with the address guard: a connection is only ever opened to an address that passed the
   * check (the pinned lookup), every request still checks its host's current answers before it is
   * sent, and pooled connections are keyed by host name and port. Off by default.
   */
  keepAlive?: boolean;
}

export interface FetchRequest {
  url: string;
  /** Sent to the URL's origin only; dropped for good once a redirect leaves that origin. */
  headers?: Record<string, string> | undefined;
  signal?: AbortSignal | undefined;
  /**
   * Validators from an earlier fetch of the same URL: sent as `If-None-Match` / `If-Modified-Since`,
   * and a 304 answer resolves with `notModified` and an empty body instead of failing.
   */
  validators?: ResourceValidators | undefined;
  /** Media types accepted for this fetch instead of the fetcher's own (a sitemap's XML, robots.txt). */
  mediaTypes?: readonly string[] | undefined;
}

/** What a server said identifies a version of a resource. */
export interface ResourceValidators {
  etag?: string | undefined;
  lastModified?: string | undefined;
}

/** A fetched body with what the server said about it. */
export interface FetchedResource {
  /** Where the body finally came from, after redirects. */
  finalUrl: string;
  /** Lower-case media type without parameters; `application/octet-stream` when the server sent none. */
  mediaType: string;
  charset: string | undefined;
  /** From Content-Disposition, else the last segment of the final URL's path. */
  fileName: string | undefined;
  body: Uint8Array;
  /** `ETag` and `Last-Modified`, for a conditional fetch next time. */
  validators: ResourceValidators;
  /** The server answered 304 to a conditional fetch: nothing changed, and `body` is empty. */
  notModified?: boolean | undefined;
}

const DEFAULT_ALLOWED_MEDIA_TYPES: readonly string[] = [
  "text/markdown",
  "text/x-markdown",
  "text/plain",
  "text/html",
  "application/xhtml+xml",
  "application/pdf",
  "text/csv",
  // Chat platforms serve many uploads this way; the loader decides by file extension or magic bytes.
  "application/octet-stream",
];

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
// Headers the caller must not set: they describe the connection, which this fetcher owns.
const CONNECTION_HEADERS = new Set(["host", "connection", "content-length", "transfer-encoding", "upgrade"]);

interface Target {
  hostname: string;
  port: number;
  address: string;
  family: number;
}

const defaultLookup: HostLookup = async (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

function refused(reason: string, message: string): AppError {
  return new AppError("fetch_refused", message, {
    category: "user",
    userMessage: `I can't fetch that address: ${reason}.`,
  });
}

function withValidators(
  headers: Record<string, string> | undefined,
  validators: ResourceValidators | undefined,
): Record<string, string> | undefined {
  if (!validators?.etag && !validators?.lastModified) return headers;
  return {
    ...headers,
    ...(validators.etag ? { "if-none-match": validators.etag } : {}),
    ...(validators.lastModified ? { "if-modified-since": validators.lastModified } : {}),
  };
}

// A 304 may leave out the validators; the ones sent still hold then.
function validatorsOf(response: IncomingMessage, sent: ResourceValidators | undefined): ResourceValidators {
  const etag = response.headers.etag ?? sent?.etag;
  const lastModified = response.headers["last-modified"] ?? sent?.lastModified;
  return {
    ...(etag ? { etag } : {}),
    ...(lastModified ? { lastModified } : {}),
  };
}

function failed(
  message: string,
  userMessage: string,
  options: { cause?: unknown; retryable?: boolean; category?: "user" | "third_party" } = {},
): AppError {
  return new AppError("fetch_failed", message, {
    cause: options.cause,
    retryable: options.retryable ?? false,
    category: options.category ?? "third_party",
    userMessage,
  });
}

// Query strings can carry signatures or tokens, so logs and messages name only origin and path.
function describeUrl(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

function parseHttpUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch (error) {
    throw new AppError("input_invalid", "not a valid URL", {
      cause: error,
      category: "user",
      userMessage: "That doesn't look like a valid web address.",
    });
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw refused(
      "only http and https links are allowed",
      `refused scheme ${url.protocol.replace(/:$/, "")}`,
    );
  }
  if (url.username !== "" || url.password !== "") {
    throw refused(
      "links with a user name or password in them are not allowed",
      "refused URL with credentials",
    );
  }
  return url;
}

function pinnedLookup(target: Target): LookupFunction {
  return (hostname, options, callback) => {
    if (hostname !== target.hostname) {
      callback(new Error(`unexpected lookup of ${hostname}`), "", 0);
      return;
    }
    if (options.all) callback(null, [{ address: target.address, family: target.family }]);
    else callback(null, target.address, target.family);
  };
}

function parseContentType(header: string | undefined): { mediaType: string; charset: string | undefined } {
  if (!header || header.trim() === "") return { mediaType: "application/octet-stream", charset: undefined };
  const [type = "", ...parameters] = header.split(";");
  const charsetParameter = parameters
    .map((parameter) => parameter.trim())
    .find((parameter) => parameter.toLowerCase().startsWith("charset="));
  const charset = charsetParameter?.slice("charset=".length).replace(/^"|"$/g, "").trim().toLowerCase();
  return { mediaType: type.trim().toLowerCase(), charset: charset || undefined };
}

function fileNameOf(url: URL, disposition: string | undefined): string | undefined {
  if (disposition) {
    const extended = /filename\*\s*=\s*[^']*'[^']*'([^;]+)/i.exec(disposition);
    const plain = /filename\s*=\s*"?([^";]+)"?/i.exec(disposition);
    const raw = extended?.[1] ?? plain?.[1];
    if (raw) {
      try {
        return decodeURIComponent(raw.trim());
      } catch {
        return raw.trim();
      }
    }
  }
  const last = url.pathname.split("/").filter(Boolean).pop();
  if (!last) return undefined;
  try {
    return decodeURIComponent(last);
  } catch {
    return last;
  }
}

function translateNetworkError(error: unknown, url: URL): AppError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code ?? "";
  const where = describeUrl(url);
  if (code === "ENOTFOUND" || code === "EAI_NONAME" || code === "EAI_NODATA") {
    return failed(`host not found: ${url.hostname}`, `I couldn't find the host ${url.hostname}.`, {
      cause: error,
      category: "user",
    });
  }
  if (code === "ECONNREFUSED") {
    return failed(`connection refused: ${where}`, `The server at ${url.host} refused the connection.`, {
      cause: error,
      retryable: true,
    });
  }
  if (code.startsWith("ERR_TLS") || code.includes("CERT") || code === "UNABLE_TO_VERIFY_LEAF_SIGNATURE") {
    return failed(
      `TLS failure (${code}): ${where}`,
      `The HTTPS certificate of ${url.host} could not be verified.`,
      {
        cause: error,
        category: "user",
      },
    );
  }
  return failed(`network failure (${code || "unknown"}): ${where}`, `I couldn't download from ${url.host}.`, {
    cause: error,
    retryable: true,
  });
}

/** A server's non-2xx answer, with its status for callers that branch on it (robots.txt, a page gone). */
export class HttpStatusError extends AppError {
  readonly status: number;

  constructor(status: number, error: AppError) {
    super(error.code, error.message, {
      retryable: error.retryable,
      category: error.category,
      ...(error.userMessage === undefined ? {} : { userMessage: error.userMessage }),
    });
    this.status = status;
  }
}

function statusError(status: number, url: URL): HttpStatusError {
  return new HttpStatusError(status, statusFailure(status, url));
}

function statusFailure(status: number, url: URL): AppError {
  const message = `HTTP ${status} from ${describeUrl(url)}`;
  if (status === 401 || status === 403) {
    return failed(message, `The server refused access to that address (HTTP ${status}).`, {
      category: "user",
    });
  }
  if (status === 404 || status === 410) {
    return failed(message, `There is nothing at that address (HTTP ${status}).`, { category: "user" });
  }
  if (status === 429 || status >= 500) {
    return failed(message, `The server at ${url.host} had a problem (HTTP ${status}); try again later.`, {
      retryable: true,
    });
  }
  return failed(message, `The server at ${url.host} answered HTTP ${status}.`, { category: "user" });
}

/**
 * Fetches documents over http(s) without letting a link reach internal services (SSRF). Every hop
 * is checked before connecting: the scheme, then every address the host resolves to; the connection
 * is then pinned to the checked address through a custom `lookup`, so a second DNS answer cannot
 * swap in another one (DNS rebinding). Redirects are followed by hand so each hop gets the same check.
 */
export class SafeHttpFetcher {
  private readonly maxBytes: number;
  private readonly timeoutMs: number;
  private readonly maxRedirects: number;
  private readonly allowlist: HostAllowlist;
  private readonly allowedMediaTypes: ReadonlySet<string>;
  private readonly lookup: HostLookup;
  private readonly userAgent: string;
  private readonly certificateAuthorities: string[] | undefined;
  private readonly agents: { http: http.Agent; https: https.Agent } | undefined;

  constructor(options: SafeHttpFetcherOptions = {}) {
    this.maxBytes = options.maxBytes ?? 25 * 1024 * 1024;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.maxRedirects = options.maxRedirects ?? 5;
    this.allowlist = createHostAllowlist(options.allowedHosts ?? []);
    this.allowedMediaTypes = new Set(options.allowedMediaTypes ?? DEFAULT_ALLOWED_MEDIA_TYPES);
    this.lookup = options.lookup ?? defaultLookup;
    this.userAgent = options.userAgent ?? "teammate-document-fetcher";
    this.certificateAuthorities = options.certificateAuthorities
      ? [...options.certificateAuthorities]
      : undefined;
    this.agents = options.keepAlive
      ? {
          http: new http.Agent({ keepAlive: true, maxSockets: 8, maxFreeSockets: 8 }),
          https: new https.Agent({ keepAlive: true, maxSockets: 8, maxFreeSockets: 8 }),
        }
      : undefined;
  }

  /** Closes pooled connections (a fetcher made with `keepAlive`); idle ones never hold the process open. */
  close(): void {
    this.agents?.http.destroy();
    this.agents?.https.destroy();
  }

  async fetch(request: FetchRequest): Promise<FetchedResource> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = request.signal ? AbortSignal.any([request.signal, timeout]) : timeout;
    let url = parseHttpUrl(request.url);
    const origin = url.origin;
    let headers = request.headers;
    try {
      for (let redirects = 0; ; redirects += 1) {
        const target = await this.resolveTarget(url, signal);
        const response = await this.send(url, target, withValidators(headers, request.validators), signal);
        const status = response.statusCode ?? 0;
        if (REDIRECT_STATUSES.has(status)) {
          response.destroy();
          if (redirects >= this.maxRedirects) {
            throw failed(
              `more than ${this.maxRedirects} redirects from ${describeUrl(url)}`,
              `That address redirects more than ${this.maxRedirects} times, so I stopped following it.`,
              { category: "user" },
            );
          }
          const location = response.headers.location;
          if (!location)
            throw failed(
              `redirect without Location from ${describeUrl(url)}`,
              "That address redirects nowhere.",
            );
          url = parseHttpUrl(new URL(location, url).href);
          // Credentials belong to the origin they were issued for; once a redirect leaves it they never come back.
          if (url.origin !== origin) headers = undefined;
          continue;
        }
        if (status === 304 && request.validators !== undefined) {
          // A 304 has no body: reading to its end hands a kept-alive connection back to the pool.
          response.resume();
          await finished(response);
          return {
            finalUrl: url.href,
            mediaType: "application/octet-stream",
            charset: undefined,
            fileName: undefined,
            body: new Uint8Array(0),
            validators: validatorsOf(response, request.validators),
            notModified: true,
          };
        }
        if (status < 200 || status > 299) {
          response.destroy();
          throw statusError(status, url);
        }
        return await this.readResource(url, response, signal, request.mediaTypes);
      }
    } catch (error) {
      if (error instanceof AppError) throw error;
      if (request.signal?.aborted) throw request.signal.reason;
      if (timeout.aborted) {
        throw failed(
          `timed out after ${this.timeoutMs} ms: ${describeUrl(url)}`,
          `That address took too long to answer (limit ${Math.max(1, Math.round(this.timeoutMs / 1000))} s).`,
          { cause: error, retryable: true },
        );
      }
      throw translateNetworkError(error, url);
    }
  }

  private async resolveTarget(url: URL, signal: AbortSignal): Promise<Target> {
    const hostname = url.hostname.replace(/^\[|\]$/g, "");
    const port = url.port ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
    const literalFamily = isIP(hostname);
    const addresses = literalFamily
      ? [{ address: hostname, family: literalFamily }]
      : await raceWithSignal(this.lookup(hostname), signal);
    const first = addresses[0];
    if (!first)
      throw failed(`no address for ${hostname}`, `I couldn't find the host ${hostname}.`, {
        category: "user",
      });
    // Every answer must pass, not just the first: the system resolver could prefer any of them.
    for (const { address } of addresses) {
      if (this.allowlist({ hostname, port, address })) continue;
      const restricted = classifyAddress(address);
      if (restricted) {
        throw refused(
          describeAddressClass(restricted),
          `refused ${hostname}:${port} (${address} is ${restricted})`,
        );
      }
    }
    return { hostname, port, address: first.address, family: first.family };
  }

  private send(
    url: URL,
    target: Target,
    headers: Record<string, string> | undefined,
    signal: AbortSignal,
  ): Promise<IncomingMessage> {
    const outgoing: Record<string, string> = {};
    for (const [name, value] of Object.entries(headers ?? {})) {
      if (!CONNECTION_HEADERS.has(name.toLowerCase())) outgoing[name] = value;
    }
    outgoing["user-agent"] = this.userAgent;
    outgoing["accept-encoding"] = "identity";
    outgoing.accept = "text/markdown, text/html;q=0.9, text/plain;q=0.8, application/pdf;q=0.8, */*;q=0.1";
    const client = url.protocol === "https:" ? https : http;
    return new Promise((resolve, reject) => {
      const request = client.request(
        {
          protocol: url.protocol,
          hostname: target.hostname,
          port: target.port,
          path: `${url.pathname}${url.search}`,
          method: "GET",
          headers: outgoing,
          // Without keep-alive, a fresh connection per hop. With it, a pooled connection for this host
          // name and port was opened to an address that passed the same check (see `keepAlive`).
          agent: this.agents ? (url.protocol === "https:" ? this.agents.https : this.agents.http) : false,
          lookup: pinnedLookup(target),
          // The certificate is verified against the URL's host name, not the pinned address.
          servername: isIP(target.hostname) ? undefined : target.hostname,
          ...(this.certificateAuthorities ? { ca: this.certificateAuthorities } : {}),
          signal,
        },
        resolve,
      );
      request.on("error", reject);
      request.end();
    });
  }

  private async readResource(
    url: URL,
    response: IncomingMessage,
    signal: AbortSignal,
    mediaTypes: readonly string[] | undefined,
  ): Promise<FetchedResource> {
    const { mediaType, charset } = parseContentType(response.headers["content-type"]);
    if (!(mediaTypes ? mediaTypes.includes(mediaType) : this.allowedMediaTypes.has(mediaType))) {
      response.destroy();
      throw new AppError(
        "unsupported_content",
        `unsupported content type ${mediaType} from ${describeUrl(url)}`,
        {
          category: "user",
          userMessage: `I can only read Markdown, plain text, HTML, CSV and PDF documents, and that address serves ${mediaType}.`,
        },
      );
    }
    const declared = Number(response.headers["content-length"]);
    if (Number.isFinite(declared) && declared > this.maxBytes) {
      response.destroy();
      throw this.tooLarge(url);
    }
    const onAbort = () => response.destroy(signal.reason instanceof Error ? signal.reason : undefined);
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      const chunks: Buffer[] = [];
      let total = 0;
      for await (const chunk of response as AsyncIterable<Buffer>) {
        total += chunk.length;
        if (total > this.maxBytes) {
          response.destroy();
          throw this.tooLarge(url);
        }
        chunks.push(chunk);
      }
      if (!response.complete)
        throw failed(`body cut short from ${describeUrl(url)}`, "The download was cut short.", {
          retryable: true,
        });
      return {
        finalUrl: url.href,
        mediaType,
        charset,
        fileName: fileNameOf(url, response.headers["content-disposition"]),
        body: new Uint8Array(Buffer.concat(chunks, total)),
        validators: validatorsOf(response, undefined),
      };
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }

  private tooLarge(url: URL): AppError {
    const megabytes = (this.maxBytes / (1024 * 1024)).toFixed(this.maxBytes < 1024 * 1024 ? 2 : 0);
    return new AppError("input_too_large", `body over ${this.maxBytes} bytes from ${describeUrl(url)}`, {
      category: "user",
      userMessage: `That document is larger than the ${megabytes} MB limit.`,
    });
  }
}

export function createSafeHttpFetcher(options: SafeHttpFetcherOptions = {}): SafeHttpFetcher {
  return new SafeHttpFetcher(options);
}
