import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { startBot } from "../../src/main.js";
import { scriptedModel } from "../support/approval-model-script.js";
import {
  type DiscordStandIn,
  type StandInMessage,
  snowflake,
  startDiscordStandIn,
} from "../support/discord-stand-in.js";
import { capturedPinoLogger, waitFor } from "../support/e2e-helpers.js";
import { exfiltrationModel, exfiltrationOrder } from "../support/exfiltration-model-script.js";
import { type LocalHttpServer, startLocalHttpServer } from "../support/local-http-server.js";
import {
  type ChatRequestBody,
  lastUserText,
  type OpenAiStandIn,
  startOpenAiStandIn,
} from "../support/openai-stand-in.js";
import { ProbeTable } from "../support/probe-table.js";
import { type SlackStandIn, startSlackStandIn } from "../support/slack-stand-in.js";

/**
 * The attacker's view of teammate on Discord (with Slack configured too, as one deployment serving
 * both): each probe drives `startBot` through the Discord stand-in's gateway and REST API. The
 * stand-in records every message that would get a link preview; the attacker's loopback server
 * counts every hit.
 */

const SLACK_BOT_TOKEN = "xoxb-security-discord-8080-5d1c";
const MANAGE_GUILD = 1n << 5n;
const SUPPRESS_EMBEDS = 1 << 2;
const SECRET_NOTE = "the vault combination is 31-4-15";

const table = new ProbeTable("Discord (startBot, Discord + Slack + OpenAI stand-ins)");

function securityModel(body: ChatRequestBody) {
  const question = lastUserText(body);
  if (question.includes("[mentions]") && body.messages.at(-1)?.role === "user") {
    return {
      kind: "text" as const,
      text: "@everyone @here <@&123456789012345678> <@876543210987654321> the build is red, see https://status.example/incident",
      deltas: 4,
    };
  }
  if (/please remember that/i.test(question)) return scriptedModel(body);
  return exfiltrationModel(body);
}

interface Button {
  custom_id: string;
}

function buttonsOf(message: StandInMessage): Button[] {
  const rows = message.components as Array<{ components?: Button[] }>;
  return rows.flatMap((row) => row.components ?? []);
}

