import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AppError } from "../../src/core/errors.js";
import type { AnswerRecord, MemoryStore, NewTurn, OpenWork } from "../../src/core/ports/memory-store.js";
import type { ChannelRef, ConversationRef } from "../../src/core/types.js";
import { sameHiddenClass } from "../support/hidden-class.js";

/** A store under test and how to throw away everything it wrote. */
export interface MemoryStoreFixture {
  store: MemoryStore;
  cleanup(): Promise<void>;
}

const channel: ChannelRef = { platform: "slack", workspaceId: "T1", channelId: "C1" };
const channelLevel: ConversationRef = { ...channel };
const threadOne: ConversationRef = { ...channel, threadId: "1700000000.000100" };
const threadTwo: ConversationRef = { ...channel, threadId: "1700000000.000200" };
const otherChannel: ChannelRef = { ...channel, channelId: "C2" };
const otherWorkspace: ChannelRef = { ...channel, workspaceId: "T2" };
const otherPlatform: ChannelRef = { ...channel, platform: "discord" };
// Scope parts that would collide if a store joined them with ':' without escaping.
const colonWorkspace: ChannelRef = { platform: "slack", workspaceId: "T1:C1", channelId: "x" };
const colonChannel: ChannelRef = { platform: "slack", workspaceId: "T1", channelId: "C1:x" };

/** Every scope that must be invisible from every other one. */
const SCOPES: Array<[label: string, conversation: ConversationRef]> = [
  ["channel level", channelLevel],
  ["thread one", threadOne],
  ["thread two", threadTwo],
  ["other channel", otherChannel],
  ["other workspace", otherWorkspace],
  ["other platform", otherPlatform],
  ["workspace with a colon", colonWorkspace],
  ["channel with a colon", colonChannel],
];

function turn(text: string, overrides: Partial<NewTurn> = {}): NewTurn {
  return {
    role: "user",
    speakerId: "U1",
    speakerName: "Ada",
    text,
    tokens: text.split(" ").length,
    at: 1_700_000_000_000,
    ...overrides,
  };
}

function answer(id: string, conversation: ConversationRef, at: number): AnswerRecord {
  return {
    id,
    conversation,
    askerId: "U1",
    question: `question ${id}`,
    answer: `answer ${id} — with ünïcode and "quotes"`,
    sources: [{ index: 1, title: "Handbook", location: "https://example.test/handbook", documentId: "d1" }],
    model: "gpt-test",
    at,
    trace: { passages: ["p1"], tokens: { prompt: 12, completion: 5 } },
  };
}

function sleep(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}

/**
 * The behaviour every MemoryStore must have, one section per narrow port it implements
 * (`ConversationStore`, `NoteStore`, `ChannelSettingsStore`, `AnswerLog`, `DeliveryClaims`,
 * `OpenWorkStore`), plus isolation between scopes across all of them. `createStore` is called before each test and must
 * return an empty store; `cleanup` runs after it.
 */
