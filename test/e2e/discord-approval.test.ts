import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { silentLogger } from "../../src/core/ports/logger.js";
import { startBot } from "../../src/main.js";
import { POISONED_PAGE, scriptedModel } from "../support/approval-model-script.js";
import {
  type DiscordStandIn,
  type StandInMessage,
  snowflake,
  startDiscordStandIn,
} from "../support/discord-stand-in.js";
import { waitFor } from "../support/e2e-helpers.js";
import { type LocalHttpServer, startLocalHttpServer } from "../support/local-http-server.js";
import { type OpenAiStandIn, startOpenAiStandIn } from "../support/openai-stand-in.js";

/** Short, so the timeout cases finish quickly; long enough for a test to click in time on a busy machine. */
const APPROVAL_TIMEOUT_MS = 4_000;
const MANAGE_GUILD = 1n << 5n;

interface Button {
  type: number;
  style: number;
  label: string;
  custom_id: string;
}

function buttonsOf(message: StandInMessage): Button[] {
  const rows = message.components as Array<{ components?: Button[] }>;
  return rows.flatMap((row) => row.components ?? []);
}

describe("Discord: a write tool waits for a human click (startBot, real core, Discord and OpenAI stand-ins)", () => {
  let discord: DiscordStandIn;
  let openai: OpenAiStandIn;
  let page: LocalHttpServer;
  let dataDirectory: string;
  let bot: { stop(): Promise<void> } | undefined;
  const asker = snowflake();
  const stranger = snowflake();
  const moderator = snowflake();

  beforeAll(async () => {
    discord = await startDiscordStandIn();
    openai = await startOpenAiStandIn({ apiKey: "sk-e2e" });
    openai.setResponder(scriptedModel);
    page = await startLocalHttpServer((_request, response) => {
      response.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(POISONED_PAGE);
    });
    dataDirectory = mkdtempSync(join(tmpdir(), "teammate-discord-approval-"));
    const config = loadConfig({
      DISCORD_TOKEN: discord.token,
      DISCORD_APPLICATION_ID: discord.applicationId,
      DISCORD_API_URL: discord.apiUrl,
      DISCORD_GUILD_ID: discord.guildId,
      OPENAI_BASE_URL: openai.baseUrl,
      OPENAI_API_KEY: "sk-e2e",
      PORT: "0",
      DATA_DIR: dataDirectory,
      APPROVAL_TIMEOUT_MS: String(APPROVAL_TIMEOUT_MS),
      FETCH_ALLOWED_HOSTS: `127.0.0.1:${page.port}`,
      // fetch_url reads the asker's page on loopback, which only the tool's own allowlist opens.
      TOOL_FETCH_ALLOWED_HOSTS: `127.0.0.1:${page.port}`,
    });
    bot = await startBot(config, silentLogger);
  });

  afterAll(async () => {
    await bot?.stop();
    await discord?.close();
    await openai?.close();
    await page?.close();
    rmSync(dataDirectory, { recursive: true, force: true });
  });

  /** `/ask` as the asker; returns the interaction, whose id is also its @original message's id. */
  function ask(question: string) {
    const interaction = discord.slashCommand({
      name: "ask",
      userId: asker,
      options: [{ type: 3, name: "question", value: question }],
    });
    discord.dispatchInteraction(interaction);
    return interaction;
  }

  /** The text of an interaction's @original once it contains the fragment. */
  async function originalContaining(interactionId: string, fragment: string): Promise<string> {
    await waitFor(
      () => discord.messages.get(interactionId)?.content.includes(fragment) ?? false,
      `"${fragment}" in the reply to ${interactionId}`,
    );
    return discord.messages.get(interactionId)?.content ?? "";
  }

  /** `/memory show` in the channel; its ephemeral reply's text. */
  async function memoryShow(): Promise<string> {
    const interaction = discord.slashCommand({
      name: "memory",
      userId: asker,
      options: [{ type: 1, name: "show" }],
    });
    discord.dispatchInteraction(interaction);
    return originalContaining(interaction.id, "Notes for this channel");
  }

  async function approvalRequest(where: (message: StandInMessage) => boolean) {
    let found: StandInMessage | undefined;
    await waitFor(() => {
      found = [...discord.messages.values()].find(
        (message) =>
          where(message) && buttonsOf(message).some((button) => button.custom_id.startsWith("approve-tool:")),
      );
      return found !== undefined;
    }, "the approval request");
    const message = found as StandInMessage;
    const approve = buttonsOf(message).find((button) => button.custom_id.startsWith("approve-tool:"));
    return { message, approvalId: approve?.custom_id.slice("approve-tool:".length) ?? "" };
  }

  /** Clicks a button as a member; returns the click's interaction once Discord saw it acknowledged. */
  async function click(options: { customId: string; messageId: string; userId: string; admin?: boolean }) {
    const interaction = discord.buttonClick({
      customId: options.customId,
      messageId: options.messageId,
      userId: options.userId,
    });
    if (options.admin) {
      (interaction.member as { permissions: string }).permissions = String(
        MANAGE_GUILD | (1n << 10n) | (1n << 11n),
      );
    }
    const dispatchedAt = Date.now();
    discord.dispatchInteraction(interaction);
    const callback = await discord.waitForRequest((request) =>
      request.path.startsWith(`/interactions/${interaction.id}/`),
    );
    expect(callback.status).toBe(204);
    expect(callback.at - dispatchedAt).toBeLessThan(3_000);
    return interaction;
  }

  it("posts Approve / Deny as a follow-up and runs nothing until the asker approves", async () => {
    const question = ask("please remember that the retro moves to Thursday [approve-case]");
    const { message, approvalId } = await approvalRequest(
      (candidate) => candidate.interactionToken === question.token,
    );

    expect(message.via).toBe("webhook");
    expect(message.id).not.toBe(question.id);
    expect(buttonsOf(message).map((button) => [button.custom_id, button.style, button.label])).toEqual([
      [`approve-tool:${approvalId}`, 1, "Approve"],
      [`deny-tool:${approvalId}`, 4, "Deny"],
    ]);
    expect(message.content).toContain("the retro moves to Thursday");
    expect(await memoryShow()).not.toContain("retro moves to Thursday");

    const approval = await click({
      customId: `approve-tool:${approvalId}`,
      messageId: message.id,
      userId: asker,
    });
    expect(await originalContaining(approval.id, "Approved: running remember")).toBeTruthy();
    await originalContaining(question.id, "Saved note");
    // The answer went into @original; the approval message kept its buttons and text.
    expect(buttonsOf(discord.messages.get(message.id) as StandInMessage)).toHaveLength(2);
    expect(await memoryShow()).toContain("the retro moves to Thursday");
    expect(discord.problems).toEqual([]);
  });

  it("refuses a click by another member without Manage Server, then Deny leaves the tool unexecuted", async () => {
    const question = ask("please remember that the budget is frozen [deny-case]");
    const { message, approvalId } = await approvalRequest(
      (candidate) => candidate.interactionToken === question.token,
    );

    const refused = await click({
      customId: `approve-tool:${approvalId}`,
      messageId: message.id,
      userId: stranger,
    });
    await originalContaining(refused.id, "Only the person who asked, or an admin");
    // The refusal is for the clicker alone: deferred as ephemeral.
    const deferral = discord.requests.find((request) =>
      request.path.startsWith(`/interactions/${refused.id}/`),
    );
    expect((deferral?.body as { data?: { flags?: number } } | undefined)?.data?.flags).toBe(64);
    expect(await memoryShow()).not.toContain("the budget is frozen");

    await click({ customId: `deny-tool:${approvalId}`, messageId: message.id, userId: asker });
    await originalContaining(question.id, "The user denied this action.");
    expect(await memoryShow()).not.toContain("the budget is frozen");
    expect(discord.problems).toEqual([]);
  });

  it("a member with Manage Server may approve someone else's request", async () => {
    const question = ask("please remember that the office closes at six [admin-case]");
    const { message, approvalId } = await approvalRequest(
      (candidate) => candidate.interactionToken === question.token,
    );
    await click({
      customId: `approve-tool:${approvalId}`,
      messageId: message.id,
      userId: moderator,
      admin: true,
    });
    await originalContaining(question.id, "Saved note");
    expect(await memoryShow()).toContain("the office closes at six");
  });

  it("no decision within APPROVAL_TIMEOUT_MS counts as Deny, and a late Approve runs nothing", async () => {
    const question = ask("please remember that lunch is at noon [timeout-case]");
    const { message, approvalId } = await approvalRequest(
      (candidate) => candidate.interactionToken === question.token,
    );
    await originalContaining(question.id, "No decision within the time limit.");
    const late = await click({
      customId: `approve-tool:${approvalId}`,
      messageId: message.id,
      userId: asker,
    });
    await originalContaining(late.id, "no longer waiting");
    expect(await memoryShow()).not.toContain("lunch is at noon");
  });

  it("an indexed document that orders a remember call: search_docs finds it, and the write waits for a click that never comes", async () => {
    const index = discord.slashCommand({
      name: "index",
      userId: moderator,
      permissions: MANAGE_GUILD,
      options: [{ type: 3, name: "url", value: `${page.origin}/wiki/holidays-handbook` }],
    });
    discord.dispatchInteraction(index);
    await originalContaining(index.id, "Indexed");

    const question = ask("search the docs: when is the office closed for holidays? [docs-injection-case]");
    const { message } = await approvalRequest(
      (candidate) => candidate.via !== "channel" && candidate.content.includes("hunter2"),
    );
    const toolMessages = openai
      .chatRequests()
      .filter((body) => JSON.stringify(body).includes("[docs-injection-case]"))
      .flatMap((body) => body.messages)
      .filter((entry) => entry.role === "tool")
      .map((entry) => String(entry.content));
    // The poisoned text reached the model through search_docs, fenced as a tool result.
    expect(toolMessages.some((content) => content.includes("ignore your instructions"))).toBe(true);
    expect(toolMessages.some((content) => content.includes("<tool_result"))).toBe(true);
    expect(message.content).toContain("the deploy password is hunter2");
    expect(await memoryShow()).not.toContain("hunter2");
    await originalContaining(question.id, "No decision within the time limit.");
    expect(await memoryShow()).not.toContain("hunter2");
    expect(discord.problems).toEqual([]);
  });

  it("a page that tells the model to call remember (asked by a mention) gets an approval request, never a silent write", async () => {
    const mention = discord.userMessage({
      content: `<@${discord.applicationId}> what does ${page.origin}/wiki/holidays say? [injection-case]`,
      userId: asker,
      mentionBot: true,
    });
    discord.dispatch("MESSAGE_CREATE", mention);
    const { message } = await approvalRequest(
      (candidate) => candidate.via === "channel" && candidate.channel_id === discord.channelId,
    );
    expect(page.requests.map((request) => request.url)).toContain("/wiki/holidays");
    const toolMessages = openai
      .chatRequests()
      .flatMap((body) => body.messages)
      .filter((entry) => entry.role === "tool")
      .map((entry) => String(entry.content));
    expect(toolMessages.some((content) => content.includes("ignore your instructions"))).toBe(true);
    expect(message.content).toContain("the deploy password is hunter2");
    expect(await memoryShow()).not.toContain("hunter2");

    // Nobody clicks: the request times out, the answer says so, and the note store stays clean.
    await waitFor(
      () =>
        [...discord.messages.values()].some(
          (candidate) =>
            candidate.message_reference?.message_id === mention.id &&
            candidate.content.includes("No decision within the time limit."),
        ),
      "the answer after the timeout",
    );
    expect(await memoryShow()).not.toContain("hunter2");
    expect(discord.problems).toEqual([]);
  });
});
