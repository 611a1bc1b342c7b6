import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { OpenApiValidator } from "./openapi-validator.js";

/**
 * A local GitHub REST API for tests: the real Octokit client reaches it through `baseUrl`
 * (`GITHUB_API_URL`). Every request is matched against GitHub's published OpenAPI description (the
 * subset in `test/fixtures/specs/github/`, from `@octokit/openapi`): an operation outside it, an
 * undeclared or invalid query parameter, a wrong `Accept` or a token other than the expected one is
 * answered as GitHub would and listed in `problems`; every 200 body the stand-in serves is validated
 * against the operation's response schema too. Repositories hold files per branch; blob and tree SHAs
 * are computed as git computes them, so an unchanged file keeps its SHA across commits.
 */

export interface RecordedGitHubRequest {
  method: string;
  path: string;
  template: string | undefined;
  query: URLSearchParams;
  authorization: string | undefined;
  status: number;
}

interface StandInRepository {
  owner: string;
  name: string;
  isPrivate: boolean;
  defaultBranch: string;
  /** branch → path → content */
  branches: Map<string, Map<string, string>>;
}

export interface GitHubStandInOptions {
  /** When set, requests must carry it (`Authorization: token …` or `Bearer …`); others get 401. */
  token?: string;
}

const gitObjectSha = (kind: string, body: Buffer) =>
  createHash("sha1")
    .update(Buffer.concat([Buffer.from(`${kind} ${body.length}\0`), body]))
    .digest("hex");

export const blobSha = (content: string) => gitObjectSha("blob", Buffer.from(content, "utf8"));

interface TreeEntry {
  path: string;
  mode: string;
  type: "blob" | "tree";
  sha: string;
  size?: number;
}

/** Git's tree objects for a set of files: the root SHA and every entry, recursively, as `?recursive=1` lists them. */
function buildTree(files: Map<string, string>): { sha: string; entries: TreeEntry[] } {
  const entries: TreeEntry[] = [];
  const shaOf = (prefix: string): string => {
    const children = new Map<string, { mode: string; sha: string }>();
    for (const [path, content] of files) {
      if (prefix !== "" && !path.startsWith(`${prefix}/`)) continue;
      const rest = prefix === "" ? path : path.slice(prefix.length + 1);
      const [head = "", ...tail] = rest.split("/");
      const full = prefix === "" ? head : `${prefix}/${head}`;
      if (children.has(head)) continue;
      if (tail.length === 0) {
        const sha = blobSha(content);
        children.set(head, { mode: "100644", sha });
        entries.push({ path: full, mode: "100644", type: "blob", sha, size: Buffer.byteLength(content) });
      } else {
        const sha = shaOf(full);
        children.set(head, { mode: "40000", sha });
        entries.push({ path: full, mode: "040000", type: "tree", sha });
      }
    }
    const body = Buffer.concat(
      [...children.entries()]
        .sort(([left], [right]) => (left < right ? -1 : 1))
        .map(([name, child]) =>
          Buffer.concat([Buffer.from(`${child.mode} ${name}\0`), Buffer.from(child.sha, "hex")]),
        ),
    );
    return gitObjectSha("tree", body);
  };
  const sha = shaOf("");
  return { sha, entries: entries.sort((left, right) => (left.path < right.path ? -1 : 1)) };
}

export class GitHubStandIn {
  readonly requests: RecordedGitHubRequest[] = [];
  readonly problems: string[] = [];
  private readonly repositories = new Map<string, StandInRepository>();
  /** `owner/name` → where requests about it are redirected (a renamed or moved repository). */
  private readonly redirects = new Map<string, string>();
  private readonly validator = new OpenApiValidator("github/api.github.com.subset.json");
  private readonly server = createServer((request, response) => {
    this.handle(request, response).catch((error: unknown) => {
      this.problems.push(`stand-in crashed on ${request.method} ${request.url}: ${String(error)}`);
      if (!response.headersSent) response.writeHead(500).end();
    });
  });
  private port = 0;

  constructor(private readonly options: GitHubStandInOptions = {}) {}

  /** The API base URL, as `GITHUB_API_URL` (Enterprise: `https://host/api/v3`). */
  get apiUrl(): string {
    return `http://127.0.0.1:${this.port}/api/v3`;
  }

