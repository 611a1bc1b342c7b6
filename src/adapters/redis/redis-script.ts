import { createHash } from "node:crypto";
import type { Redis } from "ioredis";

/** A Lua script and its SHA-1, so it is sent once and then called by hash. */
export interface RedisScript {
  source: string;
  sha: string;
}

export function defineScript(source: string): RedisScript {
  return { source, sha: createHash("sha1").update(source).digest("hex") };
}

/** Runs a script by hash; the script cache is empty after a restart or a SCRIPT FLUSH, so EVAL loads it again. */
export async function evaluateScript(
  client: Redis,
  script: RedisScript,
  keys: string[],
  args: string[],
): Promise<unknown> {
  try {
    return await client.evalsha(script.sha, keys.length, ...keys, ...args);
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith("NOSCRIPT")) throw error;
    return client.eval(script.source, keys.length, ...keys, ...args);
  }
}

/**
 * Escapes one scope part so that joined keys cannot collide: `%` and `:` are the only characters
 * with a meaning in a key, so workspace `a:b` + channel `c` never meets workspace `a` + channel `b:c`.
 */
export function escapeKeyPart(part: string): string {
  return part.replaceAll("%", "%25").replaceAll(":", "%3A");
}
