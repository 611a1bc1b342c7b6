import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { GitHubConnector, parseGitHubTarget } from "../../../src/adapters/github/github-connector.js";
import { type AppError, isAppError } from "../../../src/core/errors.js";
import type {
  FetchedItem,
  SourceDescriptor,
  SourceListing,
  SourceRequest,
} from "../../../src/core/ports/source-connector.js";
import { blobSha, type GitHubStandIn, startGitHubStandIn } from "../../support/github-stand-in.js";

const TOKEN = "ghp_connectorTestToken0000000000000000000";

let github: GitHubStandIn;

beforeEach(async () => {
  github = await startGitHubStandIn({ token: TOKEN });
  github.addRepository("acme", "handbook", {
    "README.md": "# Handbook\nStart here.",
    "docs/deploy.md": "# Deploying\nRun `make deploy` from the main branch.",
    "docs/oncall.txt": "The on-call rotation changes every Monday.",
    "docs/diagram.png": "not text",
    "src/index.ts": "export {};",
  });
});

afterEach(async () => {
  expect(github.problems).toEqual([]);
  await github.close();
});

const connector = () => new GitHubConnector({ token: TOKEN, apiUrl: github.apiUrl });

const request = (target: string, workspaceWide = false): SourceRequest => ({
  target,
  platform: "slack",
  workspaceId: "T111",
  channelId: "CDOCS",
  userId: "UADMIN",
  workspaceWide,
  crawl: false,
});

async function descriptor(target: string, instance = connector()): Promise<SourceDescriptor> {
  const resolved = await instance.resolve(request(target));
  return {
    id: "s00000000gh",
    kind: resolved.kind,
    target: resolved.target,
    scope: resolved.scope,
    settings: resolved.settings,
  };
}

async function fetchChanged(
  instance: GitHubConnector,
  source: SourceDescriptor,
  listing: SourceListing,
  before: Map<string, string | undefined>,
): Promise<Map<string, FetchedItem>> {
  const fetched = new Map<string, FetchedItem>();
  for (const item of listing.items) {
    if (before.get(item.key) === item.version) continue;
    fetched.set(item.key, await instance.fetch(source, item, undefined));
  }
  return fetched;
}

async function refusal(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    if (isAppError(error)) return error;
    throw error;
  }
  throw new Error("expected a refusal");
}

describe("parseGitHubTarget", () => {
  it("reads owner, repo, path and ref", () => {
    expect(parseGitHubTarget("github:acme/handbook")).toEqual({
      owner: "acme",
      repo: "handbook",
      path: "",
      ref: undefined,
    });
    expect(parseGitHubTarget("github:acme/handbook/docs/guides@release/2.0")).toEqual({
      owner: "acme",
      repo: "handbook",
      path: "docs/guides",
      ref: "release/2.0",
    });
    expect(parseGitHubTarget("github:acme/handbook/../secrets")).toBeUndefined();
    expect(parseGitHubTarget("github:acme")).toBeUndefined();
  });
});

