import type { Octokit } from "@octokit/rest";
import { AppError, isAppError } from "../../core/errors.js";
import { type Logger, silentLogger } from "../../core/ports/logger.js";
import type {
  FetchedItem,
  ResolvedSource,
  SourceConnector,
  SourceDescriptor,
  SourceItem,
  SourceListing,
  SourceRequest,
} from "../../core/ports/source-connector.js";

export interface GitHubConnectorOptions {
  /** `GITHUB_TOKEN`: optional (public repositories read without one, at a lower rate limit). Sent only to `apiUrl`'s origin. */
  token?: string | undefined;
  /** `GITHUB_API_URL`: `https://api.github.com` by default; `https://<host>/api/v3` for GitHub Enterprise Server. */
  apiUrl?: string | undefined;
  logger?: Logger | undefined;
  /** Files larger than this are left out of the listing. Default 2 MiB. */
  maxFileBytes?: number | undefined;
  /** Most files one source holds when its settings name no `maxItems`. Default 2000. */
  defaultMaxFiles?: number | undefined;
}

/** `github:owner/repo`, `github:owner/repo/docs/guide`, `github:owner/repo/docs@v2`. */
const TARGET = /^github:([A-Za-z0-9-]{1,39})\/([A-Za-z0-9._-]{1,100})((?:\/[^@\s]*)?)(?:@([^\s@]{1,200}))?$/;
/** Files read as documents: Markdown and plain-text formats. */
const MARKDOWN = /\.(md|markdown|mdx)$/i;
const TEXT = /\.(txt|text|rst|adoc|asciidoc)$/i;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 3;

interface RepositoryTarget {
  owner: string;
  repo: string;
  /** A folder or file inside the repository, without leading or trailing slashes; "" for all of it. */
  path: string;
  ref: string | undefined;
}

export function parseGitHubTarget(target: string): RepositoryTarget | undefined {
  const match = TARGET.exec(target.trim());
  if (!match?.[1] || !match[2]) return undefined;
  const path = (match[3] ?? "").replace(/^\/+|\/+$/g, "");
  if (path.split("/").some((segment) => segment === ".." || segment === ".")) return undefined;
  return { owner: match[1], repo: match[2].replace(/\.git$/, ""), path, ref: match[4] };
}

interface TreeEntry {
  path?: string;
  type?: string;
  sha?: string;
  size?: number;
}

/**
 * Markdown and text files of a GitHub repository (or a folder of it) as documents, through the
 * GitHub REST API with Octokit: one recursive `git/trees` read lists the files with their blob SHAs,
 * `git/blobs` reads a file. Each file is cited by its blob URL on the repository's web address
 * (`html_url`, so Enterprise hosts link right). The cursor is the SHA of the indexed tree: when it has
 * not moved, nothing under it changed and the sync reads nothing more; otherwise an item's version is
 * its blob SHA, so only changed files are fetched.
 *
 * The token is given to Octokit only, which sends it to `apiUrl`'s origin; requests to any other
 * origin are refused before they leave, and no error or log line carries it.
 *
 * @see https://docs.github.com/en/rest/git/trees#get-a-tree
 * @see https://docs.github.com/en/rest/git/blobs#get-a-blob
 */
export class GitHubConnector implements SourceConnector {
  readonly kind = "github" as const;
  private readonly octokitOptions: NonNullable<ConstructorParameters<typeof Octokit>[0]>;
  /** Made on first use: Octokit is some twenty modules that a process syncing no repository never loads. */
  private octokit: Promise<Octokit> | undefined;
  private readonly logger: Logger;
  private readonly maxFileBytes: number;
  private readonly defaultMaxFiles: number;

