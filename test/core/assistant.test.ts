import { afterEach, describe, expect, it } from "vitest";
import { NO_DOCUMENTS_NOTE } from "../../src/core/chains/answer-chain.js";
import { AppError } from "../../src/core/errors.js";
import type { AnswerRecord } from "../../src/core/ports/memory-store.js";
import { sameHiddenClass } from "../support/hidden-class.js";
import { RecordingSink } from "../support/recording-sink.js";
import { ScriptedLlm } from "../support/scripted-llm.js";
import { createTestAssistant, inbound } from "./assistant-fixtures.js";

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function setup(...args: Parameters<typeof createTestAssistant>) {
  const context = createTestAssistant(...args);
  cleanups.push(context.close);
  return context;
}

async function send(
  assistant: ReturnType<typeof setup>["assistant"],
  ...overrides: Parameters<typeof inbound>
) {
  const sink = new RecordingSink();
  await assistant.handle(inbound(...overrides), sink);
  return sink;
}

describe("assistant: conversation", () => {
  it("streams an answer and sends the first exchange with the second question", async () => {
    const { assistant, llm } = setup((request) => `You said: ${String(request.messages.at(-1)?.content)}`);
    const first = await send(assistant, { text: "my favourite colour is teal" });
    expect(first.text).toContain("my favourite colour is teal");
    expect(first.events.filter((event) => event.type === "append").length).toBeGreaterThan(1);
    expect(first.finished?.buttons.map((button) => button.action)).toEqual(["feedback-up", "feedback-down"]);

    await send(assistant, { text: "what is my favourite colour?" });
    const second = llm?.requests.at(-1);
    const roles = second?.messages.map((message) => message.role);
    expect(roles).toEqual(["system", "user", "assistant", "user"]);
    expect(second?.messages[1]?.content).toContain("my favourite colour is teal");
    expect(second?.messages[2]?.content).toContain("You said:");
  });

  it("saves each answer's conversation and trace in one hidden class, answer after answer", async () => {
    const { assistant, store } = setup(() => "Noted.");
    const saved: AnswerRecord[] = [];
    const saveAnswer = store.saveAnswer.bind(store);
    store.saveAnswer = (answer, exchange) => {
      saved.push(answer);
      return saveAnswer(answer, exchange);
    };
    // Enough answers for V8 to leave the first calls' generic path (feedback comes after a few).
    for (let thread = 0; thread < 20; thread++)
      await send(assistant, { text: "hi", threadId: `${thread}.1` });
    const [first] = saved as [AnswerRecord];
    expect(saved.at(-1)?.conversation).toEqual({
      platform: "slack",
      workspaceId: "T1",
      channelId: "C1",
      threadId: "19.1",
    });
    for (const answer of saved) {
      expect(sameHiddenClass(answer.conversation, first.conversation)).toBe(true);
      expect(sameHiddenClass(answer.trace as object, first.trace as object)).toBe(true);
    }
  });

  it("keeps speakers apart in a shared channel", async () => {
    const { assistant, llm } = setup(() => "ok");
    await send(assistant, { text: "I prefer tabs", userId: "U1", userName: "Alice" });
    await send(assistant, { text: "who prefers tabs?", userId: "U2", userName: "Bob" });
    const prompt = llm?.requests.at(-1)?.messages ?? [];
    expect(prompt[1]?.content).toBe("Alice (U1): I prefer tabs");
    expect(prompt.at(-1)?.content).toBe("Bob (U2): who prefers tabs?");
  });

  it("answers a duplicate delivery once", async () => {
    const { assistant, llm } = setup(() => "once");
    const message = inbound({ text: "hi there", eventId: "Ev-dup" });
    const first = new RecordingSink();
    const second = new RecordingSink();
    await assistant.handle(message, first);
    await assistant.handle({ ...message }, second);
    // Nothing is indexed here, so the answer says it comes from general knowledge.
    expect(first.text).toBe(`${NO_DOCUMENTS_NOTE}once`);
    expect(second.events).toEqual([]);
    expect(llm?.requests).toHaveLength(1);
  });

  it("turns an LLM failure into a clear sentence, never silence", async () => {
    const { assistant } = setup(() => {
      throw new AppError("llm_rate_limited", "429 from upstream", {
        category: "third_party",
        retryable: true,
        userMessage: "The language model is busy right now; try again in a minute.",
      });
    });
    const sink = await send(assistant, { text: "anything" });
    expect(sink.failed).toMatch(
      /^The language model is busy right now; try again in a minute\. \(ref [0-9a-f]{8}\)$/,
    );
  });

  it("without an LLM, says which variables to set, and commands still work", async () => {
    const { assistant } = setup(undefined);
    const sink = await send(assistant, { text: "hello" });
    expect(sink.text).toContain("OPENAI_API_KEY");
    expect(sink.text).toContain("OPENAI_BASE_URL");
    expect(sink.started?.visibility).toBe("asker");
    const noted = await send(assistant, { text: "remember the deploy is on Friday" });
    expect(noted.text).toContain("Noted");
  });

  it("reads earlier thread messages into context on first contact", async () => {
    const { assistant, llm } = setup(() => "ok");
    await send(assistant, {
      text: "what did Carol decide?",
      threadId: "1700.1",
      history: {
        earlier: async () => [
          { userId: "U3", userName: "Carol", text: "we ship on Monday", fromAssistant: false },
        ],
        includesTeammate: async () => false,
      },
    });
    expect(ScriptedLlm.promptText(llm?.requests.at(-1) ?? { messages: [] })).toContain(
      "Carol (U3): we ship on Monday",
    );
  });
});

