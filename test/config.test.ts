import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CONFIG_KEYS, loadConfig, secretsOf } from "../src/config.js";
import { AppError } from "../src/core/errors.js";

describe("config", () => {
  it("starts with no variables at all (embedded defaults)", () => {
    const config = loadConfig({});
    expect(config.PORT).toBe(3000);
    expect(config.REDIS_URL).toBeUndefined();
    expect(config.DATA_DIR).toBe("./data");
  });

  it("lists every bad value at once, readably, without echoing values", () => {
    let error: unknown;
    try {
      loadConfig({
        PORT: "eighty",
        OPENAI_BASE_URL: "ftp://secret-host-value",
        REDIS_URL: "http://wrong-scheme",
        ADMIN_USER_IDS: "U123",
        LOG_LEVEL: "chatty",
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(AppError);
    const message = (error as AppError).message;
    for (const name of ["PORT", "OPENAI_BASE_URL", "REDIS_URL", "ADMIN_USER_IDS", "LOG_LEVEL"]) {
      expect(message).toContain(`- ${name}`);
    }
    expect(message).toContain("platform-qualified");
    expect(message).not.toContain("secret-host-value");
  });

  it("parses admin lists and booleans", () => {
    const config = loadConfig({ ADMIN_USER_IDS: "slack:U1, discord:42", ALLOW_GENERAL_KNOWLEDGE: "yes" });
    expect(config.ADMIN_USER_IDS).toEqual(["slack:U1", "discord:42"]);
    expect(config.ALLOW_GENERAL_KNOWLEDGE).toBe(true);
  });

  it("reads Discord sharding: auto by default, a total, and this process's part of it", () => {
    expect(loadConfig({})).toMatchObject({ DISCORD_SHARD_COUNT: "auto", DISCORD_SHARDS: undefined });
    expect(loadConfig({ DISCORD_SHARD_COUNT: "4", DISCORD_SHARDS: "3, 0-1" })).toMatchObject({
      DISCORD_SHARD_COUNT: 4,
      DISCORD_SHARDS: [0, 1, 3],
    });
    expect(loadConfig({ DISCORD_SHARD_COUNT: "2", DISCORD_SHARDS: "all" }).DISCORD_SHARDS).toBeUndefined();
    const problems = (environment: Record<string, string>) => {
      try {
        loadConfig(environment);
        return "";
      } catch (error) {
        return (error as AppError).message;
      }
    };
    expect(problems({ DISCORD_SHARD_COUNT: "zero" })).toContain(
      "- DISCORD_SHARD_COUNT: use auto or a whole number",
    );
    expect(problems({ DISCORD_SHARD_COUNT: "0" })).toContain("- DISCORD_SHARD_COUNT");
    expect(problems({ DISCORD_SHARDS: "1" })).toContain("- DISCORD_SHARDS: set DISCORD_SHARD_COUNT");
    expect(problems({ DISCORD_SHARD_COUNT: "2", DISCORD_SHARDS: "1-2" })).toContain(
      "- DISCORD_SHARDS: shard ids go from 0 to 1 (DISCORD_SHARD_COUNT - 1); 2 is outside",
    );
    expect(problems({ DISCORD_SHARD_COUNT: "2", DISCORD_SHARDS: "1,x" })).toContain(
      "- DISCORD_SHARDS: list shard ids like 0,1",
    );
  });

  it("takes GITHUB_API_URL over https, or plain http on loopback only, and counts GITHUB_TOKEN as a secret", () => {
    expect(loadConfig({ GITHUB_API_URL: "https://ghe.example.com/api/v3" }).GITHUB_API_URL).toBe(
      "https://ghe.example.com/api/v3",
    );
    expect(loadConfig({ GITHUB_API_URL: "http://127.0.0.1:8080/api/v3" }).GITHUB_API_URL).toBe(
      "http://127.0.0.1:8080/api/v3",
    );
    expect(() => loadConfig({ GITHUB_API_URL: "http://ghe.example.com/api/v3" })).toThrow(
      /GITHUB_API_URL: use https/,
    );
    expect(() => loadConfig({ GITHUB_API_URL: "file:///etc/passwd" })).toThrow(/GITHUB_API_URL/);
    expect(secretsOf(loadConfig({ GITHUB_TOKEN: "ghp_secretValue" }))).toContain("ghp_secretValue");
  });

  it(".env.example names exactly the schema's variables", () => {
    const example = readFileSync(join(import.meta.dirname, "../.env.example"), "utf8");
    const names = [...example.matchAll(/^([A-Z0-9_]+)=/gm)].map((match) => match[1]);
    expect(new Set(names)).toEqual(new Set(CONFIG_KEYS));
  });
});
