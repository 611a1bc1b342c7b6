import { request as httpRequest } from "node:http";
import { type AddressInfo, createServer, type Server } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  type HostLookup,
  type ResolvedAddress,
  SafeHttpFetcher,
  type SafeHttpFetcherOptions,
} from "../../../src/adapters/http/safe-http-fetcher.js";
import { AppError } from "../../../src/core/errors.js";
import { installConnectionTripwire } from "../../support/connection-tripwire.js";
import { type LocalHttpServer, startLocalHttpServer } from "../../support/local-http-server.js";

// Names the tests resolve to 127.0.0.1 on purpose; any other connection attempt trips the wire.
const tripwire = installConnectionTripwire(["127.0.0.1", "files.test", "other.test", "rebind.test"]);
afterAll(() => tripwire.uninstall());
afterEach(() => {
  expect(tripwire.blocked).toEqual([]);
});

it("the tripwire blocks a connection it was not told about (so it can catch a broken guard)", () => {
  expect(() => httpRequest({ hostname: "127.0.0.2", port: 9, agent: false })).toThrow(/connection tripwire/);
  expect(tripwire.blocked).toEqual(["127.0.0.2"]);
  tripwire.blocked.length = 0;
});

const FAKE_DNS: Record<string, string[]> = {
  "files.test": ["127.0.0.1"],
  "other.test": ["127.0.0.1"],
  "loopback.test": ["127.0.0.1"],
  "private-10.test": ["10.1.2.3"],
  "private-172.test": ["172.20.0.5"],
  "private-192.test": ["192.168.1.10"],
  "metadata.test": ["169.254.169.254"],
  "cgnat.test": ["100.100.100.100"],
  "unspecified.test": ["0.0.0.0"],
  "v6-loopback.test": ["::1"],
  "v6-unique-local.test": ["fd00::1"],
  "v6-link-local.test": ["fe80::1"],
  "v6-mapped.test": ["::ffff:192.168.1.1"],
  "v6-mapped-metadata.test": ["::ffff:169.254.169.254"],
  "multicast.test": ["239.1.2.3"],
  // One public and one private answer: the resolver may pick either, so the name is refused.
  "mixed.test": ["93.184.216.34", "10.0.0.7"],
};

function fakeLookup(calls: string[] = []): HostLookup {
  return async (hostname) => {
    calls.push(hostname);
    const addresses = FAKE_DNS[hostname];
    if (!addresses)
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" });
    return addresses.map((address): ResolvedAddress => ({ address, family: address.includes(":") ? 6 : 4 }));
  };
}

const failingLookup: HostLookup = async (hostname) => {
  throw new Error(`lookup must not be called (asked for ${hostname})`);
};

function fetcher(options: SafeHttpFetcherOptions = {}): SafeHttpFetcher {
  return new SafeHttpFetcher({ lookup: fakeLookup(), timeoutMs: 5_000, ...options });
}

async function failure(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}

let server: LocalHttpServer;
let bystander: LocalHttpServer;

