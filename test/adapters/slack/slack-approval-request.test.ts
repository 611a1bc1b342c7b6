import { WebClient } from "@slack/web-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderApprovalBlocks } from "../../../src/adapters/slack/slack-message-format.js";
import { SlackReplySink, type SlackReplyTarget } from "../../../src/adapters/slack/slack-reply-sink.js";
import { silentLogger } from "../../../src/core/ports/logger.js";
import type { ApprovalPrompt } from "../../../src/core/ports/reply-sink.js";
import { type SlackStandIn, startSlackStandIn } from "../../support/slack-stand-in.js";

const APPROVAL_ID = "5f0c8a1e-2b7d-4c3a-9e61-0d4b8f7a2c11";

function prompt(text: string): ApprovalPrompt {
  return {
    approvalId: APPROVAL_ID,
    text,
    buttons: [
      { action: "approve-tool", label: "Approve", value: APPROVAL_ID, style: "primary" },
      { action: "deny-tool", label: "Deny", value: APPROVAL_ID, style: "danger" },
    ],
    expiresAt: Date.UTC(2030, 0, 1, 12, 0, 0),
  };
}

describe("renderApprovalBlocks", () => {
  it("escapes what the model wrote, so arguments cannot ping the channel or hide a link", () => {
    const blocks = renderApprovalBlocks(
      prompt('I want to run remember with {"text":"<!channel> see <https://evil.example|the wiki> & more"}.'),
    );
    const section = blocks[0] as { text: { type: string; text: string } };
    expect(section.text.type).toBe("mrkdwn");
    expect(section.text.text).toContain("&lt;!channel&gt;");
    expect(section.text.text).toContain("&lt;https://evil.example|the wiki&gt; &amp; more");
    expect(section.text.text).not.toMatch(/<[!h]/);
  });

  it("carries the core action as action_id and the approval id as value, with the expiry in the reader's time", () => {
    const blocks = renderApprovalBlocks(prompt("I want to run remember."));
    const actions = blocks.find((block) => block.type === "actions") as {
      elements: Array<{ action_id: string; value: string; style: string; text: { text: string } }>;
    };
    expect(actions.elements.map((element) => [element.action_id, element.value, element.style])).toEqual([
      ["approve-tool", APPROVAL_ID, "primary"],
      ["deny-tool", APPROVAL_ID, "danger"],
    ]);
    expect(actions.elements.map((element) => element.text.text)).toEqual(["Approve", "Deny"]);
    const context = blocks.find((block) => block.type === "context") as { elements: Array<{ text: string }> };
    expect(context.elements[0]?.text).toContain(`<!date^${Date.UTC(2030, 0, 1, 12, 0, 0) / 1000}^{time}|`);
    expect(new Set(blocks.map((block) => block.block_id)).size).toBe(blocks.length);
  });

  it("keeps a very long prompt inside a section's 3000 characters", () => {
    const blocks = renderApprovalBlocks(prompt(`I want to run remember with ${"<&>".repeat(2_000)}`));
    const section = blocks[0] as { text: { text: string } };
    expect(section.text.text.length).toBeLessThanOrEqual(3_000);
    // The cut never leaves half an entity behind.
    expect(section.text.text).not.toMatch(/&(?!amp;|lt;|gt;)/);
  });
});

describe("SlackReplySink.requestApproval (against the Slack stand-in)", () => {
  let slack: SlackStandIn;
  let client: WebClient;

  beforeAll(async () => {
    slack = await startSlackStandIn({ botToken: "xoxb-approval-sink" });
    client = new WebClient("xoxb-approval-sink", { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
  });

  afterAll(async () => {
    await slack?.close();
  });

  const target = (overrides: Partial<SlackReplyTarget>): SlackReplyTarget => ({
    channel: "C500",
    threadTs: "1700000500.000100",
    userId: "W222",
    teamId: "T111",
    isDirectMessage: false,
    isAssistantThread: false,
    ...overrides,
  });

  it("posts the request in the thread, replacing the status line, and the answer follows below it", async () => {
    const sink = new SlackReplySink({
      client,
      target: target({}),
      logger: silentLogger,
      streaming: { refused: true },
      updateIntervalMilliseconds: 0,
    });
    await sink.start({ visibility: "everyone" });
    await sink.status("Reading the page…");
    await sink.requestApproval(prompt("I want to run remember."));
    await sink.append("Saved.");
    await sink.finish({ sources: [], buttons: [] });

    const thread = slack.visibleMessages("C500", "1700000500.000100");
    expect(thread.map((message) => message.text)).toEqual([
      ":raised_hand: *Approval needed* — I want to run remember.",
      "Saved.",
    ]);
    expect(thread[0]?.blocks.some((block) => (block as { type: string }).type === "actions")).toBe(true);
    expect(slack.violations).toEqual([]);
  });

  it("gives an asker-only reply's request to the asker privately, through the response_url", async () => {
    const sink = new SlackReplySink({
      client,
      target: target({ channel: "C501", responseUrl: slack.responseUrl("private-approval") }),
      logger: silentLogger,
      streaming: { refused: false },
    });
    await sink.start({ visibility: "asker" });
    await sink.requestApproval(prompt("I want to run remember."));
    expect(slack.visibleMessages("C501")).toEqual([]);
    const posted = slack.responseUrlPosts.find((entry) => entry.id === "private-approval");
    expect(posted?.body.response_type).toBe("ephemeral");
    expect(JSON.stringify(posted?.body.blocks)).toContain("approve-tool");
    await sink.fail("stopped");
  });
});
