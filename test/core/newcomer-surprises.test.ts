import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Application, createApplication } from "../../src/application.js";
import { loadConfig } from "../../src/config.js";
import { NO_DOCUMENTS_NOTE, NOT_FOUND_IN_DOCUMENTS } from "../../src/core/chains/answer-chain.js";
import { NO_LLM_MESSAGE_SHORT } from "../../src/core/commands/no-llm.js";
import { silentLogger } from "../../src/core/ports/logger.js";
import { RecordingSink } from "../support/recording-sink.js";
import { createTestAssistant, inbound } from "./assistant-fixtures.js";

describe("without a language model (the whole application, as `npm run chat` builds it)", () => {
  let directory: string;
  let application: Application;

  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), "teammate-no-llm-"));
    application = await createApplication(
      loadConfig({ DATA_DIR: directory, ENABLE_TOOLS: "false" }),
      silentLogger,
    );
  });
  afterAll(async () => {
    await application.close();
    rmSync(directory, { recursive: true, force: true });
  });

  const say = async (text: string) => {
    const sink = new RecordingSink();
    await application.assistant.handle(inbound({ platform: "local", text, isAdmin: true }), sink);
    return sink;
  };

  it("help lists every command, the fine-tuning ones too, and marks those that need a model", async () => {
    const help = (await say("help")).visible;
    for (const command of application.assistant.commands) expect(help).toContain(`\`${command.usage}\``);
    expect(help).toContain(
      "`finetune start [base-model]` — fine-tune a model on this channel's training set (admins) — needs a language model",
    );
    expect(help).toContain("`summarize [N]`");
    expect(help).toMatch(/`docs` — [^\n]*\n/);
    expect(help).not.toMatch(/`docs` — [^\n]*needs a language model/);
  });

  it("a command that needs the model says how to configure one, once", async () => {
    const sink = await say("finetune start");
    expect(sink.visible).toBe(NO_LLM_MESSAGE_SHORT);
  });

  it("a question the indexed docs cannot answer gets one message, not two that disagree", async () => {
    // Local paths are read inside the folder the process runs in (the repository, under vitest).
    await application.knowledge.index(
      { kind: "path", path: "README.md" },
      { platform: "local", workspaceId: "T1" },
    );
    const sink = await say("what is the capital of Mongolia?");
    expect(sink.visible).toContain("No language model is configured, so I can only search the indexed docs");
    expect(sink.visible).not.toContain("I can't answer questions yet");
    // One message (one start, one finish), however its text is streamed out.
    expect(sink.events.filter((event) => event.type === "start")).toHaveLength(1);
    expect(sink.events.filter((event) => event.type === "finish" || event.type === "fail")).toHaveLength(1);
    expect(sink.visible.match(/No language model is configured/g)).toHaveLength(1);
  });
});

describe("the general-knowledge policy, stated in the answer", () => {
  it("with nothing indexed, an answer says it comes from general knowledge", async () => {
    const { assistant, close } = createTestAssistant(() => ({ text: "Ulaanbaatar." }));
    const sink = new RecordingSink();
    await assistant.handle(inbound({ text: "what is the capital of Mongolia?" }), sink);
    expect(sink.text).toBe(`${NO_DOCUMENTS_NOTE}Ulaanbaatar.`);
    close();
  });

  it("with documents and no match, a docs-only channel refuses and says why and who can change it", () => {
    expect(NOT_FOUND_IN_DOCUMENTS).toContain("answers only from its documents");
    expect(NOT_FOUND_IN_DOCUMENTS).toContain("config general-knowledge on");
  });
});
