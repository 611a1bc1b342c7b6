import { afterEach, describe, expect, it } from "vitest";
import {
  type HealthServer,
  healthRoute,
  startHealthServer,
} from "../../../src/adapters/http/health-server.js";

describe("/healthz", () => {
  let server: HealthServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it("names each check and says why a failing one failed", async () => {
    server = await startHealthServer(
      0,
      {
        "/healthz": healthRoute({
          store: async () => {},
          queue: async () => {
            throw new Error("connect ECONNREFUSED 127.0.0.1:6379");
          },
        }),
      },
      "127.0.0.1",
    );
    const response = await fetch(`http://127.0.0.1:${server.port}/healthz`);
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({
      status: "degraded",
      checks: { store: "ok", queue: "failed: connect ECONNREFUSED 127.0.0.1:6379" },
    });
  });

  it("answers 200 with every check ok", async () => {
    server = await startHealthServer(0, { "/healthz": healthRoute({ store: async () => {} }) }, "127.0.0.1");
    const response = await fetch(`http://127.0.0.1:${server.port}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok", checks: { store: "ok" } });
  });
});
