import type { App, types as slackTypes } from "@slack/bolt";
import { newReferenceId } from "../../core/errors.js";

type AppHomeOpenedEvent = slackTypes.AppHomeOpenedEvent;
type KnownBlock = slackTypes.KnownBlock;

import type { InboundMessage } from "../../core/ports/assistant-handler.js";
import type { Logger } from "../../core/ports/logger.js";
import type { ReplyFinish, ReplySink, ReplyStart } from "../../core/ports/reply-sink.js";
import { slackWorkspaceOf } from "./slack-event-parser.js";
import { renderMrkdwnPieces } from "./slack-message-format.js";
import type { SlackSurfaceContext } from "./slack-surface-context.js";
import { slackErrorCode } from "./summarize-slack-error.js";

/**
 * The App Home tab's three parts, each the answer core gives to one of its own commands, so the tab
 * says exactly what the same person would be told in chat: `help` (what teammate can do, from core's
 * command list, admin commands only for admins), `docs` (the sources and documents visible from the
 * person's DM with teammate: workspace-wide ones and that DM's own, never another channel's) and
 * `usage me` (the person's own usage and limits, from the UsageMeter).
 */
const HOME_SECTIONS = [
  { command: "help", heading: "What I can do" },
  { command: "docs", heading: "What I answer from" },
  { command: "usage me", heading: "Your usage" },
] as const;

/** Slack's limit for a home tab. */
const HOME_BLOCK_LIMIT = 100;
/**
 * Characters of one part that are rendered (about 22 sections): a workspace with thousands of
 * documents gets a bounded amount of conversion work and a tab Slack accepts, plus a pointer to `docs`.
 */
const PART_TEXT_LIMIT = 60_000;
const MORE_NOTE = "More than fits here: message me `help` or `docs` for the rest.";

/**
 * A sink that keeps what core says instead of posting it: the home tab is one view published at the
 * end, not a conversation. Status lines are dropped; a failure's sentence is kept as the text.
 */
class CapturingSink implements ReplySink {
  text = "";
  finished = false;

  async start(_options: ReplyStart): Promise<void> {}
  async append(text: string): Promise<void> {
    this.text += text;
  }
  async status(_line: string): Promise<void> {}
  async finish(_result: ReplyFinish): Promise<void> {
    this.finished = true;
  }
  async fail(message: string): Promise<void> {
    this.text = message;
    this.finished = true;
  }
}

/** The home view: a header per part and its text as mrkdwn sections, within Slack's limits. */
export function renderHomeView(parts: Array<{ heading: string; text: string }>): {
  type: "home";
  blocks: KnownBlock[];
} {
  const blocks: KnownBlock[] = [];
  const more: KnownBlock = { type: "context", elements: [{ type: "mrkdwn", text: MORE_NOTE }] };
  for (const [index, part] of parts.entries()) {
    if (index > 0) blocks.push({ type: "divider" });
    blocks.push({ type: "header", text: { type: "plain_text", text: part.heading } });
    const cut = part.text.length > PART_TEXT_LIMIT ? part.text.lastIndexOf("\n", PART_TEXT_LIMIT) : -1;
    const shown =
      part.text.length > PART_TEXT_LIMIT ? part.text.slice(0, cut > 0 ? cut : PART_TEXT_LIMIT) : part.text;
    for (const piece of renderMrkdwnPieces(shown)) {
      blocks.push({ type: "section", text: { type: "mrkdwn", text: piece } });
    }
    if (shown.length < part.text.length) blocks.push(more);
  }
  if (blocks.length > HOME_BLOCK_LIMIT) {
    blocks.length = HOME_BLOCK_LIMIT - 1;
    blocks.push(more);
  }
  return { type: "home", blocks };
}

/**
 * `app_home_opened` → `views.publish`. The person is named from the event (Slack signs it), their
 * privileges looked up like any actor's, and the parts asked of core in their DM with teammate, so
 * scopes are core's own.
 */
export function registerAppHome(app: App, context: SlackSurfaceContext): void {
  const publish = async (body: Record<string, unknown>, event: AppHomeOpenedEvent): Promise<void> => {
    if (event.tab !== "home") return;
    const workspaceId = slackWorkspaceOf(body);
    if (!workspaceId) {
      context.logger.warn({ user: event.user }, "slack app_home_opened without a workspace id refused");
      return;
    }
    const eventLogger: Logger = context.logger.child({ eventId: body.event_id, surface: "home" });
    let parts: Array<{ heading: string; text: string }>;
    try {
      parts = await askCore(body, event, workspaceId);
    } catch (error) {
      // The tab is the only place to say it: an apology with a reference instead of a stale tab.
      const reference = newReferenceId();
      eventLogger.error({ err: error, referenceId: reference }, "slack home tab could not be built");
      parts = [
        {
          heading: "teammate",
          text: `Sorry, I could not load this tab just now (ref ${reference}). Open it again in a moment, or message me \`help\`.`,
        },
      ];
    }
    // A re-delivered event was answered already (core answers each delivery once): keep that tab.
    if (parts.length === 0) return;
    try {
      await context.client.views.publish({ user_id: event.user, view: renderHomeView(parts) });
    } catch (error) {
      eventLogger.warn({ code: slackErrorCode(error) }, "slack home tab not published");
    }
  };

  const askCore = async (
    body: Record<string, unknown>,
    event: AppHomeOpenedEvent,
    workspaceId: string,
  ): Promise<Array<{ heading: string; text: string }>> => {
    const actor = await context.actorOf(event.user, workspaceId, {});
    const deliveryId = typeof body.event_id === "string" ? body.event_id : `${event.user}:${event.event_ts}`;
    const parts: Array<{ heading: string; text: string }> = [];
    for (const section of HOME_SECTIONS) {
      const sink = new CapturingSink();
      const message: InboundMessage = {
        platform: "slack",
        workspaceId,
        channelId: event.channel,
        threadId: undefined,
        ...actor,
        text: section.command,
        attachments: [],
        eventId: `home:${deliveryId}:${section.command}`,
        isCommand: true,
        addressedBy: "command",
      };
      await context.assistant.handle(message, sink);
      if (sink.text.trim() !== "") parts.push({ heading: section.heading, text: sink.text });
    }
    return parts;
  };

  app.event("app_home_opened", async ({ body, event }) => {
    await context.track(() => publish(body as unknown as Record<string, unknown>, event));
  });
}