beforeAll(async () => {
  bystander = await startLocalHttpServer((_request, response) => response.end("bystander"));
  server = await startLocalHttpServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://placeholder");
    if (url.pathname === "/doc.md") {
      response.writeHead(200, { "content-type": "text/markdown; charset=utf-8" });
      response.end("# Hello\n\nfrom the local server");
      return;
    }
    if (url.pathname === "/redirect") {
      response.writeHead(302, { location: url.searchParams.get("to") ?? "/" });
      response.end();
      return;
    }
    const hop = /^\/hop\/(\d+)$/.exec(url.pathname);
    if (hop) {
      const remaining = Number(hop[1]);
      if (remaining === 0) {
        response.writeHead(200, { "content-type": "text/plain" });
        response.end("arrived");
      } else {
        response.writeHead(301, { location: `/hop/${remaining - 1}` });
        response.end();
      }
      return;
    }
    if (url.pathname === "/image.png") {
      response.writeHead(200, { "content-type": "image/png" });
      response.end(Buffer.from([0x89, 0x50, 0x4e, 0x47]));
      return;
    }
    if (url.pathname === "/json") {
      response.writeHead(200, { "content-type": "application/json" });
      response.end("{}");
      return;
    }
    if (url.pathname === "/big-chunked") {
      // No Content-Length: the body arrives chunked and only counting stops it.
      response.writeHead(200, { "content-type": "text/plain" });
      const chunk = "x".repeat(16 * 1024);
      for (let index = 0; index < 16; index += 1) response.write(chunk);
      response.end();
      return;
    }
    if (url.pathname === "/declared-huge") {
      // Declares more than the cap and then never sends: the fetcher must not wait for the body.
      response.writeHead(200, { "content-type": "text/plain", "content-length": String(50 * 1024 * 1024) });
      response.write("x");
      return;
    }
    if (url.pathname === "/small") {
      response.writeHead(200, { "content-type": "text/plain" });
      response.end("y".repeat(1000));
      return;
    }
    if (url.pathname === "/trickle") {
      response.writeHead(200, { "content-type": "text/plain" });
      const timer = setInterval(() => response.write("."), 50);
      response.on("close", () => clearInterval(timer));
      return;
    }
    if (url.pathname === "/silent") return;
    if (url.pathname === "/missing") {
      response.writeHead(404, { "content-type": "text/plain" });
      response.end("nope");
      return;
    }
    if (url.pathname === "/attachment") {
      response.writeHead(200, {
        "content-type": "application/octet-stream",
        "content-disposition": `attachment; filename="notes.md"`,
      });
      response.end("# Notes");
      return;
    }
    response.writeHead(404);
    response.end();
  });
});

afterAll(async () => {
  await server.close();
  await bystander.close();
});

const allowServer = () => [`127.0.0.1:${server.port}`];

describe("SafeHttpFetcher on an allowlisted local server", () => {
  it("fetches the body, media type and charset", async () => {
    const resource = await fetcher({ allowedHosts: allowServer() }).fetch({ url: `${server.origin}/doc.md` });
    expect(Buffer.from(resource.body).toString("utf8")).toBe("# Hello\n\nfrom the local server");
    expect(resource.mediaType).toBe("text/markdown");
    expect(resource.charset).toBe("utf-8");
    expect(resource.fileName).toBe("doc.md");
  });

  it("refuses the same server when it is not allowlisted, before connecting", async () => {
    const before = server.requests.length;
    const error = await failure(fetcher().fetch({ url: `${server.origin}/doc.md` }));
    expect(error.code).toBe("fetch_refused");
    expect(error.category).toBe("user");
    expect(error.userMessage).toBe("I can't fetch that address: it points to this machine itself.");
    expect(server.requests.length).toBe(before);
  });

  it("takes the file name from Content-Disposition", async () => {
    const resource = await fetcher({ allowedHosts: allowServer() }).fetch({
      url: `${server.origin}/attachment`,
    });
    expect(resource.mediaType).toBe("application/octet-stream");
    expect(resource.fileName).toBe("notes.md");
  });

  it("maps an HTTP 404 to a clear fetch_failed", async () => {
    const error = await failure(
      fetcher({ allowedHosts: allowServer() }).fetch({ url: `${server.origin}/missing` }),
    );
    expect(error.code).toBe("fetch_failed");
    expect(error.userMessage).toBe("There is nothing at that address (HTTP 404).");
  });
});