  /** What `html_url` says: the web address blob links are built on. */
  get webUrl(): string {
    return "https://github.stand-in.test";
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  addRepository(
    owner: string,
    name: string,
    files: Record<string, string>,
    options: { isPrivate?: boolean; branch?: string } = {},
  ): void {
    const branch = options.branch ?? "main";
    this.repositories.set(`${owner}/${name}`.toLowerCase(), {
      owner,
      name,
      isPrivate: options.isPrivate ?? false,
      defaultBranch: branch,
      branches: new Map([[branch, new Map(Object.entries(files))]]),
    });
  }

  /** A commit on a branch: files set (string) or deleted (null). */
  commit(owner: string, name: string, changes: Record<string, string | null>, branch?: string): void {
    const repository = this.repository(owner, name);
    const files = repository.branches.get(branch ?? repository.defaultBranch) ?? new Map<string, string>();
    for (const [path, content] of Object.entries(changes)) {
      if (content === null) files.delete(path);
      else files.set(path, content);
    }
    repository.branches.set(branch ?? repository.defaultBranch, files);
  }

  /**
   * Answers every request about `owner/name` with 301 to the same path under `baseUrl`, as GitHub does
   * for a renamed repository (there on the same host; a test may name another).
   */
  redirectRepository(owner: string, name: string, to: { apiUrl: string; owner: string; name: string }): void {
    this.redirects.set(`${owner}/${name}`.toLowerCase(), `${to.apiUrl}/repos/${to.owner}/${to.name}`);
  }

  /** Requests to one spec operation, in arrival order. */
  requestsTo(template: string): RecordedGitHubRequest[] {
    return this.requests.filter((request) => request.template === template);
  }

  private repository(owner: string, name: string): StandInRepository {
    const repository = this.repositories.get(`${owner}/${name}`.toLowerCase());
    if (!repository) throw new Error(`no repository ${owner}/${name}`);
    return repository;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    for await (const _ of request) {
      // GET requests only; the body is drained and ignored.
    }
    const url = new URL(request.url ?? "/", "http://127.0.0.1");
    const method = (request.method ?? "GET").toUpperCase();
    const basePath = "/api/v3";
    const path = url.pathname.startsWith(basePath) ? url.pathname.slice(basePath.length) : url.pathname;
    // Octokit percent-encodes each path parameter (a ref `release/2.0` arrives as `release%2F2.0`).
    const template = this.validator.matchPath(path);
    const record: RecordedGitHubRequest = {
      method,
      path,
      template,
      query: url.searchParams,
      authorization: request.headers.authorization,
      status: 0,
    };
    this.requests.push(record);
    const send = (status: number, body: unknown) => {
      record.status = status;
      response.writeHead(status, {
        "content-type": "application/json; charset=utf-8",
        "x-github-media-type": "github.v3",
      });
      response.end(JSON.stringify(body));
    };
    const fail = (status: number, message: string, problem?: string) => {
      if (problem) this.problems.push(`${method} ${path}: ${problem}`);
      send(status, { message, documentation_url: "https://docs.github.com/rest", status: String(status) });
    };
    const serve = (body: unknown) => {
      const result = this.validator.validateResponseBody(template ?? "", method, "200", body);
      if (!result.ok)
        this.problems.push(`${method} ${path}: the stand-in's answer breaks the spec: ${result.errors}`);
      send(200, body);
    };

    if (!url.pathname.startsWith(basePath)) return fail(404, "Not Found", "not under /api/v3");
    if (!template || !this.validator.hasOperation(template, method)) {
      return fail(404, "Not Found", `no ${method} ${path} in the spec subset (test/fixtures/specs/github)`);
    }
    const query = this.validator.validateQueryParameters(template, method, url.searchParams);
    if (!query.ok) return fail(422, "Validation Failed", query.errors);
    const accept = String(request.headers.accept ?? "");
    if (!/application\/(vnd\.github(\.v3)?(\+json)?|json)/.test(accept)) {
      this.problems.push(`${method} ${path}: Accept ${accept} is not a GitHub media type`);
    }
    if (!String(request.headers["user-agent"] ?? "")) {
      // GitHub refuses requests without a User-Agent.
      return fail(
        403,
        "Request forbidden by administrative rules. Please make sure your request has a User-Agent header",
        "no User-Agent",
      );
    }
    const presented = request.headers.authorization?.replace(/^(token|Bearer)\s+/i, "");
    if (this.options.token !== undefined && presented !== this.options.token) {
      return fail(401, "Bad credentials");
    }

    const [, , ownerPart = "", namePart = "", , kind = "", ...rest] = path.split("/").map(decodeURIComponent);
    const redirect = this.redirects.get(`${ownerPart}/${namePart}`.toLowerCase());
    if (redirect) {
      record.status = 301;
      const tail = path.split("/").slice(4).join("/");
      const location = `${redirect}${tail ? `/${tail}` : ""}${url.search}`;
      response.writeHead(301, { location, "content-type": "application/json" });
      response.end(
        JSON.stringify({
          message: "Moved Permanently",
          url: location,
          documentation_url: "https://docs.github.com/rest",
        }),
      );
      return;
    }
    const repository = this.repositories.get(`${ownerPart}/${namePart}`.toLowerCase());
    // GitHub answers 404 for a private repository the token cannot read, as if it did not exist.
    if (!repository || (repository.isPrivate && presented === undefined)) return fail(404, "Not Found");
    const apiRepo = `${this.apiUrl}/repos/${repository.owner}/${repository.name}`;

    if (template === "/repos/{owner}/{repo}") return serve(this.repositoryBody(repository, apiRepo));

    const treeOf = (reference: string) => {
      const files = repository.branches.get(reference);
      if (files) return buildTree(files);
      for (const branchFiles of repository.branches.values()) {
        const tree = buildTree(branchFiles);
        if (tree.sha === reference) return tree;
      }
      return undefined;
    };

    if (template === "/repos/{owner}/{repo}/git/trees/{tree_sha}" && kind === "trees") {
      const reference = rest.join("/");
      const tree = treeOf(reference);
      if (!tree) return fail(404, "Not Found");
      const recursive = url.searchParams.has("recursive");
      const entries = recursive ? tree.entries : tree.entries.filter((entry) => !entry.path.includes("/"));
      return serve({
        sha: tree.sha,
        url: `${apiRepo}/git/trees/${tree.sha}`,
        truncated: false,
        tree: entries.map((entry) => ({
          ...entry,
          url: `${apiRepo}/git/${entry.type === "blob" ? "blobs" : "trees"}/${entry.sha}`,
        })),
      });
    }

    if (template === "/repos/{owner}/{repo}/git/blobs/{file_sha}" && kind === "blobs") {
      const sha = rest.join("/");
      for (const files of repository.branches.values()) {
        for (const content of files.values()) {
          if (blobSha(content) !== sha) continue;
          const body = Buffer.from(content, "utf8");
          return serve({
            sha,
            node_id: Buffer.from(`blob:${sha}`).toString("base64"),
            size: body.length,
            url: `${apiRepo}/git/blobs/${sha}`,
            // GitHub wraps base64 at 60 characters per line.
            content: (body.toString("base64").match(/.{1,60}/g) ?? []).join("\n"),
            encoding: "base64",
          });
        }
      }
      return fail(404, "Not Found");
    }
    return fail(404, "Not Found", `the stand-in does not serve ${method} ${template}`);
  }

  private repositoryBody(repository: StandInRepository, apiRepo: string): Record<string, unknown> {
    const html = `${this.webUrl}/${repository.owner}/${repository.name}`;
    const urls: Record<string, string> = {};
    for (const name of [
      "archive",
      "assignees",
      "blobs",
      "branches",
      "collaborators",
      "comments",
      "commits",
      "compare",
      "contents",
      "contributors",
      "deployments",
      "downloads",
      "events",
      "forks",
      "git_commits",
      "git_refs",
      "git_tags",
      "hooks",
      "issue_comment",
      "issue_events",
      "issues",
      "keys",
      "labels",
      "languages",
      "merges",
      "milestones",
      "notifications",
      "pulls",
      "releases",
      "stargazers",
      "statuses",
      "subscribers",
      "subscription",
      "tags",
      "teams",
      "trees",
    ]) {
      urls[`${name}_url`] = `${apiRepo}/${name.replace("_", "/")}`;
    }
    const timestamp = "2026-01-01T00:00:00Z";
    return {
      ...urls,
      id: 1296269,
      node_id: "MDEwOlJlcG9zaXRvcnkxMjk2MjY5",
      name: repository.name,
      full_name: `${repository.owner}/${repository.name}`,
      owner: {
        login: repository.owner,
        id: 1,
        node_id: "MDQ6VXNlcjE=",
        avatar_url: `${this.webUrl}/avatars/${repository.owner}`,
        gravatar_id: "",
        url: `${this.apiUrl}/users/${repository.owner}`,
        html_url: `${this.webUrl}/${repository.owner}`,
        followers_url: `${this.apiUrl}/users/${repository.owner}/followers`,
        following_url: `${this.apiUrl}/users/${repository.owner}/following{/other_user}`,
        gists_url: `${this.apiUrl}/users/${repository.owner}/gists{/gist_id}`,
        starred_url: `${this.apiUrl}/users/${repository.owner}/starred{/owner}{/repo}`,
        subscriptions_url: `${this.apiUrl}/users/${repository.owner}/subscriptions`,
        organizations_url: `${this.apiUrl}/users/${repository.owner}/orgs`,
        repos_url: `${this.apiUrl}/users/${repository.owner}/repos`,
        events_url: `${this.apiUrl}/users/${repository.owner}/events{/privacy}`,
        received_events_url: `${this.apiUrl}/users/${repository.owner}/received_events`,
        type: "Organization",
        site_admin: false,
      },
      private: repository.isPrivate,
      html_url: html,
      description: null,
      fork: false,
      url: apiRepo,
      clone_url: `${html}.git`,
      git_url: `git://github.stand-in.test/${repository.owner}/${repository.name}.git`,
      ssh_url: `git@github.stand-in.test:${repository.owner}/${repository.name}.git`,
      svn_url: html,
      mirror_url: null,
      homepage: null,
      language: null,
      default_branch: repository.defaultBranch,
      forks: 0,
      forks_count: 0,
      stargazers_count: 0,
      watchers: 0,
      watchers_count: 0,
      open_issues: 0,
      open_issues_count: 0,
      network_count: 0,
      subscribers_count: 0,
      size: 1,
      has_issues: true,
      has_projects: false,
      has_wiki: false,
      has_pages: false,
      has_discussions: false,
      archived: false,
      disabled: false,
      license: null,
      pushed_at: timestamp,
      created_at: timestamp,
      updated_at: timestamp,
    };
  }
}

export async function startGitHubStandIn(options: GitHubStandInOptions = {}): Promise<GitHubStandIn> {
  return new GitHubStandIn(options).listen();
}
