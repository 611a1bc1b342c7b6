import { type Command, choicesOf } from "../commands/command.js";
import type { InboundMessage } from "../ports/assistant-handler.js";
import type {
  Quota,
  QuotaPeriod,
  QuotaUnit,
  UsageStore,
  UsageSubject,
  WorkspaceRef,
} from "../ports/usage-store.js";
import type { ChannelRef } from "../types.js";
import { formatUsd } from "./model-prices.js";
import {
  formatAmount,
  formatLimit,
  QUOTA_WARNING_SHARE,
  requesterOf,
  type UsageMeter,
} from "./usage-meter.js";
import { describeRange, describeReset, type UsageRange } from "./usage-periods.js";

export interface UsageCommandsOptions {
  meter: UsageMeter;
  store: UsageStore;
  /**
   * Whether a channel an admin names in `config alerts` is one of this workspace's: a Discord bot
   * sits in many guilds, and an admin of one must not send its alerts into another. Absent: the
   * platform's token reaches only this workspace's channels anyway.
   */
  verifyChannel?: ((channel: ChannelRef) => Promise<boolean>) | undefined;
  now?: (() => number) | undefined;
}

const SUBJECT_WORDS = ["me", "channel", "workspace"] as const;
const RANGE_WORDS: readonly UsageRange[] = ["today", "week", "month"];
const QUOTA_KINDS = ["channel", "user", "workspace"] as const;

/** At most a trillion tokens or a million dollars: anything larger is a typo, not a budget. */
const MAX_TOKEN_LIMIT = 1_000_000_000_000;
const MAX_COST_LIMIT_USD = 1_000_000;

function workspaceOf(message: InboundMessage): WorkspaceRef {
  return { platform: message.platform, workspaceId: message.workspaceId };
}

export type ParsedLimit = { unit: QuotaUnit; limit: number; period: QuotaPeriod } | { error: string };

/**
 * Reads `<tokens-or-cost>/<day|month>`: `50000/day`, `50k/day`, `1.5m/month`, `$5/day`, `5 usd/month`.
 * Cost limits are kept in nano-USD, like usage.
 */
export function parseLimit(text: string): ParsedLimit {
  const match = /^(.+?)\s*\/\s*(day|month)$/i.exec(text.trim());
  if (!match)
    return { error: "Write the limit as `<amount>/day` or `<amount>/month`, e.g. `50k/day` or `$5/month`." };
  const amount = (match[1] ?? "").trim().toLowerCase();
  const period = (match[2] ?? "").toLowerCase() as QuotaPeriod;
  const cost =
    /^\$\s*(\d+(?:\.\d+)?)$/.exec(amount) ?? /^(\d+(?:\.\d+)?)\s*(?:\$|usd|dollars?)$/.exec(amount);
  if (cost) {
    const dollars = Number(cost[1]);
    if (!(dollars > 0) || dollars > MAX_COST_LIMIT_USD) {
      return {
        error: `A cost limit must be more than $0 and at most $${MAX_COST_LIMIT_USD.toLocaleString("en-US")}.`,
      };
    }
    return { unit: "cost", limit: Math.round(dollars * 1e9), period };
  }
  const tokens = /^(\d+(?:\.\d+)?)\s*([km])?\s*(?:tokens?)?$/.exec(amount);
  if (tokens) {
    const scale = tokens[2] === "k" ? 1_000 : tokens[2] === "m" ? 1_000_000 : 1;
    const limit = Math.round(Number(tokens[1]) * scale);
    if (limit < 1 || limit > MAX_TOKEN_LIMIT) {
      return { error: "A token limit must be at least 1 and at most a trillion." };
    }
    return { unit: "tokens", limit, period };
  }
  return { error: `I can't read \`${match[1]}\` as tokens (\`50000\`, \`50k\`) or dollars (\`$5\`).` };
}

/** A channel as an admin may name it: a mention (`<#C123|general>`, `<#123>`) or a bare id. */
function parseChannel(text: string): string | undefined {
  const mention = /^<#([A-Za-z0-9]+)(?:\|[^>]*)?>$/.exec(text.trim());
  if (mention) return mention[1];
  const bare = /^#?([A-Z][A-Z0-9]{6,}|\d{15,21})$/.exec(text.trim());
  return bare?.[1];
}