  constructor(options: GitHubConnectorOptions = {}) {
    this.logger = (options.logger ?? silentLogger).child({ component: "github-connector" });
    this.maxFileBytes = options.maxFileBytes ?? 2 * 1024 * 1024;
    this.defaultMaxFiles = options.defaultMaxFiles ?? 2_000;
    const baseUrl = (options.apiUrl ?? "https://api.github.com").replace(/\/+$/, "");
    const origin = new URL(baseUrl).origin;
    // GitHub answers a renamed repository with a redirect, and Octokit's fetch would follow any
    // redirect with the token: each hop is checked here, and only the configured API's origin (where
    // the token belongs) is ever reached.
    const guardedFetch: typeof fetch = async (input, init) => {
      let url = new URL(typeof input === "string" ? input : input instanceof URL ? input.href : input.url);
      for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
        if (url.origin !== origin) {
          throw new AppError("fetch_refused", `GitHub request to ${url.origin} outside GITHUB_API_URL`, {
            category: "user",
            userMessage: "GitHub sent me to another host than GITHUB_API_URL, so I stopped there.",
          });
        }
        const response = await fetch(url, { ...init, redirect: "manual" });
        const location = response.headers.get("location");
        if (!REDIRECT_STATUSES.has(response.status) || !location) return response;
        await response.body?.cancel();
        url = new URL(location, url);
      }
      throw new AppError("fetch_failed", "too many GitHub redirects", { category: "third_party" });
    };
    const log = this.logger;
    this.octokitOptions = {
      ...(options.token ? { auth: options.token } : {}),
      baseUrl,
      userAgent: "teammate",
      request: { fetch: guardedFetch },
      // Octokit's request log names method, path and status, never headers.
      log: {
        debug: (message: string) => log.debug({}, message),
        info: (message: string) => log.debug({}, message),
        warn: (message: string) => log.warn({}, message),
        error: (message: string) => log.error({}, message),
      },
    };
  }

  recognizes(target: string): boolean {
    return /^github:/i.test(target.trim());
  }

  async resolve(request: SourceRequest, signal?: AbortSignal): Promise<ResolvedSource> {
    const parsed = parseGitHubTarget(request.target);
    if (!parsed) {
      throw new AppError("input_invalid", "not a GitHub target", {
        category: "user",
        userMessage:
          "Give the repository as `github:<owner>/<repo>[/<path>][@<ref>]`, like `github:acme/handbook/docs@main`.",
      });
    }
    const name = `${parsed.owner}/${parsed.repo}`;
    const repository = await this.call(`read ${name}`, (octokit) =>
      octokit.rest.repos.get({ owner: parsed.owner, repo: parsed.repo, request: signalOption(signal) }),
    );
    const ref = parsed.ref ?? repository.data.default_branch;
    // The ref and path must exist now, so a typo is answered at once and not at the first sync.
    const tree = await this.readTree(parsed.owner, parsed.repo, ref, signal);
    if (parsed.path !== "" && !tree.entries.some((entry) => entry.path === parsed.path)) {
      throw new AppError("not_found", `no ${parsed.path} in ${name}@${ref}`, {
        category: "user",
        userMessage: `There is no \`${parsed.path}\` in ${name} at \`${ref}\`.`,
      });
    }
    const canonical = `github:${name}${parsed.path ? `/${parsed.path}` : ""}@${ref}`;
    return {
      kind: this.kind,
      target: canonical,
      name: `${name}${parsed.path ? `/${parsed.path}` : ""}`,
      scope: {
        platform: request.platform,
        workspaceId: request.workspaceId,
        ...(request.workspaceWide ? {} : { channelId: request.channelId }),
      },
      settings: {
        owner: parsed.owner,
        repo: parsed.repo,
        path: parsed.path,
        ref,
        htmlUrl: repository.data.html_url,
        ...(request.maxItems !== undefined ? { maxItems: request.maxItems } : {}),
      },
    };
  }

  async list(
    source: SourceDescriptor,
    cursor: string | undefined,
    signal?: AbortSignal,
  ): Promise<SourceListing> {
    const { owner, repo, path, ref, htmlUrl } = this.settingsOf(source);
    const tree = await this.readTree(owner, repo, ref, signal);
    // The SHA of what is indexed: the folder's own tree, the file's blob, or the whole tree.
    const own = path === "" ? tree.sha : tree.entries.find((entry) => entry.path === path)?.sha;
    if (own === undefined) return { items: [], complete: true };
    if (cursor !== undefined && own === cursor) return { items: [], complete: false, cursor };
    const maxFiles =
      typeof source.settings.maxItems === "number" ? source.settings.maxItems : this.defaultMaxFiles;
    const items: SourceItem[] = [];
    for (const entry of tree.entries) {
      if (items.length >= maxFiles) break;
      if (entry.type !== "blob" || !entry.path || !entry.sha) continue;
      if (path !== "" && entry.path !== path && !entry.path.startsWith(`${path}/`)) continue;
      if (!MARKDOWN.test(entry.path) && !TEXT.test(entry.path)) continue;
      if ((entry.size ?? 0) > this.maxFileBytes) continue;
      items.push({
        key: entry.path,
        title: entry.path,
        url: `${htmlUrl}/blob/${encodePath(ref)}/${encodePath(entry.path)}`,
        version: entry.sha,
      });
    }
    return { items, complete: true, cursor: own };
  }

  async fetch(
    source: SourceDescriptor,
    item: SourceItem,
    _previous: unknown,
    signal?: AbortSignal,
  ): Promise<FetchedItem> {
    const { owner, repo } = this.settingsOf(source);
    if (!item.version) return { status: "gone" };
    const sha = item.version;
    let blob: { content: string; encoding: string };
    try {
      blob = (
        await this.call(`read ${item.key}`, (octokit) =>
          octokit.rest.git.getBlob({ owner, repo, file_sha: sha, request: signalOption(signal) }),
        )
      ).data;
    } catch (error) {
      if (isAppError(error) && error.code === "not_found") return { status: "gone" };
      throw error;
    }
    const bytes = Buffer.from(blob.content, blob.encoding === "base64" ? "base64" : "utf8");
    if (bytes.includes(0)) {
      throw new AppError("unsupported_content", `${item.key} is binary`, {
        category: "user",
        userMessage: `${item.key} is not a text file.`,
      });
    }
    const text = bytes.toString("utf8");
    const markdown = MARKDOWN.test(item.key);
    const heading = markdown ? /^#\s+(.+)$/m.exec(text)?.[1]?.trim() : undefined;
    const title = heading ? `${heading} (${item.key})` : item.key;
    return { status: "fetched", document: { title, text, format: markdown ? "markdown" : "text" } };
  }

  private settingsOf(source: SourceDescriptor) {
    const { owner, repo, path, ref, htmlUrl } = source.settings;
    if (
      typeof owner !== "string" ||
      typeof repo !== "string" ||
      typeof ref !== "string" ||
      typeof htmlUrl !== "string"
    ) {
      throw new AppError("internal", `GitHub source ${source.id} lacks its settings`);
    }
    return { owner, repo, ref, htmlUrl, path: typeof path === "string" ? path : "" };
  }

  private async readTree(owner: string, repo: string, ref: string, signal?: AbortSignal) {
    const response = await this.call(`read ${owner}/${repo}@${ref}`, (octokit) =>
      octokit.rest.git.getTree({
        owner,
        repo,
        tree_sha: ref,
        recursive: "1",
        request: signalOption(signal),
      }),
    );
    if (response.data.truncated) {
      // Over GitHub's limit for one recursive read (100,000 entries / 7 MB): index what was listed.
      this.logger.warn({ owner, repo }, "recursive tree truncated by GitHub; indexing the part listed");
    }
    return { sha: response.data.sha, entries: response.data.tree as TreeEntry[] };
  }

  private async call<Result>(what: string, run: (octokit: Octokit) => Promise<Result>): Promise<Result> {
    this.octokit ??= import("@octokit/rest").then(({ Octokit }) => new Octokit(this.octokitOptions));
    const octokit = await this.octokit;
    try {
      return await run(octokit);
    } catch (error) {
      throw translateGitHubError(error, what);
    }
  }
}

