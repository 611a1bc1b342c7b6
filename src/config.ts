import { z } from "zod";
import { AppError } from "./core/errors.js";

/**
 * The whole configuration, read once from the environment at start-up. A bad value stops start-up
 * with a readable list of every problem; components receive only their slice. `.env.example`
 * documents the same names (a test keeps the two in step).
 */
/** A variable set to nothing (`NAME=` in `.env`) counts as not set. */
const blankAsUnset = z
  .string()
  .trim()
  .transform((value) => (value === "" ? undefined : value));

const optionalString = blankAsUnset.optional();

const optionalUrl = blankAsUnset.pipe(z.url({ protocol: /^https?$/ }).optional()).optional();

const optionalRedisUrl = blankAsUnset.pipe(z.url({ protocol: /^rediss?$/ }).optional()).optional();

/** https anywhere; http only where nothing crosses a network (loopback: tests, a local proxy). */
function isHttpsOrLoopback(value: string): boolean {
  const url = new URL(value);
  if (url.protocol === "https:") return true;
  return url.hostname === "localhost" || url.hostname === "[::1]" || /^127(\.\d{1,3}){3}$/.test(url.hostname);
}

const integer = (fallback: number, min: number, max: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

const boolean = (fallback: boolean) =>
  z
    .enum(["true", "false", "1", "0", "yes", "no", ""])
    .default(fallback ? "true" : "false")
    .transform((value) => ["true", "1", "yes"].includes(value));

/**
 * A variable holding JSON. The parse error is replaced by a fixed sentence: JSON.parse quotes the
 * input back, and these values may hold keys.
 */
const jsonText = <Schema extends z.ZodType>(schema: Schema) =>
  z
    .string()
    .trim()
    .transform((value, context): unknown => {
      if (value === "") return undefined;
      try {
        return JSON.parse(value) as unknown;
      } catch {
        context.addIssue({ code: "custom", message: "is not valid JSON" });
        return z.NEVER;
      }
    })
    .pipe(schema.optional())
    .optional();

const modelPrices = z.record(
  z.string().min(1),
  z.strictObject({
    /** US dollars per million prompt tokens. */
    input: z.number().min(0).max(10_000),
    /** US dollars per million completion tokens. */
    output: z.number().min(0).max(10_000),
  }),
);

const fallbackEndpoints = z
  .array(
    z.strictObject({
      /** Shown by `why` when this endpoint answered; the base URL's host when absent. */
      name: z.string().trim().min(1).max(60).optional(),
      baseUrl: z.url({ protocol: /^https?$/ }),
      apiKey: z.string().optional(),
      model: z.string().trim().min(1),
    }),
  )
  .max(5);

/** A comma-separated list; blanks around and between entries dropped. */
const commaList = z
  .string()
  .default("")
  .transform((value) =>
    value
      .split(",")
      .map((entry) => entry.trim())
      .filter(Boolean),
  );

const adminIds = commaList.pipe(
  z.array(
    z
      .string()
      .regex(
        /^(slack|discord|local):[A-Za-z0-9_.-]+$/,
        "each admin must be platform-qualified, like slack:U123 or discord:456",
      ),
  ),
);

/** `auto` (or empty): as many shards as `GET /gateway/bot` recommends; otherwise a count. */
const discordShardCount = z
  .string()
  .trim()
  .default("")
  .transform((value, context): number | "auto" => {
    if (value === "" || value.toLowerCase() === "auto") return "auto";
    const count = Number(value);
    if (!Number.isInteger(count) || count < 1 || count > 100_000) {
      context.addIssue({ code: "custom", message: "use auto or a whole number of shards (1 or more)" });
      return z.NEVER;
    }
    return count;
  });

/** `all` (or empty): every shard of the count; otherwise ids and ranges, `0,1` or `0-3`. */
const discordShardIds = z
  .string()
  .trim()
  .default("")
  .transform((value, context): number[] | undefined => {
    if (value === "" || value.toLowerCase() === "all") return undefined;
    const ids = new Set<number>();
    for (const part of value.split(",")) {
      const range = /^\s*(\d{1,6})\s*(?:-\s*(\d{1,6})\s*)?$/.exec(part);
      const first = Number(range?.[1]);
      const last = Number(range?.[2] ?? range?.[1]);
      if (!range || last < first) {
        context.addIssue({ code: "custom", message: "list shard ids like 0,1 or ranges like 0-3" });
        return z.NEVER;
      }
      for (let id = first; id <= last; id += 1) ids.add(id);
    }
    return [...ids].sort((left, right) => left - right);
  });

const environmentSchema = z
  .object({
    /** API key for the LLM and embeddings endpoint. Local servers (Ollama, vLLM) accept any value. */
    OPENAI_API_KEY: optionalString,
    /** Any OpenAI-compatible endpoint, e.g. http://localhost:11434/v1 for Ollama. */
    OPENAI_BASE_URL: optionalUrl,
    LLM_MODEL: z.string().trim().min(1).default("gpt-4.1-mini"),
    /** No embedding model → BM25-only retrieval. */
    EMBEDDING_MODEL: optionalString,
    /**
     * Size of the embedding model's vectors. Unset → learned from the endpoint at start-up with one
     * embedding request; set it to skip that request. Qdrant collections are created with it.
     */
    EMBEDDING_DIMENSIONS: z.preprocess(
      (value) => (typeof value === "string" && value.trim() === "" ? undefined : value),
      z.coerce.number().int().min(1).max(65_536).optional(),
    ),
    /**
     * The longest one answer may take, in milliseconds: its wait in line, every LLM call, retry and
     * tool included (a person's time to click Approve is not counted). Past it the person gets a
     * sentence saying so. Each single LLM call is held to it too.
     */
    LLM_TIMEOUT_MS: integer(60_000, 1_000, 600_000),
    LLM_MAX_RETRIES: integer(2, 0, 10),
    /**
     * Answers (and named chains) this process works on at once; later questions wait in line and are
     * told so. Keeps the process responsive under a burst: acknowledgements never wait for this line.
     */
    MAX_CONCURRENT_ANSWERS: integer(32, 1, 1_000),
    /**
     * How often the bot looks for unfinished work whose owner is gone (a job that failed for good or
     * was lost from the queue, a reply whose process died) and ends it with a sentence. A queued job
     * is first looked at this long after it was queued.
     */
    OPEN_WORK_CHECK_MS: integer(60_000, 100, 3_600_000),
    /**
     * Further endpoints tried in order when the one before fails with a rate limit, a 5xx or a timeout
     * before its first token: `[{"baseUrl":"https://…/v1","apiKey":"…","model":"…","name":"backup"}]`.
     */
    LLM_FALLBACKS: jsonText(fallbackEndpoints),
    /** With fallbacks: how long an endpoint may stay silent before the first token until the next one is tried. */
    LLM_FALLBACK_AFTER_MS: integer(15_000, 100, 600_000),
    /**
     * Estimated prices added to (or replacing) the built-in table, in US dollars per million tokens:
     * `{"my-model": {"input": 0.5, "output": 1.5}}`. Unknown models cost 0; tokens are counted anyway.
     */
    LLM_PRICES: jsonText(modelPrices),

    SLACK_BOT_TOKEN: optionalString,
    SLACK_SIGNING_SECRET: optionalString,
    /** Socket Mode instead of HTTP when set. */
    SLACK_APP_TOKEN: optionalString,
    /** Slack Web API base URL (GovSlack, proxies, local stand-ins); must end with `/api/`. */
    SLACK_API_URL: optionalUrl,

    DISCORD_TOKEN: optionalString,
    DISCORD_APPLICATION_ID: optionalString,
    /** Discord REST base URL (local stand-ins), e.g. http://127.0.0.1:8080/api. */
    DISCORD_API_URL: optionalUrl,
    /** Registers slash commands in one guild (instant, for development) instead of globally. */
    DISCORD_GUILD_ID: optionalString,
    /**
     * Gateway shards of the whole bot, across all its processes: `auto` (Discord's recommendation) or
     * a number. One process runs them all unless DISCORD_SHARDS names a part.
     */
    DISCORD_SHARD_COUNT: discordShardCount,
    /**
     * The shards this process runs (`0,1` or `0-3`), when several bot processes share the gateway:
     * every shard in exactly one process, and DISCORD_SHARD_COUNT set to their total.
     */
    DISCORD_SHARDS: discordShardIds,

    /**
     * GitHub token for `index github:<owner>/<repo>`: optional (public repositories are read without
     * one, at GitHub's lower anonymous rate limit). Read-only contents access is all it needs.
     */
    GITHUB_TOKEN: optionalString,
    /**
     * GitHub REST base URL: GitHub Enterprise Server (`https://<host>/api/v3`) or a local stand-in.
     * Plain http only to a loopback address, so a token never crosses a network in clear.
     */
    GITHUB_API_URL: optionalUrl.refine((value) => value === undefined || isHttpsOrLoopback(value), {
      message: "use https (plain http only for a loopback address such as 127.0.0.1)",
    }),

    /** BullMQ queues and shared memory; unset → in-process jobs and SQLite memory. */
    REDIS_URL: optionalRedisUrl,
    /**
     * How long `npm start` and `npm run worker` wait at start-up for Redis to answer (compose may start
     * it a moment later) before they stop with one line naming REDIS_URL and the cause. 0 waits forever.
     */
    REDIS_STARTUP_WAIT_MS: integer(60_000, 0, 86_400_000),
    /**
     * The Redis key prefix of this deployment: BullMQ queues, conversation memory, notes, answers,
     * de-duplication and fine-tuning state all live under it. The bot and `npm run worker` must use
     * the same one; different ones let several deployments or test runs share one Redis without
     * reading each other's notes or taking each other's jobs.
     */
    QUEUE_PREFIX: z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9_.-]+$/, "use letters, digits, '.', '_' or '-' (no ':')")
      .default("bull"),
    /** Qdrant vector store; unset → embedded SQLite index. */
    QDRANT_URL: optionalUrl,
    QDRANT_API_KEY: optionalString,
    QDRANT_COLLECTION: z.string().trim().min(1).default("teammate_chunks"),

    /** Where the embedded SQLite file lives. */
    DATA_DIR: z.string().trim().min(1).default("./data"),
    /** Extra admins besides workspace admins / Manage Server: `slack:U123,discord:456`. */
    ADMIN_USER_IDS: adminIds,
    /** HTTP port: Slack HTTP mode, health, metrics. */
    PORT: integer(3000, 0, 65_535),
    LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),

    /** Token budget of a whole prompt (system, notes, summary, recent turns, passages, question). */
    PROMPT_TOKEN_BUDGET: integer(6_000, 1_000, 1_000_000),
    /** When no indexed document is relevant, answer from general knowledge (and say so). Per channel via `config`. */
    ALLOW_GENERAL_KNOWLEDGE: boolean(false),
    /**
     * Hosts or CIDRs that admin indexing may reach although they are private (intranets, tests):
     * `127.0.0.1:8080,10.1.0.0/16`. Only `index` uses them, never the `fetch_url` tool.
     */
    FETCH_ALLOWED_HOSTS: commaList,
    /**
     * Private hosts or CIDRs the `fetch_url` tool may reach, for every member (the model picks the URL;
     * one it did not get from the asker still waits for an Approve click). Empty, the safe default,
     * keeps the tool on public addresses; tests list their loopback servers here.
     */
    TOOL_FETCH_ALLOWED_HOSTS: commaList,
    /** Largest document or attachment accepted for indexing, in bytes. */
    MAX_DOCUMENT_BYTES: integer(20 * 1024 * 1024, 1024, 512 * 1024 * 1024),
    /** Largest file attached to a question that is read for the answer, in bytes (default 10 MiB). */
    MAX_ATTACHMENT_BYTES: integer(10 * 1024 * 1024, 1024, 100 * 1024 * 1024),
    /**
     * Whether the model accepts image input (OpenAI `image_url` parts: gpt-4o, gpt-4.1, llava on
     * Ollama…). Off: an image attached to a question gets a sentence saying so instead.
     */
    LLM_ACCEPTS_IMAGES: boolean(false),
    /** Shortest `index … --every` interval accepted, in milliseconds (default 15 minutes; tests go lower). */
    SYNC_MIN_INTERVAL_MS: integer(15 * 60_000, 1_000, 7 * 86_400_000),
    /** Base of a failing sync's retry backoff, in milliseconds: retry n waits base · 2^(n−1). */
    SYNC_RETRY_BACKOFF_MS: integer(30_000, 10, 3_600_000),
    /** Pages `index <url> --crawl` takes when `--max` is not given. */
    SYNC_DEFAULT_MAX_PAGES: integer(200, 1, 5_000),
    /** Built-in tools (search_docs, remember, calculator, …) and MCP tools for answers; off → plain answers. */
    ENABLE_TOOLS: boolean(true),
    /** JSON file listing MCP servers (stdio or Streamable HTTP); a missing file means none. */
    MCP_CONFIG_PATH: z.string().trim().min(1).default("mcp.json"),
    /** Agent budgets per answer: LLM steps, total tokens, wall time in milliseconds. */
    AGENT_MAX_STEPS: integer(6, 1, 50),
    AGENT_MAX_TOKENS: integer(40_000, 1_000, 2_000_000),
    AGENT_MAX_MILLISECONDS: integer(120_000, 1_000, 3_600_000),
    /** How long a risky tool waits for Approve before it counts as Deny, in milliseconds. */
    APPROVAL_TIMEOUT_MS: integer(300_000, 1_000, 86_400_000),
    /** Protects Bull Board at /admin/queues; unset → the board is off. */
    ADMIN_TOKEN: optionalString,

    /**
     * OTLP/HTTP (protobuf) collector, e.g. http://localhost:4318: each message becomes one trace. Unset →
     * no tracing at all (nothing is wrapped, nothing is exported). `OTEL_EXPORTER_OTLP_HEADERS` and the
     * other standard OTEL_* variables are read by the exporter itself.
     */
    OTEL_EXPORTER_OTLP_ENDPOINT: optionalUrl,
    OTEL_SERVICE_NAME: z.string().trim().min(1).default("teammate"),
    /** Put prompts and answers on LLM spans (`gen_ai.input.messages` / `gen_ai.output.messages`). Off by default. */
    OTEL_CAPTURE_CONTENT: boolean(false),
  })
  .superRefine((config, context) => {
    // Checked together: a part of the shards only means something against a fixed total.
    const ids = config.DISCORD_SHARDS;
    const count = config.DISCORD_SHARD_COUNT;
    if (ids === undefined) return;
    if (count === "auto") {
      context.addIssue({
        code: "custom",
        path: ["DISCORD_SHARDS"],
        message:
          "set DISCORD_SHARD_COUNT to the total number of shards when DISCORD_SHARDS names some of them",
      });
      return;
    }
    const outside = ids.filter((id) => id >= count);
    if (outside.length > 0) {
      context.addIssue({
        code: "custom",
        path: ["DISCORD_SHARDS"],
        message: `shard ids go from 0 to ${count - 1} (DISCORD_SHARD_COUNT - 1); ${outside.join(", ")} is outside`,
      });
    }
  });