function describeSubject(kind: UsageSubject["kind"], id: string): string {
  if (kind === "workspace") return "the workspace";
  if (kind === "channel") return `<#${id}>`;
  return id === "" ? "each person" : `<@${id}>`;
}

function describeQuota(quota: Quota): string {
  return `• ${describeSubject(quota.subject.kind, quota.subject.id)}: ${formatLimit(quota)}`;
}

/** `usage`, `config quota` and `config alerts`. */
export function createUsageCommands(options: UsageCommandsOptions): Command[] {
  return [usageCommand(options), quotaCommand(options), alertsCommand(options)];
}

const USAGE_USAGE = "usage [me|channel|workspace] [today|week|month]";

/** `usage [me|channel|workspace] [today|week|month]`: tokens and cost, and the limits that apply. */
function usageCommand({ meter, now = Date.now }: UsageCommandsOptions): Command {
  return {
    name: "usage",
    usage: USAGE_USAGE,
    parameters: [
      {
        name: "for",
        description: "Whose usage (default: you)",
        choices: choicesOf({ me: "me", channel: "this channel", workspace: "the whole workspace (admins)" }),
      },
      {
        name: "period",
        description: "Which period (default: today, UTC)",
        choices: choicesOf({ today: "today", week: "last 7 days", month: "this month" }),
      },
    ],
    summary: "tokens and estimated cost of my LLM calls, for you, this channel or the workspace",
    adminOnly: false,
    arguments: "optional",
    visibility: "asker",
    async run({ message, args, reply }) {
      const words = args.toLowerCase().split(/\s+/).filter(Boolean);
      const subjectWord = words.find((word) => (SUBJECT_WORDS as readonly string[]).includes(word)) ?? "me";
      const range = (words.find((word) => (RANGE_WORDS as readonly string[]).includes(word)) ??
        "today") as UsageRange;
      if (words.some((word) => word !== subjectWord && word !== range)) {
        await reply.say(`Usage: \`${USAGE_USAGE}\``, "asker");
        return;
      }
      if (subjectWord === "workspace" && !message.isAdmin) {
        await reply.say("Only workspace admins can see the whole workspace's usage.", "asker");
        return;
      }
      const subject: UsageSubject =
        subjectWord === "me"
          ? { kind: "user", id: message.userId }
          : subjectWord === "channel"
            ? { kind: "channel", id: message.channelId }
            : { kind: "workspace", id: "" };
      const total = await meter.report(workspaceOf(message), subject, range);
      const who =
        subjectWord === "me" ? "you" : subjectWord === "channel" ? "this channel" : "this workspace";
      const tokens = total.promptTokens + total.completionTokens;
      const lines = [
        `Usage for ${who} ${describeRange(range)}: ${tokens.toLocaleString("en-US")} tokens ` +
          `(${total.promptTokens.toLocaleString("en-US")} prompt + ${total.completionTokens.toLocaleString("en-US")} completion) ` +
          `in ${total.calls.toLocaleString("en-US")} LLM call${total.calls === 1 ? "" : "s"}, about ${formatUsd(total.costNanoUsd)}.`,
      ];
      const at = now();
      const limits = (await meter.appliedQuotas(requesterOf(message), at)).filter(
        (applied) => applied.counted.kind === subject.kind,
      );
      for (const { quota, used } of limits) {
        const share = Math.floor((used / quota.limit) * 100);
        lines.push(
          `Limit: ${formatLimit(quota)}, ${formatAmount(quota.unit, used)} used (${share} %); resets ${describeReset(quota.period, at)}.`,
        );
      }
      await reply.say(lines.join("\n"), "asker");
    },
  };
}

const QUOTA_USAGE =
  "config quota [<channel|user|workspace> <amount>/<day|month> | <channel|user|workspace> off]";

