import { openSqliteDatabase } from "../../src/adapters/sqlite/open-sqlite-database.js";
import { SqliteMemoryStore } from "../../src/adapters/sqlite/sqlite-memory-store.js";
import { type AssistantOptions, createAssistant } from "../../src/core/assistant.js";
import type { InboundMessage } from "../../src/core/ports/assistant-handler.js";
import { silentLogger } from "../../src/core/ports/logger.js";
import { type Script, ScriptedLlm } from "../support/scripted-llm.js";

let eventCounter = 0;

export function inbound(overrides: Partial<InboundMessage> = {}): InboundMessage {
  eventCounter += 1;
  return {
    platform: "slack",
    workspaceId: "T1",
    channelId: "C1",
    threadId: undefined,
    userId: "U1",
    userName: "Alice",
    text: "hello",
    attachments: [],
    isAdmin: false,
    eventId: `Ev${eventCounter}`,
    ...overrides,
  };
}

/** A real assistant on an in-memory SQLite store and a scripted LLM. */
export function createTestAssistant(script: Script | undefined, options: Partial<AssistantOptions> = {}) {
  const database = openSqliteDatabase(":memory:");
  const store = new SqliteMemoryStore(database);
  const llm = script ? new ScriptedLlm(script) : undefined;
  const assistant = createAssistant({
    store,
    llm,
    logger: silentLogger,
    promptTokenBudget: 6_000,
    allowGeneralKnowledge: false,
    ...options,
  });
  return { assistant, store, llm, database, close: () => database.close() };
}
