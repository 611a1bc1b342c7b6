import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "src/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Real-Redis suites use a unique key prefix per test, so files may run in parallel.
    pool: "forks",
    // Most files wait on sockets, child processes and timers rather than compute: on a 2-core machine
    // vitest's default (cores - 1 = one file at a time) left the CPU idle and took 548 s; three at once
    // took 209 s with every test passing.
    maxWorkers: Math.max(3, availableParallelism() - 1),
  },
});
