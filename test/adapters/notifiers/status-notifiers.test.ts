import { afterEach, describe, expect, it } from "vitest";
import { DiscordNotifier } from "../../../src/adapters/notifiers/discord-notifier.js";
import { SlackNotifier } from "../../../src/adapters/notifiers/slack-notifier.js";
import { StatusMessage } from "../../../src/core/jobs/status-message.js";
import { silentLogger } from "../../../src/core/ports/logger.js";
import type { Notifier } from "../../../src/core/ports/notifier.js";
import { DiscordStandIn } from "../../support/discord-stand-in.js";
import { smallestGap } from "../../support/recording-notifier.js";
import { startSlackStandIn } from "../../support/slack-stand-in.js";

const sleep = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));

/** 40 progress updates over about 2.4 s, then the final line: what a short indexing job does. */
async function runJob(notifier: Notifier, where: Parameters<Notifier["post"]>[0]) {
  const startedAt = Date.now();
  const message = await notifier.post(where, "Indexing 40 documents: queued");
  const status = new StatusMessage({ notifier, message, logger: silentLogger });
  for (let done = 1; done <= 40; done += 1) {
    status.progress("Indexing", done, 40);
    await sleep(60);
  }
  await status.finish("✅ Indexed 40 documents (212 chunks). Ask me about them.");
  // At one write per second, the post and the edits cannot outnumber the seconds elapsed, plus one.
  return { message, maxWrites: Math.floor((Date.now() - startedAt) / 1_000) + 1 };
}

describe("status messages through the platforms' APIs", () => {
  const closers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
  });

  it("Slack: one chat.postMessage, chat.update at most once a second, ending with the final line", async () => {
    const slack = await startSlackStandIn({ botToken: "xoxb-test-notifier" });
    closers.push(() => slack.close());
    const notifier = new SlackNotifier({ botToken: "xoxb-test-notifier", apiUrl: slack.apiUrl });
    const { message, maxWrites } = await runJob(notifier, {
      platform: "slack",
      workspaceId: slack.teamId,
      channelId: "C100",
      threadId: undefined,
    });
    const posts = slack.callsTo("chat.postMessage");
    const updates = slack.callsTo("chat.update");
    expect(posts).toHaveLength(1);
    expect(updates.length).toBeGreaterThanOrEqual(2);
    expect(posts.length + updates.length).toBeLessThanOrEqual(maxWrites);
    expect(updates.every((call) => call.args.ts === message.messageId)).toBe(true);
    expect(smallestGap([...posts, ...updates])).toBeGreaterThanOrEqual(1_000);
    expect(slack.visibleMessages("C100").map((stored) => stored.text)).toEqual([
      "✅ Indexed 40 documents (212 chunks). Ask me about them.",
    ]);
    expect(slack.violations).toEqual([]);
  });

  it("Discord: one channel message, PATCH at most once a second, ending with the final line", async () => {
    const discord = await new DiscordStandIn().listen();
    closers.push(() => discord.close());
    const notifier = new DiscordNotifier({ botToken: discord.token, apiUrl: discord.apiUrl });
    const { message, maxWrites } = await runJob(notifier, {
      platform: "discord",
      workspaceId: discord.guildId,
      channelId: discord.channelId,
      threadId: undefined,
    });
    const posts = discord.requestsTo("POST", "/channels/{channel_id}/messages");
    const edits = discord.requestsTo("PATCH", "/channels/{channel_id}/messages/{message_id}");
    expect(posts).toHaveLength(1);
    expect(edits.length).toBeGreaterThanOrEqual(2);
    expect(posts.length + edits.length).toBeLessThanOrEqual(maxWrites);
    expect(smallestGap([...posts, ...edits])).toBeGreaterThanOrEqual(1_000);
    expect(discord.messages.get(message.messageId)?.content).toBe(
      "✅ Indexed 40 documents (212 chunks). Ask me about them.",
    );
    expect(discord.problems).toEqual([]);
  });
});

describe("a reply whose process died, ended through the platform's API", () => {
  it("Discord: the half-written reply is marked as cut and the sentence answers the asker's message, pinging only them", async () => {
    const discord = await new DiscordStandIn().listen();
    try {
      const notifier = new DiscordNotifier({ botToken: discord.token, apiUrl: discord.apiUrl });
      const question = discord.userMessage({
        content: "where do rivers go?",
        userId: "4242",
        mentionBot: true,
      });
      const where = {
        platform: "discord" as const,
        workspaceId: discord.guildId,
        channelId: discord.channelId,
        threadId: undefined,
      };
      const partial = await notifier.post(where, "Rivers start in the hills and then");
      await notifier.endAbandonedReply(
        {
          id: "reply-1",
          kind: "reply",
          where,
          askerId: "4242",
          messages: { asker: question.id, reply: partial.messageId },
          leaseUntil: 0,
        },
        "Sorry, I was restarted while answering this (ref 0a1b2c3d).",
      );
      expect(discord.messages.get(partial.messageId)?.content).toMatch(
        /^Rivers start in the hills and then\n\n\*… \(interrupted: this answer is unfinished\)\*$/,
      );
      const sentence = [...discord.messages.values()].find((message) => /ref 0a1b2c3d/.test(message.content));
      expect(sentence?.content).toBe("<@4242> Sorry, I was restarted while answering this (ref 0a1b2c3d).");
      expect(sentence?.message_reference?.message_id).toBe(question.id);
      const posted = discord
        .requestsTo("POST", "/channels/{channel_id}/messages")
        .find((request) => JSON.stringify(request.body).includes("0a1b2c3d"));
      expect((posted?.body as { allowed_mentions?: unknown } | undefined)?.allowed_mentions).toEqual({
        parse: [],
        users: ["4242"],
      });
      expect(discord.problems).toEqual([]);
    } finally {
      await discord.close();
    }
  });

  it("Discord: a reply placed in a thread on the question is marked and answered in that thread", async () => {
    const discord = await new DiscordStandIn().listen();
    try {
      const notifier = new DiscordNotifier({ botToken: discord.token, apiUrl: discord.apiUrl });
      const question = discord.userMessage({
        content: "where do lakes go?",
        userId: "4343",
        mentionBot: true,
      });
      const thread = discord.startThread(question.id, "where do lakes go?");
      const where = {
        platform: "discord" as const,
        workspaceId: discord.guildId,
        channelId: discord.channelId,
        threadId: undefined,
      };
      const partial = await notifier.post({ ...where, threadId: thread }, "Lakes mostly stay and");
      await notifier.endAbandonedReply(
        {
          id: "reply-2",
          kind: "reply",
          where,
          askerId: "4343",
          messages: { asker: question.id, reply: partial.messageId, thread },
          leaseUntil: 0,
        },
        "Sorry, I was restarted while answering this (ref 1a2b3c4d).",
      );
      expect(discord.messages.get(partial.messageId)?.content).toMatch(
        /^Lakes mostly stay and\n\n\*… \(interrupted: this answer is unfinished\)\*$/,
      );
      const sentence = [...discord.messages.values()].find((message) => /ref 1a2b3c4d/.test(message.content));
      expect(sentence?.channel_id).toBe(thread);
      expect(sentence?.content).toBe("<@4343> Sorry, I was restarted while answering this (ref 1a2b3c4d).");
      expect(discord.problems).toEqual([]);
    } finally {
      await discord.close();
    }
  });
});