describe("GitHubConnector", () => {
  it("resolves a repository path to its canonical target on the default branch, checking it exists", async () => {
    const resolved = await connector().resolve(request("github:acme/handbook/docs"));
    expect(resolved).toMatchObject({
      kind: "github",
      target: "github:acme/handbook/docs@main",
      name: "acme/handbook/docs",
      scope: { platform: "slack", workspaceId: "T111", channelId: "CDOCS" },
      settings: {
        owner: "acme",
        repo: "handbook",
        path: "docs",
        ref: "main",
        htmlUrl: `${github.webUrl}/acme/handbook`,
      },
    });
    expect((await connector().resolve(request("github:acme/handbook", true))).scope).toEqual({
      platform: "slack",
      workspaceId: "T111",
    });
    const missing = await refusal(connector().resolve(request("github:acme/handbook/nothing-here")));
    expect(missing.userMessage).toMatch(/no `nothing-here` in acme\/handbook/);
    const unknown = await refusal(connector().resolve(request("github:acme/missing")));
    expect(unknown.category).toBe("user");
  });

  it("lists Markdown and text files under the path with blob SHAs, cited by blob URL, and reads them", async () => {
    const instance = connector();
    const source = await descriptor("github:acme/handbook/docs", instance);
    const listing = await instance.list(source, undefined);
    expect(listing.complete).toBe(true);
    expect(listing.items).toEqual([
      {
        key: "docs/deploy.md",
        title: "docs/deploy.md",
        url: `${github.webUrl}/acme/handbook/blob/main/docs/deploy.md`,
        version: blobSha("# Deploying\nRun `make deploy` from the main branch."),
      },
      {
        key: "docs/oncall.txt",
        title: "docs/oncall.txt",
        url: `${github.webUrl}/acme/handbook/blob/main/docs/oncall.txt`,
        version: blobSha("The on-call rotation changes every Monday."),
      },
    ]);
    const deploy = await instance.fetch(source, listing.items[0] as (typeof listing.items)[0], undefined);
    expect(deploy).toEqual({
      status: "fetched",
      document: {
        title: "Deploying (docs/deploy.md)",
        text: "# Deploying\nRun `make deploy` from the main branch.",
        format: "markdown",
      },
    });
    // The token went to the configured API, in the header Octokit uses.
    expect(github.requests.every((recorded) => recorded.authorization === `token ${TOKEN}`)).toBe(true);
  });

  it("builds blob URLs for a ref with a slash and paths with spaces the way GitHub's web paths read", async () => {
    github.commit("acme", "handbook", { "docs/on call.md": "# On call" }, "release/2.0");
    const instance = connector();
    const source = await descriptor("github:acme/handbook/docs@release/2.0", instance);
    expect(source.target).toBe("github:acme/handbook/docs@release/2.0");
    const listing = await instance.list(source, undefined);
    expect(listing.items.map((item) => item.url)).toEqual([
      `${github.webUrl}/acme/handbook/blob/release/2.0/docs/on%20call.md`,
    ]);
  });

  it("re-syncs by tree SHA: nothing read when the folder's tree is unchanged, only changed blobs otherwise", async () => {
    const instance = connector();
    const source = await descriptor("github:acme/handbook/docs", instance);
    const first = await instance.list(source, undefined);
    await fetchChanged(instance, source, first, new Map());
    const blobReads = () => github.requestsTo("/repos/{owner}/{repo}/git/blobs/{file_sha}").length;
    expect(blobReads()).toBe(2);

    // A commit outside the folder leaves its tree SHA as it was: an empty, incomplete listing.
    github.commit("acme", "handbook", { "README.md": "# Handbook\nNew intro." });
    const same = await instance.list(source, first.cursor);
    expect(same).toEqual({ items: [], complete: false, cursor: first.cursor });

    github.commit("acme", "handbook", {
      "docs/deploy.md": "# Deploying\nRun `make release` from a tag.",
      "docs/oncall.txt": null,
      "docs/faq.md": "# FAQ\nAsk in #help.",
    });
    const next = await instance.list(source, first.cursor);
    expect(next.cursor).not.toBe(first.cursor);
    expect(next.items.map((item) => item.key)).toEqual(["docs/deploy.md", "docs/faq.md"]);
    const fetched = await fetchChanged(
      instance,
      source,
      next,
      new Map(first.items.map((item) => [item.key, item.version])),
    );
    expect([...fetched.keys()]).toEqual(["docs/deploy.md", "docs/faq.md"]);
    expect(blobReads()).toBe(4);
    const deploy = fetched.get("docs/deploy.md");
    expect(deploy?.status === "fetched" && deploy.document.text).toContain("make release");
  });

  it("reads a public repository without a token, and a private one answers as missing without it", async () => {
    await github.close();
    github = await startGitHubStandIn();
    github.addRepository("acme", "open", { "guide.md": "# Guide" });
    github.addRepository("acme", "secret", { "plan.md": "# Plan" }, { isPrivate: true });
    const anonymous = new GitHubConnector({ apiUrl: github.apiUrl });
    const source = await descriptor("github:acme/open", anonymous);
    expect((await anonymous.list(source, undefined)).items.map((item) => item.key)).toEqual(["guide.md"]);
    expect(github.requests.every((recorded) => recorded.authorization === undefined)).toBe(true);
    const refused = await refusal(anonymous.resolve(request("github:acme/secret")));
    expect(refused.userMessage).toMatch(/no such repository.*GITHUB_TOKEN/);
  });

  it("keeps the token out of every error, and refuses to follow GitHub anywhere but GITHUB_API_URL", async () => {
    const wrong = new GitHubConnector({
      token: "ghp_wrongTokenValue000000000000000000000",
      apiUrl: github.apiUrl,
    });
    const refused = await refusal(wrong.resolve(request("github:acme/handbook")));
    expect(refused.userMessage).toMatch(/refused GITHUB_TOKEN/);
    const everything = JSON.stringify({
      message: refused.message,
      user: refused.userMessage,
      stack: refused.stack,
      cause: String(refused.cause),
    });
    expect(everything).not.toContain("ghp_wrongTokenValue");

    // A renamed repository redirects on the same host: followed, token and all.
    github.addRepository("acme", "guide", { "intro.md": "# Intro" });
    github.redirectRepository("acme", "old-guide", { apiUrl: github.apiUrl, owner: "acme", name: "guide" });
    const renamed = await connector().resolve(request("github:acme/old-guide"));
    expect(renamed.settings.htmlUrl).toBe(`${github.webUrl}/acme/guide`);

    // A redirect to another host never gets a request, let alone the token.
    const elsewhere = await startGitHubStandIn();
    try {
      elsewhere.addRepository("acme", "moved", { "stolen.md": "# Stolen" });
      github.redirectRepository("acme", "moved", { apiUrl: elsewhere.apiUrl, owner: "acme", name: "moved" });
      const stopped = await refusal(connector().resolve(request("github:acme/moved")));
      expect(stopped.userMessage).toMatch(/another host than GITHUB_API_URL/);
      expect(elsewhere.requests).toEqual([]);
    } finally {
      await elsewhere.close();
    }
  });
});