describe("address classes in literal URLs", () => {
  const cases: Array<[string, string]> = [
    ["http://127.0.0.1/", "this machine itself"],
    ["http://127.255.255.254:8080/", "this machine itself"],
    ["http://2130706433/", "this machine itself"],
    ["http://0x7f.0.0.1/", "this machine itself"],
    ["http://10.0.0.1/", "a private network"],
    ["http://172.16.5.4/", "a private network"],
    ["http://172.31.255.255/", "a private network"],
    ["http://192.168.0.1/", "a private network"],
    ["http://100.64.0.1/", "a private network"],
    ["http://169.254.169.254/latest/meta-data/", "link-local or cloud metadata"],
    ["http://0.0.0.0/", "not a public internet address"],
    ["http://224.0.0.1/", "not a public internet address"],
    ["http://255.255.255.255/", "not a public internet address"],
    ["http://240.0.0.1/", "not a public internet address"],
    ["http://192.0.2.10/", "not a public internet address"],
    ["http://[::1]/", "this machine itself"],
    ["http://[::]/", "not a public internet address"],
    ["http://[fe80::1]/", "link-local or cloud metadata"],
    ["http://[fc00::1]/", "a private network"],
    ["http://[fd00:ec2::254]/", "a private network"],
    ["http://[ff02::1]/", "not a public internet address"],
    ["http://[::ffff:127.0.0.1]/", "this machine itself"],
    ["http://[::ffff:10.0.0.1]/", "a private network"],
    ["http://[::ffff:169.254.169.254]/", "link-local or cloud metadata"],
    ["http://[::ffff:a9fe:a9fe]/", "link-local or cloud metadata"],
    ["http://[::127.0.0.1]/", "this machine itself"],
    ["http://[::192.168.1.1]/", "a private network"],
    ["http://[64:ff9b::a00:1]/", "not a public internet address"],
    ["https://[::1]:8443/", "this machine itself"],
  ];

  it.each(cases)("refuses %s (%s) without resolving or connecting", async (url, reason) => {
    const error = await failure(fetcher({ lookup: failingLookup }).fetch({ url }));
    expect(error.code).toBe("fetch_refused");
    expect(error.userMessage).toContain(reason);
  });
});

describe("address classes behind host names (after DNS resolution)", () => {
  const names = Object.keys(FAKE_DNS).filter((name) => name !== "files.test" && name !== "other.test");

  it.each(names)("refuses %s", async (name) => {
    const calls: string[] = [];
    const error = await failure(fetcher({ lookup: fakeLookup(calls) }).fetch({ url: `http://${name}/doc` }));
    expect(error.code).toBe("fetch_refused");
    expect(calls).toEqual([name]);
  });

  it("lets an allowlisted CIDR through for a name that resolves into it", async () => {
    const resource = await fetcher({ allowedHosts: ["127.0.0.0/8"] }).fetch({
      url: `http://files.test:${server.port}/doc.md`,
    });
    expect(Buffer.from(resource.body).toString("utf8")).toContain("from the local server");
  });

  it("connects to the address it checked, not to a second DNS answer", async () => {
    let calls = 0;
    // A rebinding resolver: harmless on the first answer, private on every later one.
    const rebinding: HostLookup = async () => {
      calls += 1;
      return [{ address: calls === 1 ? "127.0.0.1" : "10.0.0.1", family: 4 }];
    };
    const resource = await fetcher({ lookup: rebinding, allowedHosts: allowServer() }).fetch({
      url: `http://rebind.test:${server.port}/doc.md`,
    });
    expect(resource.mediaType).toBe("text/markdown");
    expect(calls).toBe(1);
  });
});

describe("schemes", () => {
  const urls = [
    "file:///etc/passwd",
    "ftp://files.test/readme.txt",
    "data:text/plain,hello",
    "gopher://files.test:70/1",
    "javascript:alert(1)",
    "ws://files.test/socket",
    "mailto:someone@files.test",
  ];

  it.each(urls)("refuses %s", async (url) => {
    const error = await failure(
      fetcher({ lookup: failingLookup, allowedHosts: ["files.test"] }).fetch({ url }),
    );
    expect(error.code).toBe("fetch_refused");
    expect(error.userMessage).toBe("I can't fetch that address: only http and https links are allowed.");
  });

  it("refuses user names and passwords in the URL", async () => {
    const error = await failure(
      fetcher({ allowedHosts: allowServer() }).fetch({
        url: `http://user:secret@127.0.0.1:${server.port}/doc.md`,
      }),
    );
    expect(error.code).toBe("fetch_refused");
    expect(error.message).not.toContain("secret");
  });

  it("rejects text that is not a URL", async () => {
    const error = await failure(fetcher().fetch({ url: "not a url" }));
    expect(error.code).toBe("input_invalid");
  });
});

