import type { ExtractionPool } from "./extraction-pool.js";

/**
 * The process's extraction pool (`sharedExtractionPool`), its module loaded with the first document:
 * Piscina and the extractors are no part of a process's start-up, which a bot that never indexes
 * would otherwise pay on every restart.
 */
export async function loadExtractionPool(): Promise<ExtractionPool> {
  return (await import("./extraction-pool.js")).sharedExtractionPool();
}