export function runMemoryStoreContract(name: string, createStore: () => Promise<MemoryStoreFixture>): void {
  describe(`${name} (MemoryStore contract)`, () => {
    let fixture: MemoryStoreFixture;
    let store: MemoryStore;

    beforeEach(async () => {
      fixture = await createStore();
      store = fixture.store;
    });

    afterEach(async () => {
      await fixture.cleanup();
    });

    describe("ConversationStore: turns", () => {
      it("starts empty", async () => {
        expect(await store.loadConversation(threadOne)).toEqual({ summary: "", turns: [] });
      });

      it("appends in order and numbers turns with increasing seq", async () => {
        const first = await store.appendTurns(threadOne, [
          turn("hello there"),
          turn("hi Ada", { role: "assistant", speakerId: "B1", speakerName: "teammate", tokens: 3, at: 2 }),
        ]);
        const second = await store.appendTurns(threadOne, [turn("and a follow-up", { speakerId: "U2" })]);

        expect(first.map((saved) => saved.seq)).toEqual([1, 2]);
        expect(second.map((saved) => saved.seq)).toEqual([3]);
        expect(first[1]).toEqual({
          seq: 2,
          role: "assistant",
          speakerId: "B1",
          speakerName: "teammate",
          text: "hi Ada",
          tokens: 3,
          at: 2,
        });
        const loaded = await store.loadConversation(threadOne);
        expect(loaded.summary).toBe("");
        expect(loaded.turns).toEqual([...first, ...second]);
      });

      it("appending nothing stores nothing and uses up no seq", async () => {
        expect(await store.appendTurns(threadOne, [])).toEqual([]);
        const [saved] = await store.appendTurns(threadOne, [turn("first")]);
        expect(saved?.seq).toBe(1);
      });

      it("keeps concurrent appends in seq order without gaps or duplicates", async () => {
        await Promise.all(
          Array.from({ length: 10 }, (_, index) =>
            store.appendTurns(threadOne, [turn(`a${index}`), turn(`b${index}`)]),
          ),
        );
        const { turns } = await store.loadConversation(threadOne);
        expect(turns.map((saved) => saved.seq)).toEqual(Array.from({ length: 20 }, (_, index) => index + 1));
        // Each call's two turns got consecutive seqs.
        for (let index = 0; index < 20; index += 2) {
          expect(turns[index]?.text.slice(1)).toBe(turns[index + 1]?.text.slice(1));
        }
      });

      it("hands back its turns, saved or loaded, in one hidden class", async () => {
        // Twenty, one call each: V8 gives a spread's copies a class of their own only once the code
        // that makes them is warm, and every read of a turn along the message path would then miss.
        const saved = [];
        for (let index = 0; index < 20; index++) {
          saved.push(...(await store.appendTurns(threadOne, [turn(`t${index}`)])));
        }
        const { turns } = await store.loadConversation(threadOne);
        expect(turns).toEqual(saved);
        const [first] = turns as [object];
        for (const one of [...turns, ...saved]) expect(sameHiddenClass(one, first)).toBe(true);
      });
    });

    describe("ConversationStore: folding", () => {
      it("replaces the summary and removes exactly the folded turns", async () => {
        await store.appendTurns(
          threadOne,
          ["one", "two", "three", "four", "five"].map((text) => turn(text)),
        );

        await store.foldTurns(threadOne, 3, "Ada said one, two, three.");

        const loaded = await store.loadConversation(threadOne);
        expect(loaded.summary).toBe("Ada said one, two, three.");
        expect(loaded.turns.map((saved) => [saved.seq, saved.text])).toEqual([
          [4, "four"],
          [5, "five"],
        ]);
      });

      it("continues seq after a fold, and a later fold replaces the summary", async () => {
        await store.appendTurns(
          threadOne,
          ["one", "two", "three"].map((text) => turn(text)),
        );
        await store.foldTurns(threadOne, 3, "first summary");
        const later = await store.appendTurns(threadOne, [turn("four"), turn("five")]);
        expect(later.map((saved) => saved.seq)).toEqual([4, 5]);

        await store.foldTurns(threadOne, 4, "second summary");

        const loaded = await store.loadConversation(threadOne);
        expect(loaded.summary).toBe("second summary");
        expect(loaded.turns.map((saved) => saved.text)).toEqual(["five"]);
      });

      it("ignores a fold whose turns are already gone, so a stale summary cannot replace a newer one", async () => {
        await store.appendTurns(
          threadOne,
          ["one", "two", "three", "four"].map((text) => turn(text)),
        );
        await store.foldTurns(threadOne, 3, "summary through three");

        await store.foldTurns(threadOne, 2, "stale summary through two");

        const loaded = await store.loadConversation(threadOne);
        expect(loaded.summary).toBe("summary through three");
        expect(loaded.turns.map((saved) => saved.seq)).toEqual([4]);
      });

      it("loses no turn appended while a fold runs", async () => {
        await store.appendTurns(
          threadOne,
          ["one", "two", "three"].map((text) => turn(text)),
        );

        await Promise.all([
          store.foldTurns(threadOne, 3, "summary"),
          store.appendTurns(threadOne, [turn("four")]),
          store.appendTurns(threadOne, [turn("five")]),
        ]);

        const loaded = await store.loadConversation(threadOne);
        expect(loaded.summary).toBe("summary");
        expect(loaded.turns.map((saved) => saved.seq)).toEqual([4, 5]);
        expect(loaded.turns.map((saved) => saved.text).sort()).toEqual(["five", "four"]);
      });

      it("folds only the conversation it is given", async () => {
        await store.appendTurns(threadOne, [turn("thread turn")]);
        await store.appendTurns(channelLevel, [turn("channel turn")]);

        await store.foldTurns(threadOne, 1, "thread summary");

        expect(await store.loadConversation(channelLevel)).toMatchObject({
          summary: "",
          turns: [{ seq: 1, text: "channel turn" }],
        });
      });
    });

    describe("isolation between scopes", () => {
      it("keeps turns, summaries, notes, settings and answers of each scope to that scope", async () => {
        for (const [label, conversation] of SCOPES) {
          await store.appendTurns(conversation, [turn(`turn in ${label}`), turn(`folded in ${label}`)]);
          await store.foldTurns(conversation, 1, `summary of ${label}`);
          await store.saveAnswer(answer(`answer-${label}`, conversation, 1));
        }
        for (const [label, conversation] of SCOPES.filter(([, scope]) => scope.threadId === undefined)) {
          await store.addNote(conversation, {
            text: `note in ${label}`,
            authorId: "U1",
            authorName: "Ada",
            at: 1,
          });
          await store.updateSettings(conversation, { persona: `persona of ${label}` });
        }

        for (const [label, conversation] of SCOPES) {
          const loaded = await store.loadConversation(conversation);
          expect(loaded.summary).toBe(`summary of ${label}`);
          expect(loaded.turns.map((saved) => saved.text)).toEqual([`folded in ${label}`]);
          expect((await store.lastAnswer(conversation))?.id).toBe(`answer-${label}`);
        }
        for (const [label, conversation] of SCOPES.filter(([, scope]) => scope.threadId === undefined)) {
          expect((await store.listNotes(conversation)).map((note) => note.text)).toEqual([
            `note in ${label}`,
          ]);
          expect(await store.getSettings(conversation)).toEqual({ persona: `persona of ${label}` });
        }
      });

      it("shows nothing of channel A from a channel that has never been used", async () => {
        await store.appendTurns(channelLevel, [turn("secret plan")]);
        await store.addNote(channel, { text: "secret note", authorId: "U1", authorName: "Ada", at: 1 });
        await store.saveAnswer(answer("a1", channelLevel, 1));
        await store.updateSettings(channel, { model: "secret-model" });

        for (const other of [otherChannel, otherWorkspace, otherPlatform, colonWorkspace, colonChannel]) {
          expect(await store.loadConversation(other)).toEqual({ summary: "", turns: [] });
          expect(await store.listNotes(other)).toEqual([]);
          expect(await store.lastAnswer(other)).toBeUndefined();
          expect(await store.getSettings(other)).toEqual({});
          expect(await store.listFeedback(other)).toEqual([]);
        }
        expect(await store.loadConversation(threadOne)).toEqual({ summary: "", turns: [] });
      });
    });

    describe("NoteStore: notes", () => {
      const note = (text: string, at = 1) => ({ text, authorId: "U1", authorName: "Ada", at });

      it("adds notes with short distinct ids and lists them oldest first", async () => {
        const first = await store.addNote(channel, note("deploys happen on Tuesdays", 10));
        const second = await store.addNote(channel, note("the on-call rota lives in the wiki", 20));

        for (const saved of [first, second]) expect(saved.id).toMatch(/^[a-z0-9]{1,8}$/);
        expect(first.id).not.toBe(second.id);
        expect(first).toEqual({ id: first.id, ...note("deploys happen on Tuesdays", 10) });
        expect(await store.listNotes(channel)).toEqual([first, second]);
      });

      it("deletes a note of this channel only", async () => {
        const theirs = await store.addNote(otherChannel, note("theirs"));
        const older = await store.addNote(channel, note("older"));
        const mine = await store.addNote(channel, note("mine"));
        // Ids may be numbered per channel, so aim at an id that exists here and not over there.
        const target = [older, mine].find((candidate) => candidate.id !== theirs.id)!;

        expect(await store.deleteNote(otherChannel, target.id)).toBe(false);
        expect(await store.deleteNote(otherWorkspace, target.id)).toBe(false);
        expect(await store.listNotes(channel)).toEqual([older, mine]);
        expect(await store.listNotes(otherChannel)).toEqual([theirs]);
        await store.deleteNote(channel, older.id === target.id ? mine.id : older.id);

        expect(await store.deleteNote(channel, target.id)).toBe(true);
        expect(await store.deleteNote(channel, target.id)).toBe(false);
        expect(await store.listNotes(channel)).toEqual([]);
        expect(await store.listNotes(otherChannel)).toEqual([theirs]);
      });

      it("never gives a new note the id of a deleted one", async () => {
        const first = await store.addNote(channel, note("first"));
        await store.deleteNote(channel, first.id);
        const second = await store.addNote(channel, note("second"));
        expect(second.id).not.toBe(first.id);
      });
    });

    describe("ChannelSettingsStore: settings", () => {
      it("starts empty and merges patches", async () => {
        expect(await store.getSettings(channel)).toEqual({});

        expect(await store.updateSettings(channel, { persona: "a pirate", temperature: 0.2 })).toEqual({
          persona: "a pirate",
          temperature: 0.2,
        });
        expect(await store.updateSettings(channel, { model: "gpt-x", allowGeneralKnowledge: false })).toEqual(
          {
            persona: "a pirate",
            temperature: 0.2,
            model: "gpt-x",
            allowGeneralKnowledge: false,
          },
        );
        expect(await store.updateSettings(channel, { persona: "a librarian" })).toMatchObject({
          persona: "a librarian",
          model: "gpt-x",
        });
        expect(await store.getSettings(channel)).toEqual({
          persona: "a librarian",
          temperature: 0.2,
          model: "gpt-x",
          allowGeneralKnowledge: false,
        });
      });

      it("clears a setting given as undefined and keeps the ones left out", async () => {
        await store.updateSettings(channel, { persona: "a pirate", model: "gpt-x" });

        expect(await store.updateSettings(channel, { persona: undefined })).toEqual({ model: "gpt-x" });
        expect(await store.getSettings(channel)).toEqual({ model: "gpt-x" });
      });
    });

    describe("AnswerLog: answers", () => {
      it("saves and reads an answer back by id", async () => {
        const saved = answer("ans-1", threadOne, 100);
        await store.saveAnswer(saved);

        expect(await store.getAnswer("ans-1")).toEqual(saved);
        expect(await store.getAnswer("no-such-answer")).toBeUndefined();
      });

      it("keeps the last answer per conversation", async () => {
        await store.saveAnswer(answer("thread-1", threadOne, 100));
        await store.saveAnswer(answer("thread-2", threadOne, 200));
        await store.saveAnswer(answer("channel-1", channelLevel, 300));

        expect((await store.lastAnswer(threadOne))?.id).toBe("thread-2");
        expect((await store.lastAnswer(channelLevel))?.id).toBe("channel-1");
        expect(await store.lastAnswer(threadTwo)).toBeUndefined();
        expect(await store.getAnswer("thread-1")).toEqual(answer("thread-1", threadOne, 100));
      });

      it("saves an answer with its exchange's turns: appended to its conversation as appendTurns would", async () => {
        await store.appendTurns(threadOne, [turn("earlier")]);
        expect(await store.saveAnswer(answer("plain", threadOne, 100))).toEqual([]);
        const saved = await store.saveAnswer(answer("with-turns", threadOne, 200), [
          turn("the question"),
          turn("the answer", { role: "assistant", speakerId: "teammate", speakerName: "teammate" }),
        ]);
        expect(saved.map((one) => [one.seq, one.role, one.text])).toEqual([
          [2, "user", "the question"],
          [3, "assistant", "the answer"],
        ]);
        expect((await store.loadConversation(threadOne)).turns).toEqual([
          { ...turn("earlier"), seq: 1 },
          ...saved,
        ]);
        expect((await store.lastAnswer(threadOne))?.id).toBe("with-turns");
        // Only the answer's own conversation.
        expect((await store.loadConversation(channelLevel)).turns).toEqual([]);
        await store.saveAnswer(answer("on-channel", channelLevel, 300), [turn("asked in the channel")]);
        expect((await store.loadConversation(channelLevel)).turns.map((one) => one.text)).toEqual([
          "asked in the channel",
        ]);
        expect((await store.loadConversation(threadOne)).turns).toHaveLength(3);
      });
    });

    describe("AnswerLog: feedback", () => {
      it("records one vote per voter, and a second vote replaces the first", async () => {
        await store.saveAnswer(answer("a1", threadOne, 100));

        await store.recordVote({ answerId: "a1", voterId: "U1", vote: "up", at: 1000 });
        await store.recordVote({ answerId: "a1", voterId: "U1", vote: "up", at: 1001 });
        expect(await store.listFeedback(channel)).toEqual([
          { answerId: "a1", voterId: "U1", vote: "up", at: 1001, answer: answer("a1", threadOne, 100) },
        ]);

        await store.recordVote({ answerId: "a1", voterId: "U1", vote: "down", at: 1002 });
        await store.recordVote({ answerId: "a1", voterId: "U2", vote: "up", at: 1003 });

        const feedback = await store.listFeedback(channel);
        expect(feedback.map(({ voterId, vote }) => [voterId, vote])).toEqual([
          ["U2", "up"],
          ["U1", "down"],
        ]);
      });

      it("lists the channel's feedback newest first, across its threads, and nothing of other channels", async () => {
        await store.saveAnswer(answer("in-thread", threadOne, 1));
        await store.saveAnswer(answer("at-channel", channelLevel, 2));
        await store.saveAnswer(answer("elsewhere", { ...otherChannel }, 3));
        await store.saveAnswer(answer("other-workspace", { ...otherWorkspace }, 4));
        await store.recordVote({ answerId: "in-thread", voterId: "U1", vote: "up", at: 10 });
        await store.recordVote({ answerId: "elsewhere", voterId: "U1", vote: "down", at: 20 });
        await store.recordVote({ answerId: "at-channel", voterId: "U3", vote: "down", at: 30 });
        await store.recordVote({ answerId: "other-workspace", voterId: "U1", vote: "up", at: 40 });

        const feedback = await store.listFeedback(channel);
        expect(feedback.map((entry) => [entry.answerId, entry.at, entry.answer.question])).toEqual([
          ["at-channel", 30, "question at-channel"],
          ["in-thread", 10, "question in-thread"],
        ]);
        expect((await store.listFeedback(otherChannel)).map((entry) => entry.answerId)).toEqual([
          "elsewhere",
        ]);
      });

      it("refuses a vote on an answer it does not have", async () => {
        const vote = store.recordVote({ answerId: "never-saved", voterId: "U1", vote: "up", at: 1 });
        await expect(vote).rejects.toBeInstanceOf(AppError);
        await expect(vote).rejects.toMatchObject({ code: "not_found" });
        expect(await store.listFeedback(channel)).toEqual([]);
      });
    });

    describe("ConversationStore: forgetting a channel", () => {
      it("clears every conversation, note and answer of the channel and keeps its settings", async () => {
        for (const conversation of [channelLevel, threadOne, threadTwo, otherChannel, otherWorkspace]) {
          await store.appendTurns(conversation, [turn("one"), turn("two")]);
          await store.foldTurns(conversation, 1, "summary");
        }
        await store.addNote(channel, { text: "note", authorId: "U1", authorName: "Ada", at: 1 });
        await store.addNote(otherChannel, { text: "kept note", authorId: "U1", authorName: "Ada", at: 1 });
        await store.updateSettings(channel, { persona: "a pirate" });
        await store.saveAnswer(answer("forgotten", threadOne, 1));
        await store.saveAnswer(answer("kept", { ...otherChannel }, 2));
        await store.recordVote({ answerId: "forgotten", voterId: "U1", vote: "up", at: 1 });
        await store.recordVote({ answerId: "kept", voterId: "U1", vote: "up", at: 2 });

        await store.forgetChannel(channel);

        for (const conversation of [channelLevel, threadOne, threadTwo]) {
          expect(await store.loadConversation(conversation)).toEqual({ summary: "", turns: [] });
          expect(await store.lastAnswer(conversation)).toBeUndefined();
        }
        expect(await store.listNotes(channel)).toEqual([]);
        expect(await store.getAnswer("forgotten")).toBeUndefined();
        expect(await store.listFeedback(channel)).toEqual([]);
        expect(await store.getSettings(channel)).toEqual({ persona: "a pirate" });

        for (const conversation of [otherChannel, otherWorkspace]) {
          expect(await store.loadConversation(conversation)).toMatchObject({
            summary: "summary",
            turns: [{ seq: 2, text: "two" }],
          });
        }
        expect((await store.listNotes(otherChannel)).map((note) => note.text)).toEqual(["kept note"]);
        expect((await store.listFeedback(otherChannel)).map((entry) => entry.answerId)).toEqual(["kept"]);
      });

      it("keeps seq increasing afterwards, so a fold prepared before the forget touches nothing new", async () => {
        await store.appendTurns(threadOne, [turn("one"), turn("two"), turn("three")]);
        await store.forgetChannel(channel);

        const [fresh] = await store.appendTurns(threadOne, [turn("after the forget")]);
        expect(fresh?.seq).toBeGreaterThan(3);
        await store.foldTurns(threadOne, 3, "summary of forgotten turns");

        expect(await store.loadConversation(threadOne)).toEqual({ summary: "", turns: [fresh] });
      });

      it("works on a channel that has nothing", async () => {
        await store.forgetChannel(otherPlatform);
        expect(await store.loadConversation(otherPlatform)).toEqual({ summary: "", turns: [] });
      });
    });

    describe("DeliveryClaims: claiming events", () => {
      it("is true for the first claim of an id and false afterwards", async () => {
        expect(await store.claimEvent("slack:Ev1", 60)).toBe(true);
        expect(await store.claimEvent("slack:Ev1", 60)).toBe(false);
        expect(await store.claimEvent("slack:Ev1", 60)).toBe(false);
        expect(await store.claimEvent("slack:Ev2", 60)).toBe(true);
      });

      it("lets exactly one of many concurrent claims win", async () => {
        const results = await Promise.all(
          Array.from({ length: 8 }, () => store.claimEvent("discord:race", 60)),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
      });

      it("frees an id once its time to live has passed", async () => {
        expect(await store.claimEvent("slack:short-lived", 1)).toBe(true);
        expect(await store.claimEvent("slack:short-lived", 1)).toBe(false);

        await sleep(1_200);

        expect(await store.claimEvent("slack:short-lived", 1)).toBe(true);
        expect(await store.claimEvent("slack:short-lived", 1)).toBe(false);
      });

      it("is a lease: extended while held it stays taken; left to lapse it is free again", async () => {
        expect(await store.claimEvent("slack:leased", 0.6)).toBe(true);
        await sleep(400);
        await store.extendEvent("slack:leased", 60);
        await sleep(400);
        // 800 ms after a 600 ms lease: held only because it was extended.
        expect(await store.claimEvent("slack:leased", 0.6)).toBe(false);

        expect(await store.claimEvent("slack:lapsed", 0.3)).toBe(true);
        await sleep(500);
        // Extending a lease that already lapsed does not bring it back.
        await store.extendEvent("slack:lapsed", 60);
        expect(await store.claimEvent("slack:lapsed", 60)).toBe(true);
      });

      it("is settled with its reply's open work closed in the same write; a lapsed lease stays lapsed", async () => {
        const reply: OpenWork = {
          id: "reply-slack-T1-Ev1",
          kind: "reply",
          where: threadOne,
          askerId: "U1",
          messages: { reaction: "1.0" },
          leaseUntil: 1_000,
        };
        await store.openWork(reply);
        await store.openWork({ ...reply, id: "reply-other" });
        expect(await store.claimEvent("slack:settled", 0.6)).toBe(true);
        await store.settleEvent("slack:settled", 60, reply.id);
        expect((await store.listOpenWork(10)).map((item) => item.id)).toEqual(["reply-other"]);
        await sleep(800);
        // 800 ms after a 600 ms lease: held only because it was settled for longer.
        expect(await store.claimEvent("slack:settled", 0.6)).toBe(false);

        // Without a reply to close, only the claim moves.
        expect(await store.claimEvent("slack:no-reply", 0.3)).toBe(true);
        await store.settleEvent("slack:no-reply", 60);
        expect(await store.claimEvent("slack:no-reply", 0.3)).toBe(false);
        expect((await store.listOpenWork(10)).map((item) => item.id)).toEqual(["reply-other"]);

        expect(await store.claimEvent("slack:lapsed-settle", 0.3)).toBe(true);
        await sleep(500);
        await store.settleEvent("slack:lapsed-settle", 60, "reply-other");
        expect(await store.claimEvent("slack:lapsed-settle", 60)).toBe(true);
        expect(await store.listOpenWork(10)).toEqual([]);
      });
    });

    describe("OpenWorkStore: open work", () => {
      const work = (id: string, leaseUntil: number): OpenWork => ({
        id,
        kind: "job",
        where: { platform: "slack", workspaceId: "T1", channelId: "C1", threadId: "1.0" },
        askerId: "U1",
        jobId: `job-${id}`,
        messages: { status: "2.0" },
        leaseUntil,
      });

      it("lists open items oldest lease first, renews them, and closes each exactly once", async () => {
        await store.openWork(work("b", 2_000));
        await store.openWork(work("a", 1_000));
        await store.openWork(work("c", 3_000));
        expect((await store.listOpenWork(10)).map((item) => item.id)).toEqual(["a", "b", "c"]);
        expect(await store.listOpenWork(2)).toEqual([work("a", 1_000), work("b", 2_000)]);

        await store.renewWork("a", 4_000, { status: "2.0", stream: "3.0" });
        await store.renewWork("b", 5_000);
        const listed = await store.listOpenWork(10);
        expect(listed.map((item) => item.id)).toEqual(["c", "a", "b"]);
        expect(listed[1]).toEqual({ ...work("a", 4_000), messages: { status: "2.0", stream: "3.0" } });
        expect(listed[2]).toEqual(work("b", 5_000));

        const closes = await Promise.all([store.closeWork("a"), store.closeWork("a"), store.closeWork("a")]);
        expect(closes.filter(Boolean)).toHaveLength(1);
        expect(await store.closeWork("missing")).toBe(false);
        // A renewal after the close does not bring it back.
        await store.renewWork("a", 9_000, { status: "2.0" });
        expect((await store.listOpenWork(10)).map((item) => item.id)).toEqual(["c", "b"]);
      });
    });
  });
}
