import { createHash, hash } from "node:crypto";
import type { SourceKind } from "../ports/source-connector.js";
import type { DocumentScope } from "../ports/vector-store.js";

function shortHash(parts: string[]): string {
  return hash("sha256", parts.join("\u0000"), "hex").slice(0, 10);
}

/**
 * A source's id: short enough to type in `sync <id>`, and derived from its scope, kind and canonical
 * target, so indexing the same target again in the same scope finds the same source.
 */
export function sourceIdFor(scope: DocumentScope, kind: SourceKind, target: string): string {
  return `s${shortHash([scope.platform, scope.workspaceId, scope.channelId ?? "*", kind, target])}`;
}

/**
 * The vector-store document of one item of a source. Derived from the source and the item key, so a
 * re-sync (or a rerun after a crash) replaces the same chunks instead of adding a second copy, and two
 * sources that share a page keep separate documents (forgetting one leaves the other whole).
 */
export function documentIdForItem(sourceId: string, scope: DocumentScope, key: string): string {
  return `d${shortHash(["source-item", scope.platform, scope.workspaceId, sourceId, key])}`;
}

/** sha256 of an item's title and text: equal hashes mean nothing to re-embed. */
export function contentHashOf(title: string, text: string): string {
  return createHash("sha256").update(title).update("\u0000").update(text).digest("hex");
}

const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `6h`, `1d`, `30m`, `2w` (and `90s`) in milliseconds; undefined when it is none of those. */
export function parseInterval(text: string): number | undefined {
  const match = /^(\d{1,6})\s*([smhdw])$/i.exec(text.trim());
  if (!match) return undefined;
  const amount = Number(match[1]);
  const unit = UNIT_MS[(match[2] ?? "").toLowerCase()];
  if (unit === undefined || amount <= 0) return undefined;
  return amount * unit;
}

/** The shortest exact way to write an interval: `6h`, `1d`, `90m`. */
export function describeInterval(milliseconds: number): string {
  for (const unit of ["w", "d", "h", "m"] as const) {
    const size = UNIT_MS[unit] ?? 1;
    if (milliseconds % size === 0) return `${milliseconds / size}${unit}`;
  }
  return `${Math.round(milliseconds / 1_000)}s`;
}
