import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { waitFor } from "../support/e2e-helpers.js";

/**
 * No container engine runs on this machine, so this runs what the image runs: the final stage's
 * exact CMD (and compose's worker command) in a clean directory holding only package.json, the
 * production dependencies from `npm ci --omit=dev`, and the compiled `dist/`. The bot starts in a
 * network namespace with nothing but loopback (offline), and both processes stop on SIGTERM within
 * their grace periods.
 */

const ROOT = join(import.meta.dirname, "../..");
const dockerfile = readFileSync(join(ROOT, "infra/Dockerfile"), "utf8");
const compose = parse(readFileSync(join(ROOT, "infra/docker-compose.yml"), "utf8")) as {
  networks: Record<string, { internal?: boolean } | null>;
  services: Record<
    string,
    {
      command?: string[];
      ports?: string[];
      networks?: string[];
      init?: boolean;
      healthcheck?: { disable?: boolean; test?: unknown };
      environment?: Record<string, string>;
      stop_grace_period?: string;
    }
  >;
};

/** The instructions of the Dockerfile's last stage. */
function finalStage(): string[] {
  const stages = dockerfile.split(/^FROM /m);
  return (stages.at(-1) ?? "")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith("#"));
}

function imageCommand(): string[] {
  const line = finalStage().find((instruction) => instruction.startsWith("CMD "));
  return JSON.parse(line?.slice(4) ?? "[]") as string[];
}

