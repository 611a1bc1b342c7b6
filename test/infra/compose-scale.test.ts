import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { loadConfig } from "../../src/config.js";

interface Service {
  build?: unknown;
  command?: string[];
  ports?: string[];
  environment?: Record<string, string>;
  deploy?: { replicas?: number };
}

/** The Compose file as Compose reads it (YAML merge keys included). */
const compose = parse(readFileSync(join(import.meta.dirname, "../../infra/docker-compose.yml"), "utf8"), {
  merge: true,
}) as { services: Record<string, Service> };

const bots = Object.entries(compose.services).filter(
  ([, service]) => service.build !== undefined && service.command === undefined,
);

describe("infra/docker-compose.yml at scale", () => {
  it("runs two bot processes that split Discord's shards, every shard in exactly one of them", () => {
    expect(bots.map(([name]) => name)).toEqual(["bot", "bot-2"]);
    const shards = bots.map(([, service]) => {
      // Each bot's environment must also be a valid configuration on its own.
      const config = loadConfig(service.environment ?? {});
      return { count: config.DISCORD_SHARD_COUNT, ids: config.DISCORD_SHARDS ?? [] };
    });
    const [first] = shards;
    expect(typeof first?.count).toBe("number");
    for (const part of shards) expect(part.count).toBe(first?.count);
    const owned = shards.flatMap((part) => part.ids).sort((left, right) => left - right);
    expect(owned).toEqual(Array.from({ length: Number(first?.count) }, (_, index) => index));
    // Both share everything else: the same Redis, Qdrant and port.
    const [one, two] = bots.map(([, service]) => ({ ...service.environment, DISCORD_SHARDS: undefined }));
    expect(two).toEqual(one);
  });

  it("puts one address in front of both bot processes for Slack's HTTP requests", () => {
    const ingress = compose.services.ingress;
    const upstreams = (ingress?.command ?? []).flatMap((part, index, all) =>
      all[index - 1] === "--to" ? [part] : [],
    );
    expect(upstreams.sort()).toEqual(bots.map(([name]) => `${name}:3000`).sort());
    expect(ingress?.ports).toEqual(["3000:3000"]);
    for (const [name, service] of bots) expect(service.ports, name).toBeUndefined();
  });

  it("runs two workers", () => {
    expect(compose.services.worker?.deploy?.replicas).toBe(2);
  });
});