describe("assistant: deciding whether to answer", () => {
  const thread = { threadId: "1700.1", messageId: "1700.9" };
  const quietHistory = (includesTeammate: boolean) => ({
    earlier: async () => [],
    includesTeammate: async () => includesTeammate,
  });

  it("leaves an unmentioned thread message alone, without a trace, until teammate takes part", async () => {
    const { assistant, llm } = setup(() => "ok");
    const ignored = await send(assistant, { ...thread, text: "lunch?", addressedBy: "none" });
    expect(ignored.events).toEqual([]);
    expect(llm?.requests).toHaveLength(0);

    await send(assistant, { ...thread, text: "when do we ship?", addressedBy: "mention" });
    const followUp = await send(assistant, { ...thread, text: "and the week after?", addressedBy: "none" });
    expect(followUp.finished).toBeDefined();
    expect(llm?.requests).toHaveLength(2);
  });

  it("answers only mentions where the channel says `config listen mention`", async () => {
    const { assistant, store, llm } = setup(() => "ok");
    await store.updateSettings(
      { platform: "slack", workspaceId: "T1", channelId: "C1" },
      { listen: "mention" },
    );
    await send(assistant, { ...thread, text: "when do we ship?", addressedBy: "mention" });
    const followUp = await send(assistant, { ...thread, text: "and after?", addressedBy: "none" });
    expect(followUp.events).toEqual([]);
    expect(llm?.requests).toHaveLength(1);
  });

  it("with memory down, asks the thread whether teammate is in it", async () => {
    const { assistant, store, llm } = setup(() => "ok");
    const down = new AppError("store_unavailable", "sqlite is gone", { category: "third_party" });
    store.getSettings = async () => {
      throw down;
    };
    store.loadConversation = async () => {
      throw down;
    };
    const outside = await send(assistant, {
      ...thread,
      text: "hm",
      addressedBy: "none",
      history: quietHistory(false),
    });
    expect(outside.events).toEqual([]);
    const inside = await send(assistant, {
      ...thread,
      text: "hm?",
      addressedBy: "none",
      history: quietHistory(true),
    });
    expect(inside.text).toContain("My memory is unavailable");
    expect(llm?.requests).toHaveLength(1);
  });

  it("reads the conversation once per message, and the thread's history only on first contact", async () => {
    const { assistant, store } = setup(() => "ok");
    let loads = 0;
    const load = store.loadConversation.bind(store);
    store.loadConversation = async (conversation) => {
      loads += 1;
      return load(conversation);
    };
    let reads = 0;
    const history = {
      earlier: async () => {
        reads += 1;
        return [{ userId: "U3", userName: "Carol", text: "we ship on Monday", fromAssistant: false }];
      },
      includesTeammate: async () => false,
    };
    await send(assistant, { ...thread, text: "what did Carol say?", history });
    await send(assistant, {
      ...thread,
      messageId: "1700.10",
      text: "and then?",
      addressedBy: "none",
      history,
    });
    expect(loads).toBe(2);
    expect(reads).toBe(1);
  });

  it("tells the sink where to post: the channel's reply mode for a message typed in the channel", async () => {
    const { assistant, store } = setup(() => "ok");
    const inThread = await send(assistant, { threadId: "1800.1", messageId: "1800.1", text: "hi there" });
    expect(inThread.started?.placement).toBe("thread");
    await store.updateSettings(
      { platform: "slack", workspaceId: "T1", channelId: "C1" },
      { replyMode: "channel" },
    );
    const inChannel = await send(assistant, { threadId: "1800.2", messageId: "1800.2", text: "hi again" });
    expect(inChannel.started?.placement).toBe("channel");
    const inReply = await send(assistant, { threadId: "1800.2", messageId: "1800.3", text: "and more" });
    expect(inReply.started?.placement).toBe("thread");
  });
});

