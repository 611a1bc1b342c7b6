import { afterEach, describe, expect, it } from "vitest";
import { renderHomeView } from "../../../src/adapters/slack/slack-app-home.js";
import { suggestedPromptsFor, threadTitleFrom } from "../../../src/adapters/slack/slack-assistant-surface.js";
import { envelope, type Harness, startHarness, waitFor } from "./slack-test-harness.js";

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe("Slack split view: suggested prompts and titles", () => {
  it("offers general prompts without a channel context, and a channel's own draft prompt with one", () => {
    const general = suggestedPromptsFor({});
    expect(general.prompts.map((prompt) => prompt.message)).toEqual(["help", "docs", "usage me"]);
    const inChannel = suggestedPromptsFor({ channel_id: "C0123ABC", team_id: "T111" });
    expect(inChannel.title).toContain("<#C0123ABC>");
    expect(inChannel.prompts[0]?.message).toBe("draft a short update to post in <#C0123ABC>");
    // Slack shows at most four prompts.
    expect(inChannel.prompts.length).toBeLessThanOrEqual(4);
    // A DM context is not a channel to draft for.
    expect(suggestedPromptsFor({ channel_id: "D0123ABC" }).prompts).toEqual(general.prompts);
  });

  it("never writes a context value that is not a channel id into a prompt", () => {
    for (const channel_id of ["C1> <!channel", "<!here>", "C123|x", "c123", ""]) {
      const { title, prompts } = suggestedPromptsFor({ channel_id });
      expect(`${title} ${JSON.stringify(prompts)}`).not.toMatch(/!channel|!here|\|x|c123/);
    }
  });

  it("titles a thread with its first question on one line, cut at a word", () => {
    expect(threadTitleFrom("  How long is\nparental   leave? ")).toBe("How long is parental leave?");
    const long = threadTitleFrom(`${"word ".repeat(40)}end`);
    expect(long.length).toBeLessThanOrEqual(80);
    expect(long.endsWith("word…")).toBe(true);
  });
});

describe("Slack App Home view", () => {
  it("stays within Slack's 100 blocks however long core's answers are, pointing to `docs` for the rest", () => {
    const longText = Array.from(
      { length: 4_000 },
      (_, index) => `• document ${index} ${"x".repeat(60)}`,
    ).join("\n\n");
    const view = renderHomeView([
      { heading: "What I can do", text: "help text" },
      { heading: "What I answer from", text: longText },
    ]);
    expect(view.type).toBe("home");
    expect(view.blocks.length).toBeLessThanOrEqual(100);
    expect(JSON.stringify(view.blocks.at(-1))).toContain("More than fits here");
    expect(JSON.stringify(view.blocks)).toContain("document 0 ");
    for (const block of view.blocks) {
      if (block.type === "section") expect(block.text?.text.length ?? 0).toBeLessThanOrEqual(3000);
    }
  });
});

describe("Slack App Home tab through the adapter", () => {
  it("asks core for help, docs and usage as the person, in their DM with teammate", async () => {
    harness = await startHarness();
    const { assistant, standIn } = harness;
    await harness.postEvent(
      envelope({
        type: "app_home_opened",
        user: "WADMIN",
        channel: "D0ADMIN",
        tab: "home",
        ts: "1700004000.000100",
      }),
    );
    await waitFor(() => standIn.homeTabs.has("WADMIN"), 5_000, "the home tab");
    expect(assistant.messages.map((message) => message.text)).toEqual(["help", "docs", "usage me"]);
    for (const message of assistant.messages) {
      expect(message).toMatchObject({
        channelId: "D0ADMIN",
        workspaceId: "T111",
        userId: "WADMIN",
        isAdmin: true,
        isCommand: true,
      });
    }
    expect(JSON.stringify(standIn.homeTabs.get("WADMIN"))).toContain("Answer to: usage me");
  });

  it("shows an apology with a reference when core fails, instead of leaving the tab stale", async () => {
    harness = await startHarness();
    const { assistant, standIn } = harness;
    assistant.script = async () => {
      throw new Error("store down");
    };
    await harness.postEvent(
      envelope({
        type: "app_home_opened",
        user: "W222",
        channel: "D0ADA",
        tab: "home",
        ts: "1700004001.000100",
      }),
    );
    await waitFor(() => standIn.homeTabs.has("W222"), 5_000, "the home tab");
    expect(JSON.stringify(standIn.homeTabs.get("W222"))).toMatch(
      /could not load this tab just now \(ref [a-z0-9]+\)/,
    );
    expect(standIn.violations).toEqual([]);
  });
});

describe("Slack message shortcuts through the adapter", () => {
  it("a Slack Connect guest's shortcut reaches core as an external member, never an admin", async () => {
    harness = await startHarness({
      users: [
        { id: "W222", name: "ada" },
        { id: "WGUEST", name: "mallory", teamId: "T999", isAdmin: true, isStranger: true },
      ],
    });
    const { assistant, standIn } = harness;
    standIn.addChannel({ id: "CSHARED", name: "shared", isExtShared: true });
    const root = standIn.postAsUser("CSHARED", "W222", "forget-doc handbook");
    await harness.postForm({
      payload: JSON.stringify({
        type: "message_action",
        callback_id: "teammate_extract_action_items",
        trigger_id: standIn.issueTrigger(),
        team: { id: "T111", domain: "stand-in" },
        user: { id: "WGUEST", name: "mallory", team_id: "T999" },
        channel: { id: "CSHARED", name: "shared" },
        message_ts: root,
        message: { type: "message", user: "W222", ts: root, text: "forget-doc handbook" },
        response_url: standIn.responseUrl("guest-shortcut"),
        token: "verification_token",
        action_ts: "1700005000.000100",
      }),
    });
    await waitFor(() => assistant.messages.length > 0, 5_000, "core asked");
    expect(assistant.messages[0]).toMatchObject({
      text: "actions",
      userId: "WGUEST",
      workspaceId: "T111",
      channelId: "CSHARED",
      isExternal: true,
      isAdmin: false,
    });
    // The message's text came along as the thread's content, not as the command.
    expect(assistant.messages[0]?.priorMessages?.[0]?.text).toBe("forget-doc handbook");
  });
});