describe("redirects", () => {
  const targets = () => [
    `http://127.0.0.1:${bystander.port}/`,
    `http://[::ffff:127.0.0.1]:${bystander.port}/`,
    "http://10.0.0.1/",
    "http://172.16.0.1/",
    "http://192.168.1.1/admin",
    "http://169.254.169.254/latest/meta-data/iam/",
    "http://100.64.0.1/",
    "http://0.0.0.0/",
    "http://[::1]/",
    "http://[fd00::1]/",
    "http://[fe80::1]/",
    "http://[::ffff:169.254.169.254]/",
    "http://metadata.test/computeMetadata/v1/",
    "http://private-192.test/",
    "http://v6-unique-local.test/",
    "file:///etc/passwd",
    "gopher://files.test/",
  ];

  it("follows a redirect to an allowed destination", async () => {
    const resource = await fetcher({ allowedHosts: allowServer() }).fetch({
      url: `${server.origin}/redirect?to=${encodeURIComponent("/doc.md")}`,
    });
    expect(resource.finalUrl).toBe(`${server.origin}/doc.md`);
  });

  it("refuses every redirect into a restricted address, before connecting to it", async () => {
    const lookupCalls: string[] = [];
    const client = fetcher({ allowedHosts: allowServer(), lookup: fakeLookup(lookupCalls) });
    for (const target of targets()) {
      const before = server.requests.length;
      const error = await failure(
        client.fetch({ url: `${server.origin}/redirect?to=${encodeURIComponent(target)}` }),
      );
      expect(error.code, target).toBe("fetch_refused");
      expect(server.requests.length - before, target).toBe(1);
    }
    expect(bystander.requests).toEqual([]);
    expect(lookupCalls).toEqual(["metadata.test", "private-192.test", "v6-unique-local.test"]);
  });

  it("follows five redirects and refuses a sixth", async () => {
    const client = fetcher({ allowedHosts: allowServer() });
    const fine = await client.fetch({ url: `${server.origin}/hop/5` });
    expect(Buffer.from(fine.body).toString("utf8")).toBe("arrived");
    const before = server.requests.length;
    const error = await failure(client.fetch({ url: `${server.origin}/hop/6` }));
    expect(error.code).toBe("fetch_failed");
    expect(error.userMessage).toContain("redirects more than 5 times");
    expect(server.requests.length - before).toBe(6);
    expect(server.requests.at(-1)?.url).toBe("/hop/1");
  });
});