describe("assistant: commands", () => {
  it("help is shown to the asker only and lists the commands", async () => {
    const { assistant, llm } = setup(() => "unused");
    const sink = await send(assistant, { text: "help" });
    expect(sink.started?.visibility).toBe("asker");
    expect(sink.text).toContain("memory show");
    expect(sink.text).toContain("forget-note");
    expect(llm?.requests).toHaveLength(0);
  });

  it("'help me write an email' is a question, not the help command", async () => {
    const { assistant, llm } = setup(() => "Sure.");
    await send(assistant, { text: "help me write an email" });
    expect(llm?.requests).toHaveLength(1);
  });

  it("forget-note removes one's own notes; someone else's only with admin rights, checked when it runs", async () => {
    const { assistant } = setup(() => "ok");
    const noted = await send(assistant, {
      text: "remember the wifi password rotates on Mondays",
      userId: "U-ADA",
    });
    const id = /`(n\d+)`/.exec(noted.text)?.[1];
    const refused = await send(assistant, { text: `forget-note ${id}`, userId: "U-EVE" });
    expect(refused.text).toMatch(/only they, or an admin, can remove it/);
    // An admin verdict from a stale cache is not enough: the fresh check says no.
    const stale = await send(assistant, {
      text: `forget-note ${id}`,
      userId: "U-EVE",
      isAdmin: true,
      isAdminNow: async () => false,
    });
    expect(stale.text).toMatch(/only they, or an admin, can remove it/);
    expect((await send(assistant, { text: "memory show" })).text).toContain("wifi password");
    const byAdmin = await send(assistant, {
      text: `forget-note ${id}`,
      userId: "U-EVE",
      isAdmin: false,
      isAdminNow: async () => true,
    });
    expect(byAdmin.text).toContain(`Forgot note \`${id}\``);
  });

  it("remember, memory show, forget-note and memory forget", async () => {
    const { assistant, llm } = setup(() => "ok");
    const noted = await send(assistant, { text: "remember that standup is at 9:30" });
    const id = /`(n\d+)`/.exec(noted.text)?.[1];
    expect(id).toBeDefined();
    await send(assistant, { text: "when is standup?" });
    expect(llm?.requests.at(-1)?.messages[0]?.content).toContain("standup is at 9:30");

    const shown = await send(assistant, { text: "memory show" });
    expect(shown.text).toContain("standup is at 9:30");
    expect(shown.text).toContain("Recent messages kept verbatim:** 2");

    const forgotten = await send(assistant, { text: `forget-note ${id}` });
    expect(forgotten.text).toContain(`Forgot note \`${id}\``);
    const missing = await send(assistant, { text: `forget-note ${id}` });
    expect(missing.text).toContain("There is no note");

    await send(assistant, { text: "remember the office is in Lyon" });
    // Forgetting the whole channel is an admin's call.
    expect((await send(assistant, { text: "memory forget" })).text).toMatch(/Only workspace admins/);
    expect((await send(assistant, { text: "memory show" })).text).toContain("office is in Lyon");
    await send(assistant, { text: "memory forget", isAdmin: true });
    const empty = await send(assistant, { text: "memory show" });
    expect(empty.text).toContain("none");
    expect(empty.text).toContain("Recent messages kept verbatim:** 0");
  });

  it("persona is admin only and shapes the next prompt", async () => {
    const { assistant, llm } = setup(() => "Arr.");
    const refused = await send(assistant, { text: "persona You are a pirate.", isAdmin: false });
    expect(refused.text).toMatch(/Only workspace admins/);
    expect(refused.started?.visibility).toBe("asker");
    await send(assistant, { text: "persona You are a pirate.", isAdmin: true });
    await send(assistant, { text: "hello" });
    expect(llm?.requests.at(-1)?.messages[0]?.content).toMatch(/^You are a pirate\./);
  });

  it("an explicit unknown command gets a sentence", async () => {
    const { assistant } = setup(() => "unused");
    const sink = await send(assistant, { text: "frobnicate now", isCommand: true });
    expect(sink.text).toContain("I don't know the command `frobnicate`");
  });

  it("a slash command missing its argument gets the usage line", async () => {
    const { assistant } = setup(() => "unused");
    const sink = await send(assistant, { text: "remember", isCommand: true });
    expect(sink.text).toContain("Usage: `remember <note>`");
  });
});

