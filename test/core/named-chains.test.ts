import { afterEach, describe, expect, it } from "vitest";
import { RecordingSink } from "../support/recording-sink.js";
import { ScriptedLlm } from "../support/scripted-llm.js";
import { createTestAssistant, inbound } from "./assistant-fixtures.js";

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

async function threadWithHistory() {
  const context = createTestAssistant(() => "noted");
  cleanups.push(context.close);
  const say = async (text: string, userName = "Alice", userId = "U1") => {
    const sink = new RecordingSink();
    await context.assistant.handle(inbound({ text, threadId: "T-100", userName, userId }), sink);
    return sink;
  };
  await say("Dana will update the deploy runbook by Friday");
  await say("I'll book the retro room", "Bob", "U2");
  const lastPrompt = () => context.llm?.requests.at(-1) ?? { messages: [] };
  return { ...context, say, lastPrompt };
}

describe("named chains", () => {
  it("summarize carries the thread's messages, fenced as data", async () => {
    const { say, lastPrompt } = await threadWithHistory();
    const sink = await say("summarize");
    const system = String(lastPrompt().messages[0]?.content);
    const body = String(lastPrompt().messages[1]?.content);
    expect(system).toContain("Summarize this team chat");
    expect(body).toContain("<transcript>");
    expect(body).toContain("Alice (U1): Dana will update the deploy runbook by Friday");
    expect(body).toContain("Bob (U2): I'll book the retro room");
    expect(sink.text).toBe("noted");
  });

  it("summarize N takes only the last N messages", async () => {
    const { say, lastPrompt } = await threadWithHistory();
    await say("summarize 1");
    const body = String(lastPrompt().messages[1]?.content);
    expect(body).not.toContain("deploy runbook");
    expect(body).toContain("noted");
  });

  it("translate names the target language and carries the text", async () => {
    const { say, lastPrompt } = await threadWithHistory();
    await say("translate into Korean: the build is green");
    expect(lastPrompt().messages[0]?.content).toContain("Translate the text into Korean.");
    expect(lastPrompt().messages[1]?.content).toContain("the build is green");
  });

  it("translate without text takes the last message", async () => {
    const { say, lastPrompt } = await threadWithHistory();
    await say("translate French");
    expect(lastPrompt().messages[0]?.content).toContain("into French");
    expect(lastPrompt().messages[1]?.content).toContain("noted");
  });

  it("actions asks for owners over the transcript", async () => {
    const { say, lastPrompt } = await threadWithHistory();
    await say("actions");
    expect(lastPrompt().messages[0]?.content).toContain("owner:");
    expect(ScriptedLlm.promptText(lastPrompt())).toContain("Dana will update the deploy runbook by Friday");
  });

  it("classify lists the labels and the text", async () => {
    const { say, lastPrompt } = await threadWithHistory();
    await say("classify bug, feature, question: the export button crashes the app");
    expect(lastPrompt().messages[0]?.content).toContain('"bug", "feature", "question"');
    expect(lastPrompt().messages[1]?.content).toContain("the export button crashes the app");
    const refused = await say("classify bug: text", "Alice", "U1");
    expect(refused.text).toContain("at least two labels");
  });

  it("draft names the kind, the brief and the conversation", async () => {
    const { say, lastPrompt } = await threadWithHistory();
    await say("draft announcement: retro moved to Thursday");
    expect(lastPrompt().messages[0]?.content).toContain("Draft the announcement for a team chat");
    expect(lastPrompt().messages[1]?.content).toContain("<brief>\nretro moved to Thursday\n</brief>");
    expect(lastPrompt().messages[1]?.content).toContain("I'll book the retro room");
  });
});