export type Config = z.infer<typeof environmentSchema>;

/** The variable names the schema knows, for `.env.example` checks and help texts. */
export const CONFIG_KEYS = Object.keys(environmentSchema.shape) as Array<keyof Config>;

/**
 * Parses the environment. Throws an `AppError("config_invalid")` whose message lists every bad
 * variable with what is wrong, without echoing values (they may be secrets).
 */
export function loadConfig(environment: Record<string, string | undefined> = process.env): Config {
  const input: Record<string, string> = {};
  for (const key of CONFIG_KEYS) {
    const value = environment[key];
    if (value !== undefined) input[key] = value;
  }
  const result = environmentSchema.safeParse(input);
  if (result.success) return result.data;
  const lines = result.error.issues.map(
    (issue) => `  - ${issue.path.join(".") || "(root)"}: ${issue.message}`,
  );
  throw new AppError("config_invalid", `Invalid configuration:\n${lines.join("\n")}`, {
    category: "user",
    userMessage: `Invalid configuration:\n${lines.join("\n")}`,
  });
}

/**
 * The deployment's secrets by value, for the redaction of logs and chat messages: tokens and keys
 * are also recognised by shape, but a signing secret or an admin token has none.
 */
export function secretsOf(config: Config): string[] {
  return [
    config.OPENAI_API_KEY,
    config.SLACK_BOT_TOKEN,
    config.SLACK_SIGNING_SECRET,
    config.SLACK_APP_TOKEN,
    config.DISCORD_TOKEN,
    config.GITHUB_TOKEN,
    config.QDRANT_API_KEY,
    config.ADMIN_TOKEN,
    config.REDIS_URL ? decodeURIComponent(new URL(config.REDIS_URL).password) : undefined,
    ...(config.LLM_FALLBACKS ?? []).map((fallback) => fallback.apiKey),
  ].filter((secret): secret is string => secret !== undefined && secret !== "");
}

/**
 * The key prefix of this deployment's stores (memory, notes, answers, de-duplication, fine-tuning) in
 * Redis: under `QUEUE_PREFIX`, next to (never inside) BullMQ's `<prefix>:<queue>:…` keys, so
 * obliterating a queue leaves memory alone.
 */
export function storeKeyPrefix(config: Config): string {
  return `${config.QUEUE_PREFIX}:store:`;
}

/** Whether an LLM endpoint is configured at all (a key, a base URL, or both). */
export function hasLlm(config: Config): boolean {
  return config.OPENAI_API_KEY !== undefined || config.OPENAI_BASE_URL !== undefined;
}
