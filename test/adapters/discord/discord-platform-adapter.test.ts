import { afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  createDiscordAdapter,
  type DiscordAdapterOptions,
  type DiscordPlatformAdapter,
} from "../../../src/adapters/discord/discord-platform-adapter.js";
import type { Command } from "../../../src/core/commands/command.js";
import { AppError } from "../../../src/core/errors.js";
import type {
  AssistantHandler,
  InboundAction,
  InboundMessage,
} from "../../../src/core/ports/assistant-handler.js";
import { silentLogger } from "../../../src/core/ports/logger.js";
import type { ReplySink } from "../../../src/core/ports/reply-sink.js";
import { applicationCommands } from "../../support/application-commands.js";
import { type DiscordStandIn, startDiscordStandIn } from "../../support/discord-stand-in.js";
import { waitFor } from "../../support/e2e-helpers.js";
import { sameHiddenClass } from "../../support/hidden-class.js";

type Script = (message: InboundMessage, sink: ReplySink) => Promise<void>;

/**
 * An AssistantHandler that decides as core does (a thread message that does not address teammate is
 * answered only where it is `engaged`), records what it answers in `received` and everything offered
 * in `offered`, and writes scripted replies.
 */
function scriptedAssistant(script: Script = answerWith("the answer")) {
  const received: InboundMessage[] = [];
  const offered: InboundMessage[] = [];
  const actions: InboundAction[] = [];
  const handler: AssistantHandler & { engaged: boolean } = {
    engaged: false,
    async handle(message, sink) {
      offered.push(message);
      if (message.addressedBy === "none" && !handler.engaged) return;
      received.push(message);
      await script(message, sink);
    },
    async handleAction(action, sink) {
      actions.push(action);
      await sink.start({ visibility: "asker" });
      await sink.append(`noted ${action.action}`);
      await sink.finish({ sources: [], buttons: [] });
    },
  };
  return { handler, received, offered, actions };
}

function answerWith(text: string, visibility: "everyone" | "asker" = "everyone"): Script {
  return async (_message, sink) => {
    await sink.start({ visibility });
    await sink.append(text);
    await sink.finish({ sources: [], buttons: [] });
  };
}

const INTENTS = (1 << 0) | (1 << 9) | (1 << 12) | (1 << 15);
const MANAGE_GUILD = 1n << 5n;

let standIn: DiscordStandIn | undefined;
let commands: readonly Command[] = [];

beforeAll(async () => {
  commands = await applicationCommands();
});
let adapter: DiscordPlatformAdapter | undefined;

afterEach(async () => {
  await adapter?.stop();
  await standIn?.close();
  adapter = undefined;
  standIn = undefined;
});

async function startAll(
  assistant: AssistantHandler,
  overrides: Partial<DiscordAdapterOptions> = {},
  standInOptions: Parameters<typeof startDiscordStandIn>[0] = {},
): Promise<DiscordStandIn> {
  const discord = await startDiscordStandIn(standInOptions);
  standIn = discord;
  adapter = createDiscordAdapter({
    token: discord.token,
    applicationId: discord.applicationId,
    apiUrl: discord.apiUrl,
    guildId: discord.guildId,
    adminUserIds: [],
    assistant,
    commands,
    logger: silentLogger,
    ...overrides,
  });
  await adapter.start();
  return discord;
}

const webhookPath = (discord: DiscordStandIn, token: string) => `/webhooks/${discord.applicationId}/${token}`;

