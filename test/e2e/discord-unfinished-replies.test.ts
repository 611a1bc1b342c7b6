import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BotProcess, startBotProcess } from "../support/bot-process.js";
import {
  type DiscordStandIn,
  type StandInMessage,
  startDiscordStandIn,
} from "../support/discord-stand-in.js";
import { waitFor } from "../support/e2e-helpers.js";
import { type OpenAiStandIn, startOpenAiStandIn } from "../support/openai-stand-in.js";

/** Discord lets one IDENTIFY per bucket every five seconds; a restarted bot must wait its turn. */
const IDENTIFY_WINDOW_MS = 5_000;

describe("Discord: an answer left unfinished by a killed process is ended at start-up (npm start, SIGKILL, embedded)", () => {
  let discord: DiscordStandIn;
  let openai: OpenAiStandIn;
  let dataDirectory: string;
  let environment: Record<string, string>;
  let first: BotProcess | undefined;
  let second: BotProcess | undefined;

  beforeAll(async () => {
    discord = await startDiscordStandIn();
    openai = await startOpenAiStandIn({ apiKey: "sk-e2e" });
    const chunk = (content: string) =>
      JSON.stringify({
        id: "chatcmpl-unfinished",
        object: "chat.completion.chunk",
        created: 1_700_000_900,
        model: "gpt-4.1-mini",
        choices: [{ index: 0, delta: { role: "assistant", content }, finish_reason: null }],
      });
    // First words, then nothing: the killed process is mid-answer, its reply half-written.
    openai.setResponder(() => ({
      kind: "raw",
      events: [chunk("Rivers start in the hills "), chunk("and end in the sea."), "[DONE]"],
      chunkDelayMs: 110_000,
    }));
    dataDirectory = mkdtempSync(join(tmpdir(), "teammate-discord-unfinished-"));
    environment = {
      DISCORD_TOKEN: discord.token,
      DISCORD_APPLICATION_ID: discord.applicationId,
      DISCORD_API_URL: discord.apiUrl,
      DISCORD_GUILD_ID: discord.guildId,
      OPENAI_BASE_URL: openai.baseUrl,
      OPENAI_API_KEY: "sk-e2e",
      LLM_TIMEOUT_MS: "120000",
      ENABLE_TOOLS: "false",
      DATA_DIR: dataDirectory,
      LOG_LEVEL: "info",
    };
  });

  afterAll(async () => {
    await first?.stop("SIGKILL");
    await second?.stop("SIGTERM");
    await discord?.close();
    await openai?.close();
    rmSync(dataDirectory, { recursive: true, force: true });
  });

  it("marks the half-written reply as cut and answers the question with an apology and a reference id, pinging the asker", async () => {
    first = await startBotProcess(environment);
    const question = discord.userMessage({
      content: `<@${discord.applicationId}> where do rivers go?`,
      userId: "777000777000777000",
      mentionBot: true,
    });
    discord.dispatch("MESSAGE_CREATE", question);
    const replies = (): StandInMessage[] =>
      [...discord.messages.values()].filter(
        (message) => message.message_reference?.message_id === question.id,
      );
    await waitFor(() => replies().some((message) => /Rivers start/.test(message.content)), "the first words");
    const partialId = replies()[0]?.id ?? "";
    // Killed once the reply's open record holds the half-written message (written as it is shown).
    const database = new Database(join(dataDirectory, "teammate.sqlite"), { readonly: true });
    try {
      await waitFor(
        () =>
          database
            .prepare<[], { record: string }>("SELECT record FROM memory_open_work")
            .all()
            .some((row) => row.record.includes(partialId)),
        "the open reply's record",
      );
    } finally {
      database.close();
    }
    await first.stop("SIGKILL");

    const lastIdentify = discord.identifies.at(-1)?.at ?? 0;
    await waitFor(() => Date.now() - lastIdentify > IDENTIFY_WINDOW_MS, "the IDENTIFY window", 10_000);
    second = await startBotProcess(environment);

    const apology = () => replies().find((message) => /restarted while answering this/.test(message.content));
    await waitFor(() => apology() !== undefined, "the apology", 20_000);
    expect(apology()?.content).toMatch(/^<@777000777000777000> Sorry, I was restarted .*\(ref [0-9a-f]{8}\)/);
    expect(discord.messages.get(partialId)?.content).toMatch(
      /Rivers start in the hills[\s\S]*\(interrupted: this answer is unfinished\)\*$/,
    );
    expect(discord.problems).toEqual([]);
  }, 90_000);
});
