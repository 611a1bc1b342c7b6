import { afterEach, describe, expect, it } from "vitest";
import { INTERRUPTED_MARK } from "../../../src/adapters/slack/slack-reply-sink.js";
import { answerButtons } from "../../../src/core/actions/answer-actions.js";
import type { ReplySink } from "../../../src/core/ports/reply-sink.js";
import type { StoredMessage } from "../../support/slack-stand-in.js";
import { envelope, type Harness, sleep, startHarness, waitFor } from "./slack-test-harness.js";

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

let mentionCounter = 0;
/** Mentions teammate in C111 and waits until the scripted reply is finished. */
async function mentionAndAnswer(
  options: { interval?: number; streamMessageLimit?: number; refuse?: string; expireAfter?: number },
  script: (sink: ReplySink) => Promise<void>,
): Promise<{ harness: Harness; threadTs: string }> {
  harness = await startHarness({
    adapter: {
      ...(options.interval !== undefined ? { updateIntervalMilliseconds: options.interval } : {}),
      ...(options.streamMessageLimit !== undefined ? { streamMessageLimit: options.streamMessageLimit } : {}),
    },
  });
  if (options.refuse) harness.standIn.refuseStreaming(options.refuse);
  if (options.expireAfter !== undefined) harness.standIn.expireStreamsAfterAppends(options.expireAfter);
  let done = false;
  let failure: unknown;
  harness.assistant.script = async (_message, sink) => {
    try {
      await script(sink);
    } catch (error) {
      failure = error;
    } finally {
      done = true;
    }
  };
  mentionCounter += 1;
  const threadTs = `1700001${String(mentionCounter).padStart(3, "0")}.000100`;
  await harness.postEvent(
    envelope({ type: "app_mention", user: "W222", text: "<@UBOT> tell me", ts: threadTs, channel: "C111" }),
  );
  await waitFor(() => done, 30_000, "the scripted reply");
  if (failure) throw failure;
  return { harness, threadTs };
}

/** The words of a text, ignoring whitespace, zero-width spaces and code fences, for "nothing lost" checks. */
const words = (text: string) =>
  text
    .replace(/\u200b/g, "")
    .replace(/```\w*/g, " ")
    .split(/\s+/)
    .filter(Boolean);

const shown = (messages: StoredMessage[]) => messages.map((message) => message.text).join("\n\n");

function longAnswer(characters: number): string {
  const paragraphs: string[] = [];
  let length = 0;
  for (let index = 0; length < characters; index += 1) {
    const paragraph =
      index % 7 === 3
        ? `\`\`\`ts\n${Array.from({ length: 12 }, (_, line) => `const value${index}_${line} = ${line} * 2;`).join("\n")}\n\`\`\``
        : `Paragraph ${index} explains part ${index} of the answer with several plain words to read through carefully.`;
    paragraphs.push(paragraph);
    length += paragraph.length + 2;
  }
  return paragraphs.join("\n\n").slice(0, characters);
}

async function appendInPieces(sink: ReplySink, text: string, pieces: number, pauseMilliseconds = 0) {
  const size = Math.ceil(text.length / pieces);
  for (let start = 0; start < text.length; start += size) {
    await sink.append(text.slice(start, start + size));
    if (pauseMilliseconds > 0) await sleep(pauseMilliseconds);
  }
}