const canIsolateNetwork = (() => {
  try {
    execFileSync("unshare", ["-n", "true"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

interface Started {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function start(
  command: string[],
  cwd: string,
  environment: Record<string, string>,
  offline: boolean,
): Started {
  const [program = "", ...args] = command;
  // `ip link set lo up` gives the namespace its loopback; nothing else exists there.
  const shell = `ip link set lo up && exec ${[program, ...args].map((part) => `'${part}'`).join(" ")}`;
  const child = offline
    ? spawn("unshare", ["-n", "sh", "-c", shell], { cwd, env: environment })
    : spawn(program, args, { cwd, env: environment });
  let text = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    text += chunk.toString("utf8");
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    text += chunk.toString("utf8");
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, output: () => text, exited };
}

async function stopWithin(started: Started, milliseconds: number): Promise<number | null> {
  const began = Date.now();
  started.child.kill("SIGTERM");
  const code = await Promise.race([
    started.exited,
    new Promise<"late">((resolve) => setTimeout(() => resolve("late"), milliseconds)),
  ]);
  if (code === "late") {
    started.child.kill("SIGKILL");
    throw new Error(`still running ${Date.now() - began} ms after SIGTERM:\n${started.output()}`);
  }
  return code;
}

describe("the container image's definition", () => {
  it("runs compiled JavaScript with node itself as the process that gets SIGTERM, as a non-root user", () => {
    expect(imageCommand()).toEqual(["node", "dist/src/main.js"]);
    expect(compose.services.worker?.command).toEqual(["node", "dist/workers/main.js"]);
    const instructions = finalStage();
    expect(instructions).toContain("USER node");
    expect(instructions.some((line) => /^HEALTHCHECK /.test(line) && line.includes("/healthz"))).toBe(true);
    // No compiler or package manager step in the final stage.
    expect(
      instructions.filter((line) => /apt-get|g\+\+|python3|\bmake\b|npm (ci|install)/.test(line)),
    ).toEqual([]);
    expect(dockerfile).toMatch(/RUN npm ci --omit=dev/);
    expect(dockerfile).toMatch(/RUN npm ci --ignore-scripts/);
    expect(compose.services.bot?.init).toBe(true);
    expect(compose.services.worker?.init).toBe(true);
    expect(compose.services.worker?.healthcheck?.disable).toBe(true);
    expect(compose.services.worker?.stop_grace_period).toBe("60s");
  });

  it("keeps secrets and local state out of the build context", () => {
    const ignored = readFileSync(join(ROOT, ".dockerignore"), "utf8").split("\n");
    for (const entry of [".env", "node_modules", "data", "dist", ".git"]) expect(ignored).toContain(entry);
  });

  it("keeps Redis and Qdrant on an internal network, unpublished, and Qdrant behind its API key", () => {
    for (const name of ["redis", "qdrant"]) {
      const service = compose.services[name];
      expect(service?.ports, name).toBeUndefined();
      expect(service?.networks, name).toEqual(["backend"]);
    }
    expect(compose.networks.backend?.internal).toBe(true);
    expect(compose.services.qdrant?.environment?.QDRANT__SERVICE__API_KEY).toMatch(/QDRANT_API_KEY/);
  });
});

describe.runIf(process.platform === "linux")("the image's start command, in a clean directory", () => {
  let directory: string;
  let dataDirectory: string;

  beforeAll(() => {
    directory = mkdtempSync(join(tmpdir(), "teammate-image-"));
    dataDirectory = mkdtempSync(join(tmpdir(), "teammate-image-data-"));
    cpSync(join(ROOT, "package.json"), join(directory, "package.json"));
    cpSync(join(ROOT, "package-lock.json"), join(directory, "package-lock.json"));
    // The image's dependency stage, from the local npm cache (this machine reaches no registry
    // mirror of prebuilt binaries: better-sqlite3's install script would compile for minutes, so
    // scripts are skipped and the binding already built for this very Node is copied in).
    execFileSync("npm", ["ci", "--omit=dev", "--ignore-scripts", "--offline", "--no-audit", "--no-fund"], {
      cwd: directory,
      stdio: "ignore",
    });
    cpSync(
      join(ROOT, "node_modules/better-sqlite3/build"),
      join(directory, "node_modules/better-sqlite3/build"),
      { recursive: true },
    );
    // The image's build stage (`npm run build`).
    execFileSync("node", [join(ROOT, "infra/build.mjs"), join(directory, "dist")], {
      cwd: ROOT,
      stdio: "ignore",
    });
    // Nothing that compiles TypeScript at run time: the image runs dist/ with node.
    expect(existsSync(join(directory, "node_modules/tsx"))).toBe(false);
    expect(existsSync(join(directory, "node_modules/vitest"))).toBe(false);
  }, 600_000);

  afterAll(() => {
    rmSync(directory, { recursive: true, force: true });
    rmSync(dataDirectory, { recursive: true, force: true });
  }, 120_000);

  const environment = (extra: Record<string, string>) => ({
    PATH: process.env.PATH ?? "",
    HOME: directory,
    NODE_ENV: "production",
    DATA_DIR: dataDirectory,
    // Where npm/npx would look for a package, were anything to try: nowhere.
    npm_config_registry: "http://127.0.0.1:9/",
    npm_config_offline: "true",
    ...extra,
  });

  it.runIf(canIsolateNetwork)(
    "the bot starts with no network at all and stops on SIGTERM within compose's 10 s default",
    async () => {
      const bot = start(imageCommand(), directory, environment({ PORT: "3000" }), true);
      try {
        await waitFor(() => bot.output().includes("teammate started"), "the bot to start", 120_000);
        expect(await stopWithin(bot, 10_000)).toBe(0);
        expect(bot.output()).toContain("bot shutting down");
      } finally {
        bot.child.kill("SIGKILL");
      }
    },
    180_000,
  );

  // The build bundles the metrics client into the entry points (infra/build.mjs): its registry,
  // default metrics and exposition must work there as they do from the sources.
  it("the compiled bot serves /healthz and /metrics with the process's default metrics", async () => {
    const bot = start(imageCommand(), directory, environment({ PORT: "0" }), false);
    try {
      await waitFor(() => bot.output().includes("health server listening"), "the health server", 120_000);
      const line = bot
        .output()
        .split("\n")
        .find((entry) => entry.includes("health server listening"));
      const { port } = JSON.parse(line ?? "{}") as { port?: number };
      expect(port).toBeGreaterThan(0);
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(health.status).toBe(200);
      const metrics = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toMatch(/^teammate_process_cpu_seconds_total \d/m);
      expect(await stopWithin(bot, 10_000)).toBe(0);
    } finally {
      bot.child.kill("SIGKILL");
    }
  }, 180_000);

  it.runIf(canIsolateNetwork)(
    "the compiled code indexes an HTML document offline (extraction runs in its worker thread)",
    async () => {
      writeFileSync(
        join(directory, "handbook.html"),
        "<html><head><title>Handbook</title></head><body><h1>Deploys</h1><p>We deploy on Tuesdays.</p></body></html>",
      );
      const chat = start(["node", "dist/src/chat.js"], directory, environment({}), true);
      chat.child.stdin?.end("index handbook.html\ndocs\n");
      expect(await chat.exited, chat.output()).toBe(0);
      expect(chat.output()).toContain("Indexed **Handbook**");
      expect(chat.output()).toContain("handbook.html (1 chunks");
    },
    180_000,
  );

  it.runIf(canIsolateNetwork)(
    "the worker with an unreachable REDIS_URL says so once, in a sentence, and stops on SIGTERM",
    async () => {
      const command = compose.services.worker?.command ?? [];
      const worker = start(command, directory, environment({ REDIS_URL: "redis://127.0.0.1:6390" }), true);
      try {
        await waitFor(() => worker.output().includes("Cannot reach Redis"), "the Redis sentence", 120_000);
        // Absence can only be shown by letting time pass: two retry periods (2 s each) go by quietly.
        await new Promise((resolve) => setTimeout(resolve, 5_000));
        expect(await stopWithin(worker, 10_000)).toBe(0);
        const lines = worker.output().split("\n").filter(Boolean);
        expect(lines.filter((line) => line.includes("Cannot reach Redis"))).toHaveLength(1);
        expect(worker.output()).toContain("start Redis or fix REDIS_URL");
        expect(worker.output()).not.toMatch(/"stack"|\n\s+at /);
      } finally {
        worker.child.kill("SIGKILL");
      }
    },
    180_000,
  );

  it("the worker on a live Redis starts and drains on SIGTERM within its 60 s grace period", async () => {
    const command = compose.services.worker?.command ?? [];
    const worker = start(
      command,
      directory,
      environment({ REDIS_URL: "redis://127.0.0.1:6379", QUEUE_PREFIX: `image-test-${process.pid}` }),
      false,
    );
    try {
      await waitFor(() => worker.output().includes("worker started"), "the worker to start", 120_000);
      expect(await stopWithin(worker, 60_000)).toBe(0);
      expect(worker.output()).toContain("worker (finishing running jobs) shutting down");
    } finally {
      worker.child.kill("SIGKILL");
    }
  }, 180_000);
});