describe("assistant: buttons", () => {
  it("stores one vote per voter; a second click changes it; feedback shows it", async () => {
    const { assistant, store } = setup(() => "The answer.");
    const answered = await send(assistant, { text: "question one" });
    const answerId = answered.finished?.answerId ?? "";
    const click = (vote: "feedback-up" | "feedback-down", eventId: string) =>
      assistant.handleAction(
        {
          platform: "slack",
          workspaceId: "T1",
          channelId: "C1",
          userId: "U9",
          userName: "Voter",
          isAdmin: false,
          action: vote,
          value: answerId,
          eventId,
        },
        new RecordingSink(),
      );
    await click("feedback-up", "A1");
    let feedback = await store.listFeedback({ platform: "slack", workspaceId: "T1", channelId: "C1" });
    expect(feedback.map((entry) => entry.vote)).toEqual(["up"]);
    await click("feedback-down", "A2");
    feedback = await store.listFeedback({ platform: "slack", workspaceId: "T1", channelId: "C1" });
    expect(feedback.map((entry) => entry.vote)).toEqual(["down"]);
    const report = await send(assistant, { text: "feedback", isAdmin: true });
    expect(report.text).toContain("👍 0 · 👎 1");
    expect(report.text).toContain("question one");
  });

  it("refuses a vote on an answer from another workspace", async () => {
    const { assistant, store } = setup(() => "The answer.");
    const answered = await send(assistant, { text: "question" });
    const sink = new RecordingSink();
    await assistant.handleAction(
      {
        platform: "slack",
        workspaceId: "T-other",
        channelId: "C1",
        userId: "U9",
        userName: "Mallory",
        isAdmin: true,
        action: "feedback-up",
        value: answered.finished?.answerId ?? "",
        eventId: "A-x",
      },
      sink,
    );
    expect(sink.text).toContain("no longer have that answer");
    expect(await store.listFeedback({ platform: "slack", workspaceId: "T1", channelId: "C1" })).toEqual([]);
  });
});

describe("assistant: what an answered message writes", () => {
  /** The store's write calls, in the order the message path makes them. */
  function recordWrites(store: ReturnType<typeof setup>["store"]): string[] {
    const writes: string[] = [];
    const names = [
      "claimEvent",
      "extendEvent",
      "settleEvent",
      "openWork",
      "renewWork",
      "closeWork",
      "saveAnswer",
      "appendTurns",
      "foldTurns",
    ] as const;
    for (const name of names) {
      const original = store[name].bind(store) as (...args: unknown[]) => Promise<unknown>;
      Object.assign(store, {
        [name]: (...args: unknown[]) => {
          writes.push(name);
          return original(...args);
        },
      });
    }
    return writes;
  }

  it("four writes: the claim, the open reply, the answer with its exchange, the settlement closing the reply", async () => {
    const { assistant, store } = setup(() => "The answer.", { deliveryLeaseSeconds: 0.3 });
    const writes = recordWrites(store);
    const message = inbound({ text: "what is the plan?", threadId: "1900.1", eventId: "Ev-writes" });
    const sink = new RecordingSink();
    await assistant.handle(message, sink);
    expect(writes).toEqual(["claimEvent", "openWork", "saveAnswer", "settleEvent"]);

    // What the separate writes left behind: the exchange in order, the answer its buttons refer to,
    // no open reply, and a claim that outlives its lease.
    const saved = await store.getAnswer(sink.finished?.answerId ?? "");
    expect(saved?.question).toBe("what is the plan?");
    const { turns } = await store.loadConversation(message);
    expect(turns.map((turn) => [turn.seq, turn.role, turn.speakerId, turn.text])).toEqual([
      [1, "user", "U1", "what is the plan?"],
      [2, "assistant", "teammate", saved?.answer],
    ]);
    expect((await store.lastAnswer(message))?.id).toBe(saved?.id);
    expect(await store.listOpenWork(10)).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const redelivered = new RecordingSink();
    await assistant.handle({ ...message }, redelivered);
    expect(redelivered.events).toEqual([]);
  });

  it("with the store failing the answer's write, the reply still ends, without buttons, and nothing is remembered", async () => {
    const { assistant, store } = setup(() => "The answer.");
    store.saveAnswer = async () => {
      throw new AppError("store_unavailable", "sqlite is gone", { category: "third_party" });
    };
    const message = inbound({ text: "anything?", threadId: "1900.2" });
    const sink = await send(assistant, message);
    expect(sink.text).toContain("The answer.");
    expect(sink.finished?.buttons).toEqual([]);
    expect(sink.failed).toBeUndefined();
    expect((await store.loadConversation(message)).turns).toEqual([]);
    expect(await store.listOpenWork(10)).toEqual([]);
  });
});