describe("SlackReplySink", () => {
  it("a 10,000-character answer arrives complete across messages when posting and editing", async () => {
    const answer = longAnswer(10_000);
    expect(answer.length).toBe(10_000);
    const { harness, threadTs } = await mentionAndAnswer(
      { refuse: "team_not_allowed", interval: 50 },
      async (sink) => {
        await sink.start({ visibility: "everyone" });
        await appendInPieces(sink, answer, 40, 5);
        await sink.finish({ sources: [], buttons: answerButtons("long-1", true), answerId: "long-1" });
      },
    );
    const messages = harness.standIn.visibleMessages("C111", threadTs);
    expect(messages.length).toBeGreaterThanOrEqual(4);
    for (const message of messages) expect(message.text.length).toBeLessThanOrEqual(3_000);
    expect(words(shown(messages))).toEqual(words(answer));
    // Every code block is closed within its own message.
    for (const message of messages) expect((message.text.match(/```/g) ?? []).length % 2).toBe(0);
    // Buttons sit on the last message only.
    expect(messages.at(-1)?.blocks.some((block) => (block as { type: string }).type === "actions")).toBe(
      true,
    );
    expect(harness.standIn.violations).toEqual([]);
  });

  it("a long streamed answer continues in new messages under the stream limit, nothing lost", async () => {
    const answer = longAnswer(25_000);
    const { harness, threadTs } = await mentionAndAnswer({ interval: 20 }, async (sink) => {
      await sink.start({ visibility: "everyone" });
      await appendInPieces(sink, answer, 50, 25);
      await sink.finish({ sources: [], buttons: answerButtons("long-2", true), answerId: "long-2" });
    });
    const messages = harness.standIn.visibleMessages("C111", threadTs);
    expect(messages.length).toBeGreaterThanOrEqual(3);
    expect(messages.every((message) => message.kind === "stream" && !message.streaming)).toBe(true);
    expect(words(shown(messages))).toEqual(words(answer));
    expect(harness.standIn.violations).toEqual([]);
  });

  it("converts Markdown (bold, links, lists, code block) to correct mrkdwn in posted messages", async () => {
    const markdown = [
      "Here is **the plan** for [the docs](https://example.com/docs?a=1&b=2):",
      "",
      "- first step",
      "- second step",
      "",
      "1. one",
      "2. two",
      "",
      "```js",
      "const answer = 42;",
      "```",
    ].join("\n");
    const { harness, threadTs } = await mentionAndAnswer({ refuse: "team_not_allowed" }, async (sink) => {
      await sink.start({ visibility: "everyone" });
      await sink.append(markdown);
      await sink.finish({ sources: [], buttons: [] });
    });
    const [message] = harness.standIn.visibleMessages("C111", threadTs);
    const text = (message?.text ?? "").replace(/\u200b/g, "");
    expect(text).toContain("*the plan*");
    expect(text).not.toContain("**");
    expect(text).toContain("<https://example.com/docs?a=1&b=2|the docs>");
    expect(text).toMatch(/•\s+first step\n•\s+second step/);
    expect(text).toMatch(/1\.\s+one\n2\.\s+two/);
    expect(text).toContain("```\nconst answer = 42;\n```");
  });

  it("streams Markdown as is, and renders sources and buttons as Block Kit at the end", async () => {
    const { harness, threadTs } = await mentionAndAnswer({}, async (sink) => {
      await sink.start({ visibility: "everyone" });
      await sink.append("Deploys happen on **Fridays** [1].");
      await sink.finish({
        sources: [
          {
            index: 1,
            title: "Runbook <draft>",
            location: "https://wiki.example.com/runbook",
            documentId: "d1",
          },
          { index: 2, title: "Notes", location: "docs/notes.md", documentId: "d2" },
        ],
        buttons: [
          { action: "feedback-up", label: "👍", value: "ans-9" },
          { action: "feedback-down", label: "👎", value: "ans-9" },
          { action: "show-sources", label: "Show sources", value: "ans-9" },
        ],
        answerId: "ans-9",
      });
    });
    const [message] = harness.standIn.visibleMessages("C111", threadTs);
    expect(message?.kind).toBe("stream");
    expect(message?.text).toBe("Deploys happen on **Fridays** [1].");
    const stop = harness.standIn.callsTo("chat.stopStream")[0];
    const blocks = stop?.args.blocks as Array<{
      type: string;
      text?: { text: string };
      elements?: unknown[];
    }>;
    expect(blocks[0]?.text?.text).toBe(
      "*Sources*\n[1] <https://wiki.example.com/runbook|Runbook &lt;draft&gt;>\n[2] Notes — `docs/notes.md`",
    );
    expect(blocks[1]?.type).toBe("actions");
    expect(blocks[1]?.elements).toHaveLength(3);
  });

  it("falls back to chat.postMessage + chat.update when chat.startStream is refused", async () => {
    const { harness, threadTs } = await mentionAndAnswer(
      { refuse: "team_not_allowed", interval: 100 },
      async (sink) => {
        await sink.start({ visibility: "everyone" });
        for (const word of ["Streaming ", "is ", "refused ", "here, ", "so ", "I ", "edit."]) {
          await sink.append(word);
          await sleep(60);
        }
        await sink.finish({
          sources: [],
          buttons: answerButtons("a-fallback", true),
          answerId: "a-fallback",
        });
      },
    );
    const { standIn } = harness;
    expect(standIn.callsTo("chat.startStream")).toHaveLength(1);
    expect(standIn.callsTo("chat.startStream")[0]?.ok).toBe(false);
    expect(standIn.callsTo("chat.postMessage")).toHaveLength(1);
    expect(standIn.callsTo("chat.update").length).toBeGreaterThanOrEqual(1);
    const [message] = standIn.visibleMessages("C111", threadTs);
    expect(message?.text).toBe("Streaming is refused here, so I edit.");
    expect(message?.blocks.map((block) => (block as { type: string }).type)).toEqual(["section", "actions"]);
    expect(standIn.violations).toEqual([]);
  });

  it("continues in a new message when Slack closes the stream, losing no text", async () => {
    const pieces = Array.from({ length: 12 }, (_, index) => `piece${index} `);
    const { harness, threadTs } = await mentionAndAnswer({ expireAfter: 2, interval: 30 }, async (sink) => {
      await sink.start({ visibility: "everyone" });
      for (const piece of pieces) {
        await sink.append(piece);
        await sleep(50);
      }
      await sink.finish({ sources: [], buttons: answerButtons("a-expiry", true), answerId: "a-expiry" });
    });
    const messages = harness.standIn.visibleMessages("C111", threadTs);
    expect(messages.length).toBeGreaterThanOrEqual(3);
    expect(harness.standIn.calls.some((call) => call.error === "message_not_in_streaming_state")).toBe(true);
    expect(words(shown(messages))).toEqual(words(pieces.join("")));
    // The buttons still arrive: on the last stream, or in a message of their own.
    const withActions = messages.filter((message) =>
      message.blocks.some((block) => (block as { type: string }).type === "actions"),
    );
    expect(withActions).toHaveLength(1);
  });

  it("edits a posted reply at most about once per second", async () => {
    const { harness } = await mentionAndAnswer(
      { refuse: "team_not_allowed", interval: 1_000 },
      async (sink) => {
        await sink.start({ visibility: "everyone" });
        for (let index = 0; index < 50; index += 1) {
          await sink.append(`word${index} `);
          await sleep(50);
        }
        await sink.finish({ sources: [], buttons: [] });
      },
    );
    const updates = harness.standIn.callsTo("chat.update");
    const post = harness.standIn.callsTo("chat.postMessage")[0];
    const times = [post?.at ?? 0, ...updates.map((call) => call.at)];
    expect(updates.length).toBeGreaterThanOrEqual(2);
    for (let index = 1; index < times.length; index += 1) {
      expect((times[index] ?? 0) - (times[index - 1] ?? 0)).toBeGreaterThanOrEqual(950);
    }
    const [message] = harness.standIn.visibleMessages("C111");
    expect(words(message?.text ?? "")).toHaveLength(50);
  });

  it("fail() always posts the sentence, after whatever answer text had arrived, marked as interrupted", async () => {
    const { harness, threadTs } = await mentionAndAnswer({}, async (sink) => {
      await sink.start({ visibility: "everyone" });
      await sink.append("Partial answer");
      await sink.fail("The language model stopped responding. Please try again.");
    });
    const messages = harness.standIn.visibleMessages("C111", threadTs);
    expect(messages.map((message) => message.text)).toEqual([
      `Partial answer${INTERRUPTED_MARK}`,
      "The language model stopped responding. Please try again.",
    ]);
    expect(harness.standIn.callsTo("reactions.remove")).toHaveLength(1);
  });

  it("shows status lines briefly and removes them when the answer starts", async () => {
    const { harness, threadTs } = await mentionAndAnswer(
      { refuse: "team_not_allowed", interval: 50 },
      async (sink) => {
        await sink.start({ visibility: "everyone" });
        await sink.status("searching the docs…");
        await sleep(100);
        await sink.status("calling calculator…");
        await sink.append("The result is 4.");
        await sink.finish({ sources: [], buttons: [] });
      },
    );
    const messages = harness.standIn.visibleMessages("C111", threadTs);
    expect(messages.map((message) => message.text)).toEqual(["The result is 4."]);
    expect(harness.standIn.callsTo("chat.postMessage")[0]?.args.text).toBe("_searching the docs…_");
  });

  it("a reply for the asker alone in a channel thread goes out with chat.postEphemeral", async () => {
    const { harness, threadTs } = await mentionAndAnswer({}, async (sink) => {
      await sink.start({ visibility: "asker" });
      await sink.append("Only you can see **this**.");
      await sink.finish({ sources: [], buttons: [] });
    });
    expect(harness.standIn.visibleMessages("C111", threadTs)).toEqual([]);
    const [ephemeral] = harness.standIn.callsTo("chat.postEphemeral");
    expect(ephemeral?.args).toMatchObject({ channel: "C111", user: "W222", thread_ts: threadTs });
    expect(String(ephemeral?.args.text).replace(/\u200b/g, "")).toBe("Only you can see *this*.");
  });

  it("an uncaught error in core still gets the asker a sentence", async () => {
    harness = await startHarness();
    harness.assistant.script = async () => {
      throw new Error("boom");
    };
    await harness.postEvent(
      envelope({
        type: "app_mention",
        user: "W222",
        text: "<@UBOT> break",
        ts: "1700009999.000100",
        channel: "C111",
      }),
    );
    await waitFor(
      () => harness?.standIn.visibleMessages("C111", "1700009999.000100").length === 1,
      5_000,
      "the apology",
    );
    expect(harness.standIn.visibleMessages("C111", "1700009999.000100")[0]?.text).toMatch(
      /^Sorry, something went wrong on my side and I could not finish that \(ref \w+\)\.$/,
    );
  });
});
