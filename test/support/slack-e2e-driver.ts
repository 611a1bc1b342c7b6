import type { Config } from "../../src/config.js";
import { type StartBotOptions, startBot } from "../../src/main.js";
import { recordingLogger, waitFor } from "./e2e-helpers.js";
import { postSignedToSlackReceiver } from "./slack-signing.js";
import type { SlackStandIn, StoredMessage } from "./slack-stand-in.js";

export interface SlackButton {
  action_id: string;
  value: string;
  style?: string;
  text: { text: string };
}

/** The buttons of a stored message (approval requests, answers' 👍 / 👎 / Show sources). */
export function buttonsOf(message: StoredMessage | { blocks?: unknown }): SlackButton[] {
  const blocks = (message.blocks ?? []) as Array<{ type: string; elements?: SlackButton[] }>;
  return blocks.filter((block) => block.type === "actions").flatMap((block) => block.elements ?? []);
}

/**
 * Drives a running bot the way Slack does: signed events, slash commands and button clicks posted
 * to `/slack/events`, with private replies read back from the stand-in's `response_url` records.
 * Every request names its workspace, so tests can play members of other workspaces too.
 */
export class SlackDriver {
  private sequence = 0;

  constructor(
    private readonly slack: SlackStandIn,
    private readonly eventsUrl: string,
    private readonly signingSecret: string,
    private readonly prefix: string,
  ) {}

  post(body: string, contentType?: "application/x-www-form-urlencoded") {
    return postSignedToSlackReceiver({
      url: this.eventsUrl,
      signingSecret: this.signingSecret,
      body,
      ...(contentType ? { contentType } : {}),
    });
  }

  nextTs(): string {
    this.sequence += 1;
    return `17100${String(10_000 + this.sequence)}.000100`;
  }

  /**
   * A top-level `app_mention` (or a reply in `threadTs`); returns the thread it answers in.
   * `envelope` changes the outer event (drop `team_id`), `event` adds fields (`user_team`, `files`).
   */
  async mention(options: {
    text: string;
    user: string;
    channel: string;
    team?: string | undefined;
    threadTs?: string;
    event?: Record<string, unknown>;
    envelope?: Record<string, unknown>;
  }): Promise<string> {
    const ts = this.nextTs();
    const team = options.team ?? "T111";
    const response = await this.post(
      JSON.stringify({
        token: "verification_token",
        team_id: team,
        api_app_id: "A111",
        event: {
          type: "app_mention",
          user: options.user,
          text: `<@UBOT> ${options.text}`,
          ts,
          channel: options.channel,
          event_ts: ts,
          ...(options.threadTs ? { thread_ts: options.threadTs } : {}),
          ...options.event,
        },
        type: "event_callback",
        event_id: `Ev${this.prefix}${this.sequence}`,
        event_time: Math.floor(Date.now() / 1000),
        authorizations: [{ team_id: team, user_id: "UBOT", is_bot: true, is_enterprise_install: false }],
        ...options.envelope,
      }),
    );
    if (response.status !== 200) throw new Error(`Slack receiver answered ${response.status}`);
    return options.threadTs ?? ts;
  }

  /**
   * `/teammate <text>`; resolves with what it said, privately (response_url) or in the channel (a
   * new top-level message), once that text matches `until` (by default: once anything was said).
   */
  async command(options: {
    text: string;
    user: string;
    channel: string;
    team?: string;
    fields?: Record<string, string>;
    until?: RegExp;
  }): Promise<string> {
    this.sequence += 1;
    const responseId = `${this.prefix}-command-${this.sequence}`;
    const before = new Set(this.slack.messages);
    const response = await this.post(
      new URLSearchParams({
        token: "verification_token",
        team_id: options.team ?? "T111",
        team_domain: "stand-in",
        channel_id: options.channel,
        channel_name: "general",
        user_id: options.user,
        user_name: options.user.toLowerCase(),
        command: "/teammate",
        text: options.text,
        response_url: this.slack.responseUrl(responseId),
        trigger_id: `trigger.${responseId}`,
        ...options.fields,
      }).toString(),
      "application/x-www-form-urlencoded",
    );
    if (response.status !== 200) throw new Error(`Slack receiver answered ${response.status}`);
    let said = "";
    await waitFor(
      () => {
        const privately = this.slack.responseUrlPosts
          .filter((entry) => entry.id === responseId)
          .map((entry) => String(entry.body.text));
        const inChannel = this.slack.messages
          .filter(
            (message) =>
              !before.has(message) &&
              !message.deleted &&
              message.channel === options.channel &&
              message.threadTs === undefined,
          )
          .map((message) => message.text);
        said = [...privately, ...inChannel].join("\n");
        return options.until ? options.until.test(said) : said !== "";
      },
      `the reply to "${options.text}"${options.until ? ` matching ${options.until}` : ""}`,
    );
    return said;
  }

