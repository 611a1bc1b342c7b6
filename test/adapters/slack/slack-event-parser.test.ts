import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  parseButtonClick,
  parseSlackEvent,
  parseSlashCommand,
  type SlackEventVerdict,
  slackWorkspaceOf,
} from "../../../src/adapters/slack/slack-event-parser.js";
import { SPECS_DIR } from "../../support/openapi-validator.js";

const fixtures = join(SPECS_DIR, "slack/fixtures");
const json = (name: string) =>
  JSON.parse(readFileSync(join(fixtures, name), "utf8")) as Record<string, unknown>;
/** The bot in the fixtures' workspace is W111 (their `authorizations`). */
const identity = { userId: "W111", botId: "B111" };

const parseFixture = (name: string, change: (event: Record<string, unknown>) => void = () => {}) => {
  const body = json(`events/${name}`);
  const event = { ...(body.event as Record<string, unknown>) };
  change(event);
  return parseSlackEvent({ ...body, event }, event, identity);
};

const messageOf = (verdict: SlackEventVerdict) => {
  if (verdict.kind !== "message") throw new Error(`expected a message, got ${JSON.stringify(verdict)}`);
  return verdict.message;
};

describe("parseSlackEvent (the shared Slack fixtures)", () => {
  it("an app_mention in a channel is addressed by mention, typed in the channel, teammate's mention removed", () => {
    const body = json("events/app_mention.json");
    const verdict = parseSlackEvent(body, body.event, { userId: "U0LAN0Z89" });
    expect(messageOf(verdict)).toEqual({
      workspaceId: "T123ABC456",
      channel: "C123ABC456",
      ts: "1515449522.000016",
      threadTs: undefined,
      userId: "U061F7AUR",
      hints: { userTeam: undefined, enterpriseId: undefined },
      text: "is it everything a river should be?",
      files: [],
      eventId: "Ev123ABC456",
      addressedBy: "mention",
      isDirectMessage: false,
      isAssistantThread: false,
    });
  });

  it("an app_mention in a thread keeps its thread and the envelope's organisation", () => {
    const message = messageOf(parseFixture("app_mention.in_thread.json"));
    expect(message).toMatchObject({
      threadTs: "1595926200.000100",
      ts: "1595926230.009600",
      text: "Hi there!",
      addressedBy: "mention",
      hints: { enterpriseId: "E111" },
    });
  });

  it("a message in a channel thread goes to core unaddressed; core decides", () => {
    const message = messageOf(parseFixture("message.channels.thread_reply.json"));
    expect(message).toMatchObject({
      channel: "C111",
      threadTs: "1726133698.626339",
      text: "When Slack was released?",
      addressedBy: "none",
      isDirectMessage: false,
      hints: { userTeam: "T111", enterpriseId: "E111" },
    });
  });

  it("direct messages, top level and in an assistant thread, are addressed directly", () => {
    expect(messageOf(parseFixture("message.im.top_level.json"))).toMatchObject({
      addressedBy: "direct",
      isDirectMessage: true,
      threadTs: undefined,
      isAssistantThread: false,
    });
    expect(messageOf(parseFixture("message.im.assistant_thread.json"))).toMatchObject({
      addressedBy: "direct",
      isDirectMessage: true,
      threadTs: "1726133698.626339",
      isAssistantThread: true,
    });
  });

  it("ignores bots, teammate itself, edits and joins, and channel messages outside threads", () => {
    expect(parseFixture("message.channels.bot_message.json")).toEqual({
      kind: "ignored",
      reason: "not-a-person",
    });
    expect(parseFixture("message.channels.thread_reply.json", (event) => (event.user = "W111"))).toEqual({
      kind: "ignored",
      reason: "own-message",
    });
    for (const subtype of ["message_changed", "channel_join", "bot_message"]) {
      expect(
        parseFixture("message.channels.thread_reply.json", (event) => (event.subtype = subtype)),
      ).toEqual({
        kind: "ignored",
        reason: "not-a-person",
      });
    }
    expect(
      parseFixture("message.channels.thread_reply.json", (event) => (event.thread_ts = undefined)),
    ).toEqual({ kind: "ignored", reason: "outside-threads" });
    expect(
      parseFixture("message.channels.thread_reply.json", (event) => (event.thread_ts = event.ts)),
    ).toEqual({ kind: "ignored", reason: "outside-threads" });
  });

  it("takes a channel mention once (as app_mention) and a DM once (as message.im)", () => {
    expect(
      parseFixture("message.channels.thread_reply.json", (event) => (event.text = "<@W111> again")),
    ).toEqual({ kind: "ignored", reason: "answered-as-mention" });
    expect(parseFixture("app_mention.in_thread.json", (event) => (event.channel = "D111"))).toEqual({
      kind: "ignored",
      reason: "answered-as-direct-message",
    });
    // In a DM a mention is just text: the message itself is the question.
    expect(
      messageOf(parseFixture("message.im.top_level.json", (event) => (event.text = "<@W111> hi"))).text,
    ).toBe("hi");
  });

  it("keeps person subtypes: a shared file and a thread broadcast", () => {
    const shared = parseFixture("message.channels.thread_reply.json", (event) => {
      event.subtype = "file_share";
      event.files = [
        {
          name: "plan.pdf",
          url_private: "https://files.slack.com/plan.pdf",
          mimetype: "application/pdf",
          size: 12,
        },
        { name: "no-url.txt" },
      ];
    });
    expect(messageOf(shared).files).toEqual([
      {
        name: "plan.pdf",
        url: "https://files.slack.com/plan.pdf",
        mimeType: "application/pdf",
        sizeBytes: 12,
        arrivedIn: { platform: "slack", workspaceId: "T111" },
      },
    ]);
    const broadcast = parseFixture("message.channels.thread_reply.json", (event) => {
      event.subtype = "thread_broadcast";
    });
    expect(messageOf(broadcast).addressedBy).toBe("none");
  });

  it("refuses an event naming no workspace, and never takes the event's own team (the sender's) for it", () => {
    const body = json("events/app_mention.in_thread.json");
    const stripped = { ...body, team_id: undefined, authorizations: undefined };
    expect(parseSlackEvent(stripped, body.event, identity)).toMatchObject({ kind: "refused" });
    expect(slackWorkspaceOf({ authorizations: [{ team_id: "T777" }] })).toBe("T777");
    expect(slackWorkspaceOf({ event: { team: "T999" } })).toBeUndefined();
  });

  it("survives hostile shapes without throwing", () => {
    for (const event of [null, 42, "text", [], { type: "message", user: 7, channel: {}, ts: [] }]) {
      expect(parseSlackEvent({ team_id: "T1" }, event, identity).kind).toBe("ignored");
    }
  });
});

