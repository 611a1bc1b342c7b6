import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { silentLogger } from "../../src/core/ports/logger.js";
import { startBot } from "../../src/main.js";
import { runSlashCommand } from "../support/discord-e2e-driver.js";
import { type DiscordStandIn, startDiscordStandIn } from "../support/discord-stand-in.js";
import { type OpenAiStandIn, startOpenAiStandIn } from "../support/openai-stand-in.js";

const MANAGE_GUILD = 1n << 5n;
const EPHEMERAL = 64;

const RUNBOOK = `# On-call runbook

## Paging

When the pager fires, acknowledge within five minutes and open an incident channel named after the alert.
`;

describe("Discord /index (in-process startBot, embedded mode, Discord and OpenAI stand-ins)", () => {
  let discord: DiscordStandIn;
  let openai: OpenAiStandIn;
  let dataDirectory: string;
  let bot: { stop(): Promise<void> } | undefined;

  beforeAll(async () => {
    discord = await startDiscordStandIn();
    openai = await startOpenAiStandIn({ apiKey: "sk-discord-index" });
    // A model that cites passage 1 when it was given passages.
    openai.setResponder((body) => ({
      kind: "text",
      text: JSON.stringify(body.messages).includes('<passage number=\\"1\\"')
        ? "Acknowledge the page within five minutes [1]."
        : "I don't know.",
    }));
    dataDirectory = mkdtempSync(join(tmpdir(), "teammate-discord-index-"));
    const config = loadConfig({
      DISCORD_TOKEN: discord.token,
      DISCORD_APPLICATION_ID: discord.applicationId,
      DISCORD_API_URL: discord.apiUrl,
      DISCORD_GUILD_ID: discord.guildId,
      OPENAI_BASE_URL: openai.baseUrl,
      OPENAI_API_KEY: "sk-discord-index",
      PORT: "0",
      DATA_DIR: dataDirectory,
      // The stand-in's CDN host is on loopback, which URL indexing refuses unless allowed.
      FETCH_ALLOWED_HOSTS: new URL(discord.apiUrl).host,
      ENABLE_TOOLS: "false",
    });
    bot = await startBot(config, silentLogger);
  });

  afterAll(async () => {
    await bot?.stop();
    await discord?.close();
    await openai?.close();
    rmSync(dataDirectory, { recursive: true, force: true });
  });

  /** Sends a slash command with an attachment option and returns what `@original` ends up saying. */
  async function runCommand(options: {
    name: string;
    permissions?: bigint;
    attachment?: ReturnType<DiscordStandIn["addAttachment"]>;
    options?: unknown[];
    expect: RegExp;
  }) {
    return runSlashCommand(discord, {
      name: options.name,
      ...(options.permissions === undefined ? {} : { permissions: options.permissions }),
      options: [
        ...(options.options ?? []),
        ...(options.attachment ? [{ type: 11, name: "attachment", value: options.attachment.id }] : []),
      ],
      ...(options.attachment ? { attachments: { [options.attachment.id]: options.attachment } } : {}),
      expect: options.expect,
    });
  }

  it("refuses /index to a member without Manage Server, privately, and downloads nothing", async () => {
    const attachment = discord.addAttachment("secret-plans.md", "# Plans\n\nNothing to see.\n");
    const refused = await runCommand({ name: "index", attachment, expect: /admin/i });
    expect(refused.content).toMatch(/Only workspace admins can use `index`/);
    expect(refused.flags & EPHEMERAL).toBe(EPHEMERAL);
    expect(discord.downloads).toEqual([]);
    expect(discord.problems).toEqual([]);
  });

  it("indexes an admin's attachment from the CDN; /docs lists it and a mention is answered citing it", async () => {
    const attachment = discord.addAttachment("oncall-runbook.md", RUNBOOK);
    const indexed = await runCommand({
      name: "index",
      permissions: MANAGE_GUILD,
      attachment,
      expect: /Indexed \*\*On-call runbook\*\*/,
    });
    expect(indexed.content).toContain("for this channel");
    expect(indexed.flags & EPHEMERAL).toBe(0);
    expect(discord.downloads).toEqual([new URL(attachment.url).pathname]);

    const docs = await runCommand({ name: "docs", expect: /On-call runbook/ });
    expect(docs.content).toContain(attachment.url);
    expect(docs.content).toMatch(/\(1 chunks?, this channel\)/);

    const question = discord.userMessage({
      content: "how fast must I acknowledge a page?",
      mentionBot: true,
    });
    discord.dispatch("MESSAGE_CREATE", question);
    const reply = await discord.waitForRequest(
      (request) =>
        (request.method === "POST" || request.method === "PATCH") &&
        request.path.startsWith(`/channels/${discord.channelId}/messages`) &&
        /five minutes/.test(JSON.stringify(request.body)) &&
        JSON.stringify(request.body).includes(attachment.url),
      20_000,
    );
    expect(reply.status).toBe(200);
    expect(JSON.stringify(openai.chatRequests().at(-1)?.messages)).toContain(
      "acknowledge within five minutes",
    );
    expect(discord.problems).toEqual([]);
    openai.assertNoViolations();
  });
});