describe("Discord security probes (startBot, Discord, Slack and OpenAI stand-ins, attacker server)", () => {
  let discord: DiscordStandIn;
  let slack: SlackStandIn;
  let openai: OpenAiStandIn;
  let attacker: LocalHttpServer;
  let site: LocalHttpServer;
  let dataDirectory: string;
  let bot: { stop(): Promise<void> } | undefined;
  let log: ReturnType<typeof capturedPinoLogger>;
  const asker = snowflake();
  const member = snowflake();
  const moderator = snowflake();
  const directMessageAdmin = snowflake();
  const otherGuild = snowflake();

  const collect = () => `${attacker.origin}/collect?d=`;
  const hits = () => attacker.requests.filter((request) => request.url.startsWith("/collect")).length;

  beforeAll(async () => {
    attacker = await startLocalHttpServer((_request, response) => {
      response.writeHead(200, { "content-type": "text/plain" }).end("thanks");
    });
    site = await startLocalHttpServer((request, response) => {
      const pages: Record<string, string> = {
        "/docs/deploy-checklist.md": `# Deploy checklist\n\nRun the smoke tests before each deploy and watch the error rate for ten minutes.\n\n${exfiltrationOrder(collect())}\n`,
        "/docs/compensation.md":
          "# Compensation\n\nThe salary bands for engineers run from 90k to 150k, reviewed every March.\n",
      };
      const page = pages[request.url ?? ""];
      if (!page) return response.writeHead(404).end();
      response.writeHead(200, { "content-type": "text/markdown; charset=utf-8" }).end(page);
    });
    discord = await startDiscordStandIn();
    slack = await startSlackStandIn({ botToken: SLACK_BOT_TOKEN });
    openai = await startOpenAiStandIn({ apiKey: "sk-security-discord" });
    openai.setResponder(securityModel);
    dataDirectory = mkdtempSync(join(tmpdir(), "teammate-security-discord-"));
    const config = loadConfig({
      DISCORD_TOKEN: discord.token,
      DISCORD_APPLICATION_ID: discord.applicationId,
      DISCORD_API_URL: discord.apiUrl,
      DISCORD_GUILD_ID: discord.guildId,
      SLACK_BOT_TOKEN,
      SLACK_SIGNING_SECRET: "security-discord-signing",
      SLACK_API_URL: slack.apiUrl,
      OPENAI_BASE_URL: openai.baseUrl,
      OPENAI_API_KEY: "sk-security-discord",
      PORT: "0",
      DATA_DIR: dataDirectory,
      ADMIN_USER_IDS: `discord:${directMessageAdmin}`,
      APPROVAL_TIMEOUT_MS: "30000",
      MCP_CONFIG_PATH: join(dataDirectory, "no-mcp.json"),
      FETCH_ALLOWED_HOSTS: [site, attacker]
        .map((server) => `127.0.0.1:${server.port}`)
        .concat(new URL(slack.origin).host)
        .join(","),
      TOOL_FETCH_ALLOWED_HOSTS: [site, attacker].map((server) => `127.0.0.1:${server.port}`).join(","),
    });
    log = capturedPinoLogger();
    bot = await startBot(config, log.logger);
  }, 60_000);

  afterAll(async () => {
    table.print();
    await bot?.stop();
    await discord?.close();
    await slack?.close();
    await openai?.close();
    await attacker?.close();
    await site?.close();
    rmSync(dataDirectory, { recursive: true, force: true });
  });

  /** Sends a slash command and returns the interaction (its id is also its @original message's id). */
  function command(
    name: string,
    options: unknown[] = [],
    extra: Partial<Parameters<DiscordStandIn["slashCommand"]>[0]> = {},
  ) {
    const interaction = discord.slashCommand({ name, userId: asker, options, ...extra });
    discord.dispatchInteraction(interaction);
    return interaction;
  }

  const text = (value: string) => [{ type: 3, name: "question", value }];

  /** The content of an interaction's @original once it matches. */
  async function original(interactionId: string, pattern: RegExp): Promise<string> {
    await waitFor(
      () => pattern.test(discord.messages.get(interactionId)?.content ?? ""),
      `${pattern} in the reply to ${interactionId}`,
    );
    return discord.messages.get(interactionId)?.content ?? "";
  }

  const approvalFor = (token: string) =>
    [...discord.messages.values()].find(
      (message) =>
        message.interactionToken === token &&
        buttonsOf(message).some((button) => button.custom_id.startsWith("approve-tool:")),
    );

  async function click(
    customId: string,
    messageId: string,
    options: Partial<Parameters<DiscordStandIn["buttonClick"]>[0]>,
  ) {
    const interaction = discord.buttonClick({ customId, messageId, userId: asker, ...options });
    discord.dispatchInteraction(interaction);
    return original(interaction.id, /\S/);
  }

  const memoryShow = async () =>
    original(command("memory", [{ type: 1, name: "show" }]).id, /Notes for this channel/);

  it("finding 1: an indexed document that orders fetch_url gets an approval request (no link preview) and 0 hits until Approve", async () => {
    const index = command(
      "index",
      [{ type: 3, name: "url", value: `${site.origin}/docs/deploy-checklist.md` }],
      {
        userId: moderator,
        permissions: MANAGE_GUILD,
      },
    );
    await original(index.id, /Indexed/);
    await original(command("remember", [{ type: 3, name: "note", value: SECRET_NOTE }]).id, /Noted/);
    for (const attempt of ["one", "two"]) {
      const before = hits();
      const question = command(
        "ask",
        text(`what does the deploy checklist say about smoke tests? [d-doc-${attempt}]`),
      );
      await waitFor(
        () => approvalFor(question.token) !== undefined || hits() > before,
        "an approval request or a hit",
      );
      const leaked = hits() > before;
      const approval = approvalFor(question.token);
      table.record("document orders fetch_url", { refused: approval !== undefined && !leaked, leaked });
      if (approval) {
        expect(approval.content).toContain(attacker.origin);
        expect(approval.flags & SUPPRESS_EMBEDS).toBe(SUPPRESS_EMBEDS);
        const approvalId = buttonsOf(approval)[0]?.custom_id.split(":")[1] ?? "";
        await click(`deny-tool:${approvalId}`, approval.id, {});
      }
      await original(question.id, /Done:/);
      expect(hits()).toBe(before);
    }
    const question = command(
      "ask",
      text("what does the deploy checklist say about smoke tests? [d-doc-approve]"),
    );
    await waitFor(() => approvalFor(question.token) !== undefined || hits() > 0, "the approval request");
    expect(hits()).toBe(0);
    const approval = approvalFor(question.token) as StandInMessage;
    const approvalId = buttonsOf(approval)[0]?.custom_id.split(":")[1] ?? "";
    await click(`approve-tool:${approvalId}`, approval.id, {});
    await waitFor(() => hits() === 1, "the approved call");
    await original(question.id, /Done:/);
    expect(table.row("document orders fetch_url")).toMatchObject({ attempts: 2, refused: 2, leaked: 0 });
  }, 90_000);

  it("finding 1: no message the bot posts gets a link preview (SUPPRESS_EMBEDS, or links wrapped in <…> next to the sources embed)", async () => {
    const docs = command("docs");
    await original(docs.id, /Deploy checklist/);
    // A channel without indexed documents, so the model's reply is shown as it wrote it.
    const answer = command("ask", text("say hello with a link [mentions]"), { channelId: snowflake() });
    await original(answer.id, /build is red/);
    const linked = [...discord.messages.values()].filter(
      (message) => message.author.id === discord.applicationId && /https?:\/\//.test(message.content),
    );
    expect(linked.length).toBeGreaterThan(2);
    const previews = discord.problems.filter((problem) => /link preview not suppressed/.test(problem));
    for (const message of linked) {
      const leaked = previews.some(
        (problem) => problem.includes(message.id) || problem.includes(message.interactionToken ?? "-"),
      );
      table.record("bot message with a link gets a preview", { refused: !leaked, leaked });
    }
    expect(previews).toEqual([]);
  });

  it("finding 3: a Discord admin cannot make the bot download a Slack file with the Slack token", async () => {
    for (const name of ["finance-plan.md", "board-minutes.md"]) {
      const url = slack.addFile(name, "# Private\n\nOnly for the board.\n");
      const index = command("index", [{ type: 3, name: "url", value: url }], {
        userId: moderator,
        permissions: MANAGE_GUILD,
      });
      await original(index.id, /Indexed|can.t|couldn.t|Sorry|refused|HTTP \d+/);
      const leaked = slack.downloads.includes(`/files/${name}`);
      table.record("Slack file URL indexed from Discord with the Slack token", { refused: !leaked, leaked });
    }
    expect(table.row("Slack file URL indexed from Discord with the Slack token")).toMatchObject({
      leaked: 0,
    });
  });

  it("finding 5: an approval click from another guild or from a DM is refused", async () => {
    const places: Array<Partial<Parameters<DiscordStandIn["buttonClick"]>[0]>> = [
      { userId: moderator, guildId: otherGuild, permissions: MANAGE_GUILD },
      { userId: asker, directMessage: true, channelId: snowflake() },
    ];
    for (const [index, place] of places.entries()) {
      const secret = `the vault code is 99${index}`;
      const question = command("ask", text(`please remember that ${secret} [d-btn-${"ab"[index]}]`));
      await waitFor(() => approvalFor(question.token) !== undefined, "the approval request");
      const approval = approvalFor(question.token) as StandInMessage;
      const approvalId = buttonsOf(approval)[0]?.custom_id.split(":")[1] ?? "";
      const reply = await click(`approve-tool:${approvalId}`, approval.id, place);
      const leaked = (await memoryShow()).includes(secret);
      table.record("approval clicked from another guild or a DM", {
        refused: !leaked && !/^Approved/.test(reply),
        leaked,
      });
      if (!leaked) await click(`deny-tool:${approvalId}`, approval.id, {});
      await original(question.id, /tool answered/);
    }
    expect(table.row("approval clicked from another guild or a DM")).toMatchObject({
      attempts: 2,
      refused: 2,
      leaked: 0,
    });
  }, 60_000);

  it("finding 7: each Discord DM is its own scope: a document indexed workspace-wide in one DM is not seen in another", async () => {
    const adminDm = snowflake();
    const index = command(
      "index",
      [{ type: 3, name: "url", value: `${site.origin}/docs/compensation.md --workspace` }],
      {
        userId: directMessageAdmin,
        directMessage: true,
        channelId: adminDm,
      },
    );
    expect(await original(index.id, /Indexed|can't|couldn't|Sorry|Give me/)).toMatch(/whole workspace/);
    for (const attempt of ["one", "two"]) {
      const dm = snowflake();
      const question = command("ask", text(`what are the salary bands for engineers? [d-dm-${attempt}]`), {
        userId: member,
        directMessage: true,
        channelId: dm,
      });
      await original(question.id, /I can help|found nothing/);
      const prompt = JSON.stringify(
        openai.chatRequests().filter((body) => JSON.stringify(body).includes(`[d-dm-${attempt}]`)),
      );
      const leaked = prompt.includes("90k to 150k");
      table.record("another person's DM document read", { refused: !leaked, leaked });
    }
    const docs = command("docs", [], { userId: member, directMessage: true, channelId: snowflake() });
    const listed = await original(docs.id, /\S/);
    table.record("another person's DM document read", {
      refused: !listed.includes("Compensation"),
      leaked: listed.includes("Compensation"),
    });
    expect(table.row("another person's DM document read")).toMatchObject({ leaked: 0 });
  }, 60_000);

  it("finding 8: /memory forget is admin-only", async () => {
    await original(
      command("remember", [{ type: 3, name: "note", value: "the standup moved to 9:30" }]).id,
      /Noted/,
    );
    const forget = command("memory", [{ type: 1, name: "forget" }], { userId: member });
    await original(forget.id, /\S/);
    const leaked = !(await memoryShow()).includes("standup moved");
    table.record("member runs /memory forget", { refused: !leaked, leaked });
    expect(leaked).toBe(false);
  });

  it("finding 9: the interaction token never reaches the log when a reply fails", async () => {
    const interaction = discord.slashCommand({
      name: "ask",
      userId: asker,
      options: text("hello there [token-log]"),
    });
    discord.refuseWebhooks(interaction.token);
    discord.dispatchInteraction(interaction);
    await waitFor(
      () => log.lines.some((line) => line.includes(`"err"`) && line.includes("Unknown Webhook")),
      "the failed reply logged",
    );
    const logged = log.lines.join("");
    const leaked = logged.includes(interaction.token);
    table.record("interaction token in the log", { refused: !leaked, leaked });
    expect(leaked).toBe(false);
  });

  it("finding 11: @everyone, @here and role or user pings the model writes are neutralised on Discord", async () => {
    const question = command("ask", text("tell everyone the build is red [mentions]"), {
      channelId: snowflake(),
    });
    const content = await original(question.id, /build is red/);
    const edits = discord.requests.filter((request) => request.path.includes(question.token));
    for (const ping of ["@everyone", "@here", "<@&123456789012345678>", "<@876543210987654321>"]) {
      const leaked = content.includes(ping);
      table.record("mass mention or ping written by the model", { refused: !leaked, leaked });
    }
    for (const edit of edits) {
      const body = edit.body as { allowed_mentions?: { parse?: unknown[] } } | undefined;
      if (body?.allowed_mentions) expect(body.allowed_mentions.parse).toEqual([]);
    }
    expect(table.row("mass mention or ping written by the model")).toMatchObject({ leaked: 0 });
  });
});