function fencesBalanced(text: string): boolean {
  return (text.match(/^\s*```/gm) ?? []).length % 2 === 0;
}

describe("Discord adapter against the stand-ins", () => {
  it("identifies with only the needed intents and registers its commands by a spec-valid bulk overwrite", async () => {
    const discord = await startAll(scriptedAssistant().handler);
    expect(discord.identifies.map((identify) => identify.intents)).toEqual([INTENTS]);
    const registrations = discord.requestsTo(
      "PUT",
      "/applications/{application_id}/guilds/{guild_id}/commands",
    );
    expect(registrations).toHaveLength(1);
    const registeredCommands = (registrations[0]?.body ?? []) as Array<{
      name: string;
      description?: string;
    }>;
    const names = registeredCommands.map((command) => command.name);
    expect(names).toEqual(
      expect.arrayContaining([
        "ask",
        "index",
        "docs",
        "forget-doc",
        "memory",
        "remember",
        "persona",
        "summarize",
        "sources",
        "feedback",
        "help",
      ]),
    );
    for (const command of registeredCommands) {
      expect(command.name.length).toBeLessThanOrEqual(32);
      expect((command.description ?? "").length).toBeLessThanOrEqual(100);
    }
    expect(names).toEqual(
      expect.arrayContaining(["finetune", "config", "sync", "translate", "Ask about this"]),
    );
    expect(discord.problems).toEqual([]);
  });

  it("defers /ask within 3 s and completes it by editing @original with the answer", async () => {
    const assistant = scriptedAssistant(answerWith("Teammate answers from your docs."));
    const discord = await startAll(assistant.handler);
    const interaction = discord.slashCommand({
      name: "ask",
      options: [{ type: 3, name: "question", value: "what is teammate?" }],
    });
    const dispatchedAt = Date.now();
    discord.dispatchInteraction(interaction);

    const callback = await discord.waitForRequest((request) =>
      request.path.startsWith(`/interactions/${interaction.id}/`),
    );
    expect(callback.at - dispatchedAt).toBeLessThan(3000);
    expect(callback.body).toMatchObject({ type: 5 });
    expect(((callback.body as { data?: { flags?: number } }).data?.flags ?? 0) & 64).toBe(0);
    const edit = await discord.waitForRequest(
      (request) =>
        request.method === "PATCH" &&
        request.path === `${webhookPath(discord, interaction.token)}/messages/@original`,
    );
    expect((edit.body as { content: string }).content).toBe("Teammate answers from your docs.");
    expect(assistant.received[0]).toMatchObject({
      platform: "discord",
      workspaceId: discord.guildId,
      channelId: discord.channelId,
      text: "ask what is teammate?",
      isCommand: true,
      addressedBy: "command",
      isAdmin: false,
      eventId: interaction.id,
    });
    expect(discord.problems).toEqual([]);
  });

  it("turns subcommands and options into the core command line", async () => {
    const assistant = scriptedAssistant();
    const discord = await startAll(assistant.handler);
    const memory = discord.slashCommand({
      name: "memory",
      options: [{ type: 1, name: "forget", options: [] }],
    });
    const index = discord.slashCommand({
      name: "index",
      options: [{ type: 3, name: "url", value: "https://example.com/a" }],
    });
    discord.dispatchInteraction(memory);
    discord.dispatchInteraction(index);
    await discord.waitForRequest((request) => request.path.endsWith(`${index.token}/messages/@original`));
    await discord.waitForRequest((request) => request.path.endsWith(`${memory.token}/messages/@original`));
    expect(assistant.received.map((message) => message.text).sort()).toEqual([
      "index https://example.com/a",
      "memory forget",
    ]);
  });

  it("answers an asker-only reply ephemerally", async () => {
    const discord = await startAll(
      scriptedAssistant(answerWith("Only admins may do that.", "asker")).handler,
    );
    const interaction = discord.slashCommand({
      name: "persona",
      options: [{ type: 3, name: "text", value: "pirate" }],
    });
    discord.dispatchInteraction(interaction);
    const callback = await discord.waitForRequest((request) =>
      request.path.startsWith(`/interactions/${interaction.id}/`),
    );
    expect(callback.body).toEqual({ type: 5, data: { flags: 64 } });
    await discord.waitForRequest((request) =>
      request.path.endsWith(`${interaction.token}/messages/@original`),
    );
    expect(discord.problems).toEqual([]);
  });

  it("defers on its own when core is slow, then moves an asker-only reply into an ephemeral follow-up", async () => {
    const script: Script = async (_message, sink) => {
      await new Promise((resolve) => setTimeout(resolve, 400));
      await sink.start({ visibility: "asker" });
      await sink.fail("Only admins can change the persona.");
    };
    const discord = await startAll(scriptedAssistant(script).handler, { acknowledgeAfterMs: 100 });
    const interaction = discord.slashCommand({
      name: "persona",
      options: [{ type: 3, name: "text", value: "pirate" }],
    });
    discord.dispatchInteraction(interaction);
    const base = webhookPath(discord, interaction.token);
    const followUp = await discord.waitForRequest(
      (request) => request.method === "POST" && request.path === base,
    );
    // Ephemeral, and (as every message without embeds of its own) without link previews.
    expect(followUp.body).toMatchObject({ content: "Only admins can change the persona.", flags: 64 | 4 });
    const callbacks = discord.requests.filter((request) =>
      request.path.startsWith(`/interactions/${interaction.id}/`),
    );
    expect(callbacks).toHaveLength(1);
    expect(((callbacks[0]?.body as { data?: { flags?: number } } | undefined)?.data?.flags ?? 0) & 64).toBe(
      0,
    );
    expect(
      discord.requestsTo("DELETE", "/webhooks/{webhook_id}/{webhook_token}/messages/@original"),
    ).toHaveLength(1);
    expect(discord.problems).toEqual([]);
  });

  it("passes isAdmin false for /index from a member without Manage Server", async () => {
    const assistant = scriptedAssistant(answerWith("Only admins can index documents.", "asker"));
    const discord = await startAll(assistant.handler);
    const interaction = discord.slashCommand({
      name: "index",
      options: [{ type: 3, name: "url", value: "https://x.test" }],
    });
    discord.dispatchInteraction(interaction);
    await discord.waitForRequest((request) =>
      request.path.endsWith(`${interaction.token}/messages/@original`),
    );
    expect(assistant.received[0]?.isAdmin).toBe(false);
  });

  it("hands an admin's /index attachment to the handler with its CDN URL", async () => {
    const assistant = scriptedAssistant(answerWith("Indexing handbook.pdf"));
    const discord = await startAll(assistant.handler, { adminUserIds: ["discord:1234", "slack:U1"] });
    const attachmentId = "1100000000000000001";
    const url = `https://cdn.discordapp.com/attachments/${discord.channelId}/${attachmentId}/handbook.pdf`;
    const interaction = discord.slashCommand({
      name: "index",
      permissions: MANAGE_GUILD,
      options: [{ type: 11, name: "attachment", value: attachmentId }],
      attachments: {
        [attachmentId]: {
          id: attachmentId,
          filename: "handbook.pdf",
          size: 2048,
          url,
          proxy_url: url,
          content_type: "application/pdf",
        },
      },
    });
    discord.dispatchInteraction(interaction);
    await discord.waitForRequest((request) =>
      request.path.endsWith(`${interaction.token}/messages/@original`),
    );
    expect(assistant.received[0]).toMatchObject({
      text: "index",
      isAdmin: true,
      attachments: [{ name: "handbook.pdf", url, mimeType: "application/pdf", sizeBytes: 2048 }],
    });

    // ADMIN_USER_IDS makes a member without Manage Server an admin too.
    const listed = discord.slashCommand({ name: "docs", userId: "1234" });
    discord.dispatchInteraction(listed);
    await discord.waitForRequest((request) => request.path.endsWith(`${listed.token}/messages/@original`));
    expect(assistant.received[1]?.isAdmin).toBe(true);
  });

  it("answers the same interaction dispatched twice once, with one acknowledgement", async () => {
    const assistant = scriptedAssistant();
    const discord = await startAll(assistant.handler);
    const interaction = discord.slashCommand({ name: "help" });
    discord.dispatchInteraction(interaction);
    discord.dispatchInteraction(interaction);
    await discord.waitForRequest((request) =>
      request.path.endsWith(`${interaction.token}/messages/@original`),
    );
    const message = discord.userMessage({ content: `<@${discord.applicationId}> hi`, mentionBot: true });
    discord.dispatch("MESSAGE_CREATE", message);
    discord.dispatch("MESSAGE_CREATE", message);
    await discord.waitForRequest(
      (request) => request.method === "POST" && request.template === "/channels/{channel_id}/messages",
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(
      discord.requests.filter((request) => request.path.startsWith(`/interactions/${interaction.id}/`)),
    ).toHaveLength(1);
    expect(discord.requestsTo("POST", "/channels/{channel_id}/messages")).toHaveLength(1);
    expect(assistant.received.map((received) => received.eventId)).toEqual([interaction.id, message.id]);
    expect(discord.problems).toEqual([]);
  });

  it("answers a user mention as a reply, with the mention stripped", async () => {
    const assistant = scriptedAssistant(answerWith("Hello Mason."));
    const discord = await startAll(assistant.handler);
    const message = discord.userMessage({
      content: `<@${discord.applicationId}> where is the handbook?`,
      mentionBot: true,
    });
    discord.dispatch("MESSAGE_CREATE", message);
    const reply = await discord.waitForRequest(
      (request) => request.template === "/channels/{channel_id}/messages" && request.method === "POST",
    );
    expect(reply.body).toMatchObject({
      content: "Hello Mason.",
      message_reference: { message_id: message.id },
    });
    expect(assistant.received[0]).toMatchObject({ text: "where is the handbook?", eventId: message.id });
    expect(assistant.received[0]?.isCommand).toBeFalsy();
    expect(discord.problems).toEqual([]);
  });

  it("hands core its messages in one hidden class, message after message", async () => {
    const assistant = scriptedAssistant();
    const discord = await startAll(assistant.handler);
    // Enough of them for V8 to leave the first calls' generic path (feedback comes after a few).
    for (let count = 0; count < 20; count++) {
      discord.dispatch(
        "MESSAGE_CREATE",
        discord.userMessage({ content: `<@${discord.applicationId}> question ${count}`, mentionBot: true }),
      );
    }
    await waitFor(() => assistant.received.length === 20, "the 20 messages reach core");
    const [first] = assistant.received as [InboundMessage];
    for (const message of assistant.received) expect(sameHiddenClass(message, first)).toBe(true);
  });

  it("answers a mention of the bot's managed role as a reply", async () => {
    const assistant = scriptedAssistant(answerWith("Role ping heard."));
    const discord = await startAll(assistant.handler);
    const message = discord.userMessage({
      content: `<@&${discord.botRoleId}> status?`,
      mentionRoles: [discord.botRoleId],
    });
    discord.dispatch("MESSAGE_CREATE", message);
    const reply = await discord.waitForRequest(
      (request) => request.template === "/channels/{channel_id}/messages" && request.method === "POST",
    );
    expect(reply.body).toMatchObject({
      content: "Role ping heard.",
      message_reference: { message_id: message.id },
    });
    expect(assistant.received[0]?.text).toBe("status?");
  });

  it("ignores messages not addressed to it, other roles' pings and bots", async () => {
    const assistant = scriptedAssistant();
    const discord = await startAll(assistant.handler);
    discord.dispatch("MESSAGE_CREATE", discord.userMessage({ content: "lunch anyone?" }));
    discord.dispatch(
      "MESSAGE_CREATE",
      discord.userMessage({
        content: `<@&${discord.adminRoleId}> help`,
        mentionRoles: [discord.adminRoleId],
      }),
    );
    discord.dispatch(
      "MESSAGE_CREATE",
      discord.userMessage({ content: `<@${discord.applicationId}> hi`, mentionBot: true, bot: true }),
    );
    discord.dispatch(
      "MESSAGE_CREATE",
      discord.userMessage({ content: "in a thread", channelId: discord.threadId }),
    );
    // A later addressed message proves the earlier ones were processed (dispatches arrive in order).
    const marker = discord.userMessage({ content: `<@${discord.applicationId}> marker`, mentionBot: true });
    discord.dispatch("MESSAGE_CREATE", marker);
    await discord.waitForRequest(
      (request) => request.method === "POST" && request.template === "/channels/{channel_id}/messages",
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(assistant.received.map((message) => message.text)).toEqual(["marker"]);
    expect(discord.requestsTo("POST", "/channels/{channel_id}/messages")).toHaveLength(1);
    // The thread message went to core, which decided not to answer: no trace in the thread at all.
    expect(assistant.offered.map((message) => [message.text, message.addressedBy])).toEqual([
      ["in a thread", "none"],
      ["marker", "mention"],
    ]);
    expect(
      discord.requests.filter((request) => request.path.startsWith(`/channels/${discord.threadId}/`)),
    ).toEqual([]);
  });

  it("answers DMs without a mention, and follow-ups in a thread it takes part in", async () => {
    const assistant = scriptedAssistant();
    const discord = await startAll(assistant.handler);
    const dmChannel = "1200000000000000001";
    const dmUser = "1300000000000000001";
    discord.dispatch(
      "MESSAGE_CREATE",
      discord.userMessage({
        content: "hello in private",
        guild: false,
        channelId: dmChannel,
        userId: dmUser,
      }),
    );
    await discord.waitForRequest(
      (request) => request.path === `/channels/${dmChannel}/messages` && request.method === "POST",
    );
    assistant.handler.engaged = true;
    discord.dispatch(
      "MESSAGE_CREATE",
      discord.userMessage({ content: "and another thing", channelId: discord.threadId }),
    );
    await discord.waitForRequest(
      (request) => request.path === `/channels/${discord.threadId}/messages` && request.method === "POST",
    );
    // Each person's DMs are a workspace of their own.
    expect(assistant.received[0]).toMatchObject({
      workspaceId: `dm-${dmUser}`,
      channelId: dmChannel,
      text: "hello in private",
      addressedBy: "direct",
    });
    expect(assistant.received[1]).toMatchObject({
      workspaceId: discord.guildId,
      channelId: discord.channelId,
      threadId: discord.threadId,
      text: "and another thing",
      addressedBy: "none",
    });
  });

  it("answers in a thread started on the question when core places the reply in a thread", async () => {
    const shown: Array<Record<string, string>> = [];
    const script: Script = async (_message, sink) => {
      await sink.start({ visibility: "everyone", placement: "thread" });
      await sink.append("Threads keep the channel quiet.");
      await sink.finish({ sources: [], buttons: [] });
      shown.push(sink.shownMessages?.() ?? {});
    };
    const assistant = scriptedAssistant(script);
    const discord = await startAll(assistant.handler);
    const question = discord.userMessage({
      content: `<@${discord.applicationId}> why threads?\nsecond line`,
      mentionBot: true,
    });
    discord.dispatch("MESSAGE_CREATE", question);
    const answer = await discord.waitForRequest(
      (request) => request.method === "POST" && request.path === `/channels/${question.id}/messages`,
    );
    expect((answer.body as { content: string }).content).toBe("Threads keep the channel quiet.");
    const started = discord.requestsTo("POST", "/channels/{channel_id}/messages/{message_id}/threads");
    expect(started).toHaveLength(1);
    expect(started[0]?.path).toBe(`/channels/${discord.channelId}/messages/${question.id}/threads`);
    expect(started[0]?.body).toMatchObject({ name: "why threads?" });
    expect(discord.threadsStarted()).toEqual([question.id]);
    // What another process needs to end this reply if this one dies: the reply is in the thread.
    await waitFor(() => shown.length > 0, "the finished reply");
    expect(shown[0]).toEqual({ asker: question.id, reply: expect.any(String), thread: question.id });
    // Typing showed in the new thread, and nothing was posted in the channel itself.
    expect(discord.requests.some((request) => request.path === `/channels/${question.id}/typing`)).toBe(true);
    expect(
      discord.requests.filter((request) => request.path === `/channels/${discord.channelId}/messages`),
    ).toEqual([]);

    // A message already in a thread is answered in that thread, with no thread of its own.
    const inThread = discord.userMessage({
      content: `<@${discord.applicationId}> and here?`,
      mentionBot: true,
      channelId: discord.threadId,
    });
    discord.dispatch("MESSAGE_CREATE", inThread);
    const reply = await discord.waitForRequest(
      (request) => request.method === "POST" && request.path === `/channels/${discord.threadId}/messages`,
    );
    expect(reply.body).toMatchObject({ message_reference: { message_id: inThread.id } });
    expect(discord.threadsStarted()).toEqual([question.id]);
    expect(discord.problems).toEqual([]);
  });

  it("answers as a reply in the channel when core places the reply in the channel", async () => {
    const script: Script = async (_message, sink) => {
      await sink.start({ visibility: "everyone", placement: "channel" });
      await sink.append("Right here.");
      await sink.finish({ sources: [], buttons: [] });
    };
    const discord = await startAll(scriptedAssistant(script).handler);
    const question = discord.userMessage({ content: `<@${discord.applicationId}> where?`, mentionBot: true });
    discord.dispatch("MESSAGE_CREATE", question);
    const reply = await discord.waitForRequest(
      (request) => request.method === "POST" && request.path === `/channels/${discord.channelId}/messages`,
    );
    expect(reply.body).toMatchObject({
      content: "Right here.",
      message_reference: { message_id: question.id },
    });
    expect(discord.threadsStarted()).toEqual([]);
    expect(discord.problems).toEqual([]);
  });

  it("reads the reply chain and thread history through the message's history reader", async () => {
    const assistant = scriptedAssistant();
    const discord = await startAll(assistant.handler);
    const earlier = discord.userMessage({
      content: "we deploy on Fridays",
      channelId: discord.threadId,
      username: "ana",
    });
    const question = discord.userMessage({
      content: `<@${discord.applicationId}> is that true?`,
      mentionBot: true,
      channelId: discord.threadId,
      replyTo: earlier.id,
    });
    discord.dispatch("MESSAGE_CREATE", question);
    await discord.waitForRequest(
      (request) => request.method === "POST" && request.path === `/channels/${discord.threadId}/messages`,
    );
    expect(assistant.received[0]?.addressedBy).toBe("mention");
    expect(await assistant.received[0]?.history?.earlier(20)).toEqual([
      { userId: earlier.author.id, userName: "ana", text: "we deploy on Fridays", fromAssistant: false },
    ]);
    expect(await assistant.received[0]?.history?.includesTeammate()).toBe(false);
    expect(discord.problems).toEqual([]);
  });

  it("splits a 5,000-character answer into ordered messages of at most 2000 characters without breaking code", async () => {
    const paragraph = (label: string) => `${label} ${"lorem ipsum dolor sit amet ".repeat(30)}`.trim();
    const code = `\`\`\`ts\n${Array.from({ length: 40 }, (_, line) => `const value${line} = ${line}; // line ${line}`).join("\n")}\n\`\`\``;
    const answer = [
      paragraph("P1"),
      paragraph("P2"),
      code,
      paragraph("P3"),
      paragraph("P4"),
      paragraph("P5"),
    ].join("\n\n");
    expect(answer.length).toBeGreaterThan(4500);
    const discord = await startAll(scriptedAssistant(answerWith(answer)).handler, { editIntervalMs: 1000 });
    const interaction = discord.slashCommand({
      name: "ask",
      options: [{ type: 3, name: "question", value: "long" }],
    });
    discord.dispatchInteraction(interaction);
    const base = webhookPath(discord, interaction.token);
    await discord.waitForRequest(
      (request) => request.method === "PATCH" && request.path === `${base}/messages/@original`,
    );
    await discord.waitForRequest((request) => request.method === "POST" && request.path === base);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const original = discord.requests.filter(
      (request) => request.method === "PATCH" && request.path === `${base}/messages/@original`,
    );
    const followUps = discord.requests.filter(
      (request) => request.method === "POST" && request.path === base,
    );
    const parts = [original.at(-1), ...followUps].map(
      (request) => (request?.body as { content?: string } | undefined)?.content ?? "",
    );
    expect(parts.length).toBeGreaterThanOrEqual(3);
    for (const part of parts) {
      expect(part.length).toBeLessThanOrEqual(2000);
      expect(fencesBalanced(part)).toBe(true);
    }
    const joined = parts.join("\n");
    expect(joined.indexOf("P1")).toBeLessThan(joined.indexOf("P2"));
    expect(joined.indexOf("const value39")).toBeLessThan(joined.indexOf("P3"));
    expect(joined.indexOf("P4")).toBeLessThan(joined.indexOf("P5"));
    expect(joined.replace(/\s+/g, "")).toBe(answer.replace(/\s+/g, ""));
    expect(discord.problems).toEqual([]);
  });

  it("streams by edits of one message no faster than one per second", async () => {
    const script: Script = async (_message, sink) => {
      await sink.start({ visibility: "everyone" });
      for (let index = 0; index < 30; index++) {
        await sink.append(`word${index} `);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await sink.finish({ sources: [], buttons: [] });
    };
    const discord = await startAll(scriptedAssistant(script).handler);
    const interaction = discord.slashCommand({
      name: "ask",
      options: [{ type: 3, name: "question", value: "stream" }],
    });
    discord.dispatchInteraction(interaction);
    const path = `${webhookPath(discord, interaction.token)}/messages/@original`;
    await discord.waitForRequest(
      (request) => request.path === path && (request.body as { content: string }).content.includes("word29"),
    );
    const edits = discord.requests.filter((request) => request.method === "PATCH" && request.path === path);
    expect(edits.length).toBeGreaterThanOrEqual(3);
    for (let index = 1; index < edits.length; index++) {
      expect((edits[index]?.at ?? 0) - (edits[index - 1]?.at ?? 0)).toBeGreaterThanOrEqual(980);
    }
  });

  it("puts sources in an embed and feedback buttons that route back to handleAction", async () => {
    const script: Script = async (_message, sink) => {
      await sink.start({ visibility: "everyone" });
      await sink.append("Deploys happen on Fridays [1].");
      await sink.finish({
        sources: [{ index: 1, title: "Runbook", location: "https://wiki.test/runbook", documentId: "doc-1" }],
        buttons: [
          { action: "feedback-up", label: "👍", value: "answer-7" },
          { action: "feedback-down", label: "👎", value: "answer-7" },
          { action: "show-sources", label: "Show sources", value: "answer-7" },
        ],
        answerId: "answer-7",
      });
    };
    const assistant = scriptedAssistant(script);
    const discord = await startAll(assistant.handler);
    const interaction = discord.slashCommand({
      name: "ask",
      options: [{ type: 3, name: "question", value: "when?" }],
    });
    discord.dispatchInteraction(interaction);
    const edit = await discord.waitForRequest((request) =>
      request.path.endsWith(`${interaction.token}/messages/@original`),
    );
    expect(edit.body).toMatchObject({
      embeds: [{ title: "Sources", description: "[1] [Runbook](https://wiki.test/runbook)" }],
      components: [
        {
          type: 1,
          components: [
            { custom_id: "feedback-up:answer-7" },
            { custom_id: "feedback-down:answer-7" },
            { custom_id: "show-sources:answer-7" },
          ],
        },
      ],
    });
    const click = discord.buttonClick({ customId: "feedback-up:answer-7", messageId: interaction.id });
    discord.dispatchInteraction(click);
    const callback = await discord.waitForRequest((request) =>
      request.path.startsWith(`/interactions/${click.id}/`),
    );
    expect(callback.body).toEqual({ type: 5, data: { flags: 64 } });
    await discord.waitForRequest((request) => request.path.endsWith(`${click.token}/messages/@original`));
    expect(assistant.actions[0]).toMatchObject({
      action: "feedback-up",
      value: "answer-7",
      eventId: click.id,
    });
    expect(discord.problems).toEqual([]);
  });

  it("sends a very long answer as a Markdown file", async () => {
    const answer = Array.from({ length: 60 }, (_, index) => `Paragraph ${index}: ${"text ".repeat(40)}`).join(
      "\n\n",
    );
    const discord = await startAll(scriptedAssistant(answerWith(answer)).handler);
    const interaction = discord.slashCommand({
      name: "ask",
      options: [{ type: 3, name: "question", value: "everything" }],
    });
    discord.dispatchInteraction(interaction);
    const edit = await discord.waitForRequest(
      (request) =>
        request.path.endsWith(`${interaction.token}/messages/@original`) && request.files.length > 0,
    );
    expect(edit.files[0]?.name).toBe("answer.md");
    expect(edit.files[0]?.text).toBe(answer.trim());
    expect((edit.body as { content: string }).content.length).toBeLessThanOrEqual(2000);
    expect(discord.problems).toEqual([]);
  });

  it("finishes with a channel message when the work outlives the interaction token", async () => {
    const script: Script = async (_message, sink) => {
      await sink.start({ visibility: "everyone" });
      await new Promise((resolve) => setTimeout(resolve, 400));
      await sink.append("Finished the long job.");
      await sink.finish({ sources: [], buttons: [] });
    };
    const discord = await startAll(scriptedAssistant(script).handler, { interactionTokenLifetimeMs: 200 });
    const interaction = discord.slashCommand({ name: "summarize" });
    discord.dispatchInteraction(interaction);
    const message = await discord.waitForRequest(
      (request) => request.method === "POST" && request.path === `/channels/${discord.channelId}/messages`,
    );
    expect((message.body as { content: string }).content).toBe("Finished the long job.");
    expect(discord.requests.filter((request) => request.path.includes("/messages/@original"))).toEqual([]);
  });

  it("fails start-up with a clear error when the Message Content intent is refused (4014)", async () => {
    const discord = await startDiscordStandIn({ refuseMessageContent: true });
    standIn = discord;
    const refused = createDiscordAdapter({
      token: discord.token,
      applicationId: discord.applicationId,
      apiUrl: discord.apiUrl,
      adminUserIds: [],
      assistant: scriptedAssistant().handler,
      commands,
      logger: silentLogger,
    });
    const error = await refused.start().then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe("config_invalid");
    expect((error as AppError).message).toMatch(/Message Content intent/);
    expect((error as AppError).message).toMatch(/Developer Portal/);
    expect((error as AppError).message).not.toContain(discord.token);
    // Global registration when no guild is configured.
    expect(discord.requestsTo("PUT", "/applications/{application_id}/commands")).toHaveLength(1);
  });
});