describe("credentials on redirects", () => {
  let origin: LocalHttpServer;
  let elsewhere: LocalHttpServer;

  beforeAll(async () => {
    elsewhere = await startLocalHttpServer((request, response) => {
      if (request.url === "/bounce") {
        response.writeHead(302, { location: `http://files.test:${origin.port}/final` });
        response.end();
        return;
      }
      response.writeHead(200, { "content-type": "text/plain" });
      response.end("elsewhere");
    });
    origin = await startLocalHttpServer((request, response) => {
      if (request.url === "/to-other-host") {
        response.writeHead(302, { location: `http://other.test:${elsewhere.port}/landing` });
      } else if (request.url === "/to-other-host-and-back") {
        response.writeHead(302, { location: `http://other.test:${elsewhere.port}/bounce` });
      } else if (request.url === "/same-origin") {
        response.writeHead(307, { location: "/final" });
      } else {
        response.writeHead(200, { "content-type": "text/plain" });
        response.end("final");
        return;
      }
      response.end();
    });
  });

  afterAll(async () => {
    await origin.close();
    await elsewhere.close();
  });

  const secret = { Authorization: "Bearer xoxb-secret-token" };

  it("keeps the headers on a same-origin redirect", async () => {
    await fetcher({ allowedHosts: ["127.0.0.0/8"] }).fetch({
      url: `http://files.test:${origin.port}/same-origin`,
      headers: secret,
    });
    expect(origin.requests.slice(-2).map((request) => request.headers.authorization)).toEqual([
      secret.Authorization,
      secret.Authorization,
    ]);
  });

  it("never sends them to another host", async () => {
    await fetcher({ allowedHosts: ["127.0.0.0/8"] }).fetch({
      url: `http://files.test:${origin.port}/to-other-host`,
      headers: secret,
    });
    expect(origin.requests.at(-1)?.headers.authorization).toBe(secret.Authorization);
    expect(elsewhere.requests.at(-1)?.url).toBe("/landing");
    expect(elsewhere.requests.at(-1)?.headers.authorization).toBeUndefined();
  });

  it("does not restore them when another host redirects back", async () => {
    await fetcher({ allowedHosts: ["127.0.0.0/8"] }).fetch({
      url: `http://files.test:${origin.port}/to-other-host-and-back`,
      headers: secret,
    });
    expect(elsewhere.requests.at(-1)?.headers.authorization).toBeUndefined();
    expect(origin.requests.at(-1)?.url).toBe("/final");
    expect(origin.requests.at(-1)?.headers.authorization).toBeUndefined();
  });
});

