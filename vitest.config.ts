import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "src/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Real-Redis suites use a unique key prefix per test, so files may run in parallel.
    pool: "forks",
  },
});
