import type { Platform } from "../types.js";

/** Something the composition root stops on shutdown (a platform, the health server, a timer). */
export interface Stoppable {
  stop(): Promise<void>;
}

/**
 * A chat platform's transport as the composition root sees it, after bolt-js's `Receiver`: started
 * once configured, stopped on shutdown. What it receives goes to the `AssistantHandler` it was
 * built with; the root never knows which platform it holds.
 */
export interface PlatformAdapter extends Stoppable {
  /** Which platform, for start-up logs. */
  readonly name: Platform;
  /** Connects (gateway, socket or HTTP listener) and resolves once messages can arrive. */
  start(): Promise<void>;
  /** Stops receiving, then waits for replies already in progress. */
  stop(): Promise<void>;
}