  /** A button click from any workspace and channel; resolves with its private reply's text. */
  async click(options: {
    user: string;
    actionId: string;
    value: string;
    channel: string;
    team?: string;
    userTeam?: string;
    threadTs?: string | undefined;
    messageTs?: string;
  }): Promise<string> {
    this.sequence += 1;
    const responseId = `${this.prefix}-click-${this.sequence}`;
    const team = options.team ?? "T111";
    const messageTs = options.messageTs ?? this.nextTs();
    const response = await this.post(
      new URLSearchParams({
        payload: JSON.stringify({
          type: "block_actions",
          user: {
            id: options.user,
            username: options.user,
            name: options.user,
            team_id: options.userTeam ?? team,
          },
          api_app_id: "A111",
          token: "verification_token",
          container: {
            type: "message",
            message_ts: messageTs,
            channel_id: options.channel,
            is_ephemeral: false,
          },
          trigger_id: `trigger.${responseId}`,
          team: { id: team, domain: "stand-in" },
          channel: { id: options.channel, name: "general" },
          message: {
            ts: messageTs,
            ...(options.threadTs ? { thread_ts: options.threadTs } : {}),
            text: "a message with buttons",
          },
          response_url: this.slack.responseUrl(responseId),
          actions: [
            {
              action_id: options.actionId,
              block_id: "actions",
              type: "button",
              value: options.value,
              action_ts: `${Date.now() / 1000}`,
            },
          ],
        }),
      }).toString(),
      "application/x-www-form-urlencoded",
    );
    if (response.status !== 200) throw new Error(`Slack receiver answered ${response.status}`);
    return this.responseTextOrChannel(responseId, options.channel, options.threadTs);
  }

  /** A click's reply goes privately (refusals) or into the thread (Approved: …); whichever comes first. */
  private async responseTextOrChannel(
    responseId: string,
    channel: string,
    threadTs: string | undefined,
  ): Promise<string> {
    const before = new Set(this.slack.messages);
    let found = "";
    await waitFor(() => {
      const privately = this.slack.responseUrlPosts.filter((entry) => entry.id === responseId);
      if (privately.length > 0) {
        found = privately.map((entry) => String(entry.body.text)).join("\n");
        return true;
      }
      const posted = this.slack.messages.filter(
        (message) =>
          !before.has(message) &&
          message.channel === channel &&
          (threadTs === undefined || message.threadTs === threadTs) &&
          /^(Approved|Denied)/.test(message.text),
      );
      if (posted.length > 0) {
        found = posted.map((message) => message.text).join("\n");
        return true;
      }
      return false;
    }, `the reply to click ${responseId}`);
    return found;
  }

  /** What one person was shown privately (ephemeral messages) in a channel, oldest first. */
  ephemeralTexts(channel: string, user: string): string[] {
    return this.slack.messages
      .filter(
        (message) =>
          message.kind === "ephemeral" && message.channel === channel && message.visibleTo === user,
      )
      .map((message) => message.text);
  }

  /** Every visible and private text of a thread, for "was it said?" checks. */
  threadText(channel: string, threadTs: string): string {
    return this.slack.messages
      .filter((message) => message.channel === channel && message.threadTs === threadTs && !message.deleted)
      .map((message) => `${message.text}\n${JSON.stringify(message.blocks)}`)
      .join("\n");
  }

  /** The approval request in a thread, once posted, and its id. */
  approvalIn(channel: string, threadTs: string): { message: StoredMessage; approvalId: string } | undefined {
    const message = this.slack
      .visibleMessages(channel, threadTs)
      .find((candidate) => buttonsOf(candidate).some((button) => button.action_id === "approve-tool"));
    if (!message) return undefined;
    return { message, approvalId: buttonsOf(message)[0]?.value ?? "" };
  }

  /** Whether the thread's answer is complete (no stream open, final text shown). */
  answered(channel: string, threadTs: string, fragment: string | RegExp): boolean {
    const text = this.threadText(channel, threadTs);
    const found = typeof fragment === "string" ? text.includes(fragment) : fragment.test(text);
    return found && !this.slack.messages.some((message) => message.streaming);
  }
}

export interface SlackBot {
  stop(): Promise<void>;
  /** `http://127.0.0.1:<port>`: Bolt's receiver, with `/slack/events` and the custom routes. */
  origin: string;
  logs: Array<Record<string, unknown>>;
}

/** `startBot` in Slack HTTP mode on a free port, and where it listens. */
export async function startSlackBot(config: Config, options: StartBotOptions = {}): Promise<SlackBot> {
  const logs: Array<Record<string, unknown>> = [];
  const bot = await startBot(config, recordingLogger(logs), options);
  const port = logs.find((entry) => entry.message === "slack listening")?.port;
  if (typeof port !== "number") throw new Error("the bot did not log its Slack port");
  return { stop: () => bot.stop(), origin: `http://127.0.0.1:${port}`, logs };
}