/** `config quota`: lists the limits, or sets or removes one for a channel, each person or the workspace. */
function quotaCommand({ store, now = Date.now }: UsageCommandsOptions): Command {
  return {
    name: "config quota",
    usage: QUOTA_USAGE,
    parameters: [
      {
        name: "for",
        description: "Whom the limit applies to (leave out to see the limits in force)",
        choices: choicesOf({
          channel: "this channel",
          user: "each person",
          workspace: "the whole workspace",
        }),
      },
      { name: "limit", description: "e.g. 200000/day, $5/month, or off", maxLength: 100 },
    ],
    summary:
      "limit the tokens or dollars this channel, each person or the workspace may use per day or month",
    adminOnly: true,
    arguments: "optional",
    visibility: "asker",
    async run({ message, args, reply }) {
      const workspace = workspaceOf(message);
      const [kindWord = "", ...rest] = args.split(/\s+/).filter(Boolean);
      if (!kindWord) {
        const quotas = await store.listQuotas(workspace);
        await reply.say(
          quotas.length > 0
            ? `Limits in this workspace:\n${quotas.map(describeQuota).join("\n")}`
            : "No limits are set. Set one with `config quota channel 50k/day`, `config quota user $1/day` or `config quota workspace $100/month`.",
          "asker",
        );
        return;
      }
      const kind = kindWord.toLowerCase();
      if (!(QUOTA_KINDS as readonly string[]).includes(kind)) {
        await reply.say(`Usage: \`${QUOTA_USAGE}\``, "asker");
        return;
      }
      const subject: UsageSubject =
        kind === "channel"
          ? { kind: "channel", id: message.channelId }
          : { kind: kind as "user" | "workspace", id: "" };
      const value = rest.join(" ");
      const off = /^(off|none|remove)(?:\s+(day|month))?$/i.exec(value);
      if (off) {
        const period = off[2]?.toLowerCase() as QuotaPeriod | undefined;
        const removed = await store.removeQuota(workspace, subject, period);
        await reply.say(
          removed > 0
            ? `Removed ${removed === 1 ? "the limit" : "the limits"} on ${describeSubject(subject.kind, subject.id)}.`
            : `There was no limit on ${describeSubject(subject.kind, subject.id)} to remove.`,
          "asker",
        );
        return;
      }
      const parsed = parseLimit(value);
      if ("error" in parsed) {
        await reply.say(parsed.error, "asker");
        return;
      }
      await store.setQuota(workspace, {
        subject,
        ...parsed,
        setBy: message.userId,
        at: now(),
      });
      await reply.say(
        `Limit set: ${describeSubject(subject.kind, subject.id)} may use ${formatLimit(parsed)}. ` +
          `A request past it gets a sentence instead of an answer until the limit resets, and the alert channel hears at ${Math.round(QUOTA_WARNING_SHARE * 100)} %.`,
        "asker",
      );
    },
  };
}

/** `config alerts [#channel | here | off]`: where this workspace's alerts go. */
function alertsCommand({ store, verifyChannel }: UsageCommandsOptions): Command {
  return {
    name: "config alerts",
    usage: "config alerts [#channel | here | off]",
    parameters: [
      {
        name: "where",
        description: "A #channel, here, or off (leave out to see the setting)",
        maxLength: 100,
      },
    ],
    summary:
      "the channel where I post failing syncs, stalled workers, limits at 80 % and finished fine-tunes",
    adminOnly: true,
    arguments: "optional",
    visibility: "asker",
    async run({ message, args, reply }) {
      const workspace = workspaceOf(message);
      const value = args.trim();
      if (!value) {
        const current = await store.getAlertChannel(workspace);
        await reply.say(
          current
            ? `Alerts for this workspace go to <#${current}>.`
            : "No alert channel is set. Choose one with `config alerts #channel`, or say `config alerts here` in it.",
          "asker",
        );
        return;
      }
      if (/^off$/i.test(value)) {
        await store.setAlertChannel(workspace, undefined);
        await reply.say("Alerts are off for this workspace; they are only logged now.", "asker");
        return;
      }
      const channelId = /^here$/i.test(value) ? message.channelId : parseChannel(value);
      if (!channelId) {
        await reply.say(
          "Name the channel as a link (type `#` and pick it) or run `config alerts here` in it.",
          "asker",
        );
        return;
      }
      if (channelId !== message.channelId && verifyChannel) {
        const channel: ChannelRef = { ...workspace, channelId };
        if (!(await verifyChannel(channel).catch(() => false))) {
          await reply.say(
            `I can't use <#${channelId}>: it is not a channel of this workspace that I can see.`,
            "asker",
          );
          return;
        }
      }
      await store.setAlertChannel(workspace, channelId);
      await reply.say(`Alerts for this workspace will go to <#${channelId}>.`, "asker");
    },
  };
}