describe("limits", () => {
  it("stops a chunked body without Content-Length at the cap", async () => {
    const error = await failure(
      fetcher({ allowedHosts: allowServer(), maxBytes: 64 * 1024 }).fetch({
        url: `${server.origin}/big-chunked`,
      }),
    );
    expect(error.code).toBe("input_too_large");
    expect(error.userMessage).toBe("That document is larger than the 0.06 MB limit.");
  });

  it("accepts a body under the cap", async () => {
    const resource = await fetcher({ allowedHosts: allowServer(), maxBytes: 64 * 1024 }).fetch({
      url: `${server.origin}/small`,
    });
    expect(resource.body.length).toBe(1000);
  });

  it("refuses a declared Content-Length over the cap without waiting for the body", async () => {
    const started = Date.now();
    const error = await failure(
      fetcher({ allowedHosts: allowServer(), maxBytes: 64 * 1024 }).fetch({
        url: `${server.origin}/declared-huge`,
      }),
    );
    expect(error.code).toBe("input_too_large");
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  describe("a raw server that ends the body by closing the connection", () => {
    let raw: Server;
    let port: number;

    beforeAll(async () => {
      raw = createServer((socket) => {
        socket.once("data", () => {
          // HTTP/1.0 style: no Content-Length, no chunking; the body runs until the socket closes.
          socket.write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n");
          socket.end("z".repeat(200 * 1024));
        });
        socket.on("error", () => {});
      });
      await new Promise<void>((resolve) => raw.listen(0, "127.0.0.1", resolve));
      port = (raw.address() as AddressInfo).port;
    });

    afterAll(async () => {
      await new Promise<void>((resolve) => raw.close(() => resolve()));
    });

    it("is cut off at the cap", async () => {
      const error = await failure(
        fetcher({ allowedHosts: [`127.0.0.1:${port}`], maxBytes: 64 * 1024 }).fetch({
          url: `http://127.0.0.1:${port}/`,
        }),
      );
      expect(error.code).toBe("input_too_large");
    });

    it("is read whole when it fits", async () => {
      const resource = await fetcher({ allowedHosts: [`127.0.0.1:${port}`], maxBytes: 256 * 1024 }).fetch({
        url: `http://127.0.0.1:${port}/`,
      });
      expect(resource.body.length).toBe(200 * 1024);
    });
  });

  it("gives up on a server that trickles its body past the time limit", async () => {
    const started = Date.now();
    const error = await failure(
      fetcher({ allowedHosts: allowServer(), timeoutMs: 400 }).fetch({ url: `${server.origin}/trickle` }),
    );
    expect(error.code).toBe("fetch_failed");
    expect(error.retryable).toBe(true);
    expect(error.userMessage).toContain("took too long");
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it("gives up on a server that never answers", async () => {
    const error = await failure(
      fetcher({ allowedHosts: allowServer(), timeoutMs: 300 }).fetch({ url: `${server.origin}/silent` }),
    );
    expect(error.code).toBe("fetch_failed");
    expect(error.userMessage).toContain("took too long");
  });

  it("passes the caller's cancellation through as it is", async () => {
    const controller = new AbortController();
    const reason = new Error("cancelled by the job");
    setTimeout(() => controller.abort(reason), 100);
    const error = await fetcher({ allowedHosts: allowServer() })
      .fetch({ url: `${server.origin}/silent`, signal: controller.signal })
      .catch((caught: unknown) => caught);
    expect(error).toBe(reason);
  });

  it.each(["/image.png", "/json"])("refuses the content type served at %s", async (path) => {
    const error = await failure(
      fetcher({ allowedHosts: allowServer() }).fetch({ url: `${server.origin}${path}` }),
    );
    expect(error.code).toBe("unsupported_content");
    expect(error.category).toBe("user");
  });
});

describe("keepAlive: connections reused, the guard still checked on every request", () => {
  let connections = 0;
  let requests = 0;
  let keptAlive: import("node:http").Server;
  let port = 0;

  beforeAll(async () => {
    const { createServer } = await import("node:http");
    keptAlive = createServer((request, response) => {
      requests += 1;
      if (request.headers["if-none-match"] === '"v1"') {
        response.writeHead(304, { etag: '"v1"' }).end();
        return;
      }
      response.writeHead(200, { "content-type": "text/plain", etag: '"v1"' }).end("kept alive");
    });
    keptAlive.on("connection", () => {
      connections += 1;
    });
    await new Promise<void>((resolve) => keptAlive.listen(0, "127.0.0.1", resolve));
    port = (keptAlive.address() as import("node:net").AddressInfo).port;
  });

  afterAll(async () => {
    keptAlive.closeAllConnections();
    await new Promise((resolve) => keptAlive.close(resolve));
  });

  it("sends one request after another over one connection, a 304 included", async () => {
    const pooled = fetcher({ allowedHosts: [`127.0.0.1:${port}`], keepAlive: true });
    connections = 0;
    const first = await pooled.fetch({ url: `http://127.0.0.1:${port}/a` });
    expect(first.validators).toEqual({ etag: '"v1"' });
    for (let index = 0; index < 5; index += 1) {
      const again = await pooled.fetch({ url: `http://127.0.0.1:${port}/a`, validators: first.validators });
      expect(again.notModified).toBe(true);
      expect(again.body).toHaveLength(0);
    }
    expect(connections).toBe(1);
    pooled.close();
  });

  it("refuses a host whose answer turned private even while a pooled connection to it is open", async () => {
    let calls = 0;
    const rebinding: HostLookup = async () => {
      calls += 1;
      return [{ address: calls === 1 ? "127.0.0.1" : "10.0.0.1", family: 4 }];
    };
    const pooled = fetcher({ lookup: rebinding, allowedHosts: [`127.0.0.1:${port}`], keepAlive: true });
    await pooled.fetch({ url: `http://rebind.test:${port}/a` });
    const before = requests;
    const error = await failure(pooled.fetch({ url: `http://rebind.test:${port}/a` }));
    expect(error.code).toBe("fetch_refused");
    expect(requests).toBe(before);
    expect(calls).toBe(2);
    pooled.close();
  });

  it("without keepAlive opens a connection per request, as before", async () => {
    const fresh = fetcher({ allowedHosts: [`127.0.0.1:${port}`] });
    connections = 0;
    await fresh.fetch({ url: `http://127.0.0.1:${port}/a` });
    await fresh.fetch({ url: `http://127.0.0.1:${port}/a` });
    expect(connections).toBe(2);
  });
});
