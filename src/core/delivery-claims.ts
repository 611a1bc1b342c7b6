import { isStoreDown } from "./arrival.js";
import type { Logger } from "./ports/logger.js";
import type { MemoryStore } from "./ports/memory-store.js";
import type { ConversationRef } from "./types.js";

/**
 * Settles a claimed delivery once its handler is done; given the id of its reply's open-work record
 * (see `OpenReply.release`), closes that record in the same write.
 */
export type SettleClaim = (openWorkId?: string) => Promise<void>;

export interface DeliveryClaimsOptions {
  store: Pick<MemoryStore, "claimEvent" | "extendEvent" | "settleEvent" | "closeWork">;
  /** How long a claim outlives its handler while it works (renewed on a heartbeat). */
  leaseSeconds: number;
  /** How long a finished delivery is remembered. */
  deduplicationSeconds: number;
}

/**
 * Claims a delivery as a lease: short while the handler works (renewed on a heartbeat), long once
 * it is done. A handler that dies (a crash, a kill) stops renewing, so Slack's next re-delivery is
 * answered; a live or finished one is dropped as a duplicate. With the store down nothing can be
 * de-duplicated, and answering a rare re-delivery twice is better than answering nobody.
 * Returns undefined for a duplicate, else a function that settles the claim.
 */
export function createDeliveryClaims(options: DeliveryClaimsOptions) {
  const { store, leaseSeconds, deduplicationSeconds } = options;
  return async function claim(
    kind: string,
    ref: ConversationRef,
    eventId: string,
    log: Logger,
  ): Promise<SettleClaim | undefined> {
    const key = `${kind}:${ref.platform}:${ref.workspaceId}:${eventId}`;
    try {
      if (!(await store.claimEvent(key, leaseSeconds))) return undefined;
    } catch (error) {
      if (!isStoreDown(error)) throw error;
      log.warn({ err: error }, "memory store unavailable: handling the delivery without de-duplication");
      // Nothing to settle; the reply's record, if the store came back in time to take it, still goes.
      return async (openWorkId) => {
        if (openWorkId === undefined) return;
        await store.closeWork(openWorkId).catch((closeError: unknown) => {
          log.debug({ err: closeError }, "open reply record not closed");
        });
      };
    }
    const extend = (seconds: number) =>
      store.extendEvent(key, seconds).catch((error: unknown) => {
        log.debug({ err: error }, "delivery claim not extended");
      });
    const heartbeat = setInterval(() => void extend(leaseSeconds), (leaseSeconds * 1000) / 3);
    return async (openWorkId) => {
      clearInterval(heartbeat);
      await store.settleEvent(key, deduplicationSeconds, openWorkId).catch((error: unknown) => {
        log.debug({ err: error }, "delivery claim not settled");
      });
    };
  };
}