/**
 * Octokit's `RequestError` carries the request, headers included (the token is masked there, but
 * the object is never passed on): only the status and GitHub's message survive.
 */
function translateGitHubError(error: unknown, what: string): AppError {
  if (isAppError(error)) return error;
  // Octokit wraps whatever its fetch threw (the origin guard's refusal) as a 500 with that cause.
  const cause = (error as { cause?: unknown } | undefined)?.cause;
  if (isAppError(cause)) return cause;
  const status = (error as { status?: unknown } | undefined)?.status;
  const headers = (error as { response?: { headers?: Record<string, string> } } | undefined)?.response
    ?.headers;
  if (typeof status !== "number") {
    if (error instanceof Error && error.name === "AbortError") throw error;
    return new AppError("fetch_failed", `GitHub unreachable to ${what}`, {
      category: "third_party",
      retryable: true,
      userMessage: `I couldn't reach GitHub to ${what}.`,
    });
  }
  if (status === 404 || status === 409 || status === 422) {
    return new AppError("not_found", `GitHub ${status} to ${what}`, {
      category: "user",
      userMessage: `GitHub has no such repository, path or ref (or GITHUB_TOKEN may not read it): I couldn't ${what}.`,
    });
  }
  if (status === 401) {
    return new AppError("fetch_refused", `GitHub 401 to ${what}`, {
      category: "user",
      userMessage: "GitHub refused GITHUB_TOKEN (bad credentials): an operator needs to replace it.",
    });
  }
  if ((status === 403 || status === 429) && (headers?.["x-ratelimit-remaining"] === "0" || status === 429)) {
    return new AppError("fetch_failed", `GitHub rate limit to ${what}`, {
      category: "third_party",
      retryable: true,
      userMessage:
        "GitHub's rate limit is used up for now; the sync will try again later (a GITHUB_TOKEN raises the limit).",
    });
  }
  return new AppError("fetch_failed", `GitHub ${status} to ${what}`, {
    category: status === 403 ? "user" : "third_party",
    retryable: status >= 500,
    userMessage: `GitHub answered ${status} when I tried to ${what}.`,
  });
}

/** Each segment percent-encoded, the slashes kept: GitHub's web paths (`blob/release/2.0/docs/a b.md`). */
const encodePath = (path: string) => path.split("/").map(encodeURIComponent).join("/");

const signalOption = (signal: AbortSignal | undefined) => (signal ? { signal } : {});
