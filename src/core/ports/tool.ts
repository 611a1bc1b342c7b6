import type { z } from "zod";
import type { ChannelRef, ConversationRef } from "../types.js";
import type { Passage } from "./knowledge.js";
import type { Logger } from "./logger.js";
import type { QueryScope } from "./vector-store.js";

/**
 * How much harm a tool can do. `read` tools run freely; every other kind pauses the agent until the
 * asker or an admin clicks Approve (see `ApprovalGate`), whoever asked the model to call them — a
 * document or a tool result cannot talk its way past a human:
 * - `network`: reaches another server with arguments the model chose, so it can carry data out
 *   (a URL with secrets in its query is all an exfiltration needs), even though it changes nothing;
 * - `write`: changes something (a note, a ticket);
 * - `dangerous`: destroys or cannot be undone.
 */
export type ToolRisk = "read" | "network" | "write" | "dangerous";

/**
 * Numbers passages for citation across one answer. Every `search_docs` call (and the passages the
 * answer chain retrieved before the agent started) shares one numbering, so `[3]` means the same
 * passage everywhere in the answer.
 */
export interface SourceCollector {
  /** Adds a passage (or finds it if already added) and returns its citation number, from 1. */
  add(passage: Passage): number;
  /** Every passage added so far, in citation order. */
  list(): Passage[];
}

/** What a tool may know about the turn it runs in. */
export interface ToolContext {
  conversation: ConversationRef;
  askerId: string;
  /** The asker's display name, when the platform gave one (notes record their author). */
  askerName?: string | undefined;
  isAdmin: boolean;
  /**
   * The documents this asker may see; narrower than the conversation's channel for a guest from
   * another organisation. Absent: the conversation's channel and its workspace-wide documents.
   */
  knowledgeScope?: QueryScope | undefined;
  /** Aborted when the tool's timeout passes, the answer's time budget runs out, or the turn is cancelled. */
  signal: AbortSignal;
  logger: Logger;
  sources: SourceCollector;
}

/** What a tool hands back: plain text for the model, or text plus the passages it cited. */
export type ToolOutput = string | { text: string; passages?: Passage[] | undefined };

/**
 * A capability the model may call. The registry validates arguments with `inputSchema` before
 * `execute` runs, caps the output in tokens, enforces the timeout and turns a throw into an error
 * result for the model, so a tool only has to do its job.
 */
export interface Tool<Input = unknown> {
  /** `[a-zA-Z0-9_-]{1,64}`, the limit OpenAI-compatible endpoints accept. */
  name: string;
  /** Written for the model: what the tool does and when to use it. */
  description: string;
  /** Validates (and may transform) the model's arguments. Turned into JSON Schema for the model. */
  inputSchema: z.ZodType<Input>;
  /**
   * JSON Schema shown to the model instead of the one derived from `inputSchema`, for tools whose
   * schema arrives as JSON Schema already (MCP servers validate their own arguments).
   */
  parameters?: Record<string, unknown> | undefined;
  risk: ToolRisk;
  /**
   * For a risky tool: whether this very call is what the asker typed themselves (the exact URL in
   * their own message), so it needs no click. Text the model read elsewhere never counts.
   */
  requestedByAsker?(input: Input, askerText: string): boolean;
  /** Per-tool time limit in milliseconds; the registry's default applies when absent. */
  timeoutMs?: number | undefined;
  /** Per-tool output cap in tokens; the registry's default applies when absent. */
  maxOutputTokens?: number | undefined;
  /** A short status line shown while the tool runs ("Searching the docs…"). */
  activity?: string | undefined;
  execute(input: Input, context: ToolContext): Promise<ToolOutput>;
}

/**
 * A provider of tools discovered at run time (MCP servers). The per-channel allowlist lives here
 * because only the source knows which of its tools a channel was granted.
 */
export interface ToolSource {
  tools(): Tool[];
  /** Whether `channel` may use the tool; true for names this source does not own. */
  allows(channel: ChannelRef, toolName: string): boolean;
  close(): Promise<void>;
}