describe("parseSlashCommand", () => {
  const form = (name: string) =>
    Object.fromEntries(new URLSearchParams(readFileSync(join(fixtures, "interactivity", name), "utf8")));

  it("reads the recorded form body as Bolt hands it over", () => {
    const parsed = parseSlashCommand(form("slash_command.bolt_python.form.txt"), "W999", 1);
    expect(parsed).toEqual({
      kind: "parsed",
      value: {
        workspaceId: "T111",
        channel: "C111",
        userId: "W111",
        hints: { userTeam: undefined, enterpriseId: "E111", fallbackName: "primary-owner" },
        text: "Hi",
        eventId: "command:111.111.xxx",
        responseUrl: "https://hooks.slack.com/commands/T111/111/xxxxx",
      },
    });
  });

  it("refuses a command without a team, ignores one without a user", () => {
    const fields = form("slash_command.bolt_python.form.txt");
    expect(parseSlashCommand({ ...fields, team_id: "" }, undefined).kind).toBe("refused");
    expect(parseSlashCommand({ ...fields, user_id: "" }, undefined).kind).toBe("ignored");
  });
});

describe("parseButtonClick", () => {
  it("reads the recorded block_actions payload: where it was clicked, by whom, and the value", () => {
    const body = json("interactivity/block_actions.payload.json");
    const action = (body.actions as unknown[])[0];
    expect(parseButtonClick(body, action)).toEqual({
      kind: "parsed",
      value: {
        workspaceId: "T111",
        channel: "C111",
        threadTs: undefined,
        userId: "W111",
        hints: { userTeam: "T111", enterpriseId: undefined, fallbackName: "primary-owner" },
        action: "a",
        value: "click_me_123",
        eventId: "action:111.222.valid",
        responseUrl: "https://hooks.slack.com/actions/T111/111/random-value",
      },
    });
  });

  it("refuses a click without the team it happened in", () => {
    const body = { ...json("interactivity/block_actions.payload.json"), team: null };
    expect(parseButtonClick(body, { action_id: "a" }).kind).toBe("refused");
  });
});
