import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type HostLookup, SafeHttpFetcher } from "../../../src/adapters/http/safe-http-fetcher.js";
import { AppError } from "../../../src/core/errors.js";
import { installConnectionTripwire } from "../../support/connection-tripwire.js";

const tripwire = installConnectionTripwire(["files.test", "other.test"]);
afterAll(() => tripwire.uninstall());
afterEach(() => {
  expect(tripwire.blocked).toEqual([]);
});

function hasOpenssl(): boolean {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

const toLoopback: HostLookup = async () => [{ address: "127.0.0.1", family: 4 }];

// A self-signed certificate for files.test is made at test time with the openssl command line.
describe.skipIf(!hasOpenssl())("SafeHttpFetcher over https with a pinned address", () => {
  let directory: string;
  let certificate: string;
  let server: Server;
  let port: number;

  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), "teammate-tls-"));
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        join(directory, "key.pem"),
        "-out",
        join(directory, "certificate.pem"),
        "-days",
        "1",
        "-subj",
        "/CN=files.test",
        "-addext",
        "subjectAltName=DNS:files.test",
      ],
      { stdio: "ignore" },
    );
    certificate = readFileSync(join(directory, "certificate.pem"), "utf8");
    server = createServer(
      { key: readFileSync(join(directory, "key.pem")), cert: certificate },
      (_request, response) => {
        response.writeHead(200, { "content-type": "text/plain" });
        response.end("over tls");
      },
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(directory, { recursive: true, force: true });
  });

  function fetcher(trusted: boolean): SafeHttpFetcher {
    return new SafeHttpFetcher({
      lookup: toLoopback,
      allowedHosts: [`127.0.0.1:${port}`],
      timeoutMs: 5_000,
      ...(trusted ? { certificateAuthorities: [certificate] } : {}),
    });
  }

  it("verifies the certificate against the URL's host name and reads the body", async () => {
    const resource = await fetcher(true).fetch({ url: `https://files.test:${port}/notes.txt` });
    expect(Buffer.from(resource.body).toString("utf8")).toBe("over tls");
  });

  it("refuses a certificate issued for another name", async () => {
    const error = await fetcher(true)
      .fetch({ url: `https://other.test:${port}/notes.txt` })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe("fetch_failed");
    expect((error as AppError).userMessage).toBe(
      `The HTTPS certificate of other.test:${port} could not be verified.`,
    );
  });

  it("refuses an untrusted certificate", async () => {
    const error = await fetcher(false)
      .fetch({ url: `https://files.test:${port}/notes.txt` })
      .catch((caught: unknown) => caught);
    expect((error as AppError).code).toBe("fetch_failed");
    expect((error as AppError).userMessage).toContain("could not be verified");
  });
});
