import { AppError } from "../errors.js";
import { type Alerter, NO_ALERTS } from "../operations/alerts.js";
import type { ChatMessage, ChatRequest, LlmProvider, TokenUsage } from "../ports/llm-provider.js";
import type { Logger } from "../ports/logger.js";
import type { Quota, UsageAmount, UsageStore, UsageSubject, WorkspaceRef } from "../ports/usage-store.js";
import { countTokens, MESSAGE_OVERHEAD_TOKENS } from "../tokens.js";
import type { ChannelRef } from "../types.js";
import { costNanoUsd, formatUsd, type PriceTable, priceOf } from "./model-prices.js";
import { bucketsAt, describeReset, periodBucket, rangeBuckets, type UsageRange } from "./usage-periods.js";

/** Who a request's LLM calls are counted for: the person, in a channel, in a workspace. */
export interface Requester extends ChannelRef {
  userId: string;
}

export function requesterOf(message: Requester): Requester {
  return {
    platform: message.platform,
    workspaceId: message.workspaceId,
    channelId: message.channelId,
    userId: message.userId,
  };
}

/** A limit that applies to a requester, with the subject whose usage it is checked against. */
export interface AppliedQuota {
  quota: Quota;
  /** The counted subject: for a per-person limit, this person. */
  counted: UsageSubject;
  used: number;
}

/** One request's view of the LLM: every call recorded for the requester, the limits checked once. */
export interface MeteredRequest {
  llm: LlmProvider;
  /** The sentence for a requester over a limit, or undefined; checked once per request. */
  refusal(): Promise<string | undefined>;
}

export interface UsageMeterOptions {
  store: UsageStore;
  prices: PriceTable;
  /** Told once per limit and period when a subject passes 80 % of its limit. */
  alerts?: Alerter | undefined;
  logger: Logger;
  now?: (() => number) | undefined;
}

/** Share of a limit at which admins get one alert per period. */
export const QUOTA_WARNING_SHARE = 0.8;

function workspaceOf(requester: Requester): WorkspaceRef {
  return { platform: requester.platform, workspaceId: requester.workspaceId };
}

/** The subjects one call is counted for: the workspace, the channel and the person. */
function subjectsOf(requester: Requester): UsageSubject[] {
  return [
    { kind: "workspace", id: "" },
    { kind: "channel", id: requester.channelId },
    { kind: "user", id: requester.userId },
  ];
}

function usedOf(quota: Pick<Quota, "unit">, amount: UsageAmount): number {
  return quota.unit === "cost" ? amount.costNanoUsd : amount.promptTokens + amount.completionTokens;
}

export function formatLimit(quota: Pick<Quota, "unit" | "limit" | "period">): string {
  return `${formatAmount(quota.unit, quota.limit)}/${quota.period}`;
}

export function formatAmount(unit: Quota["unit"], value: number): string {
  return unit === "cost" ? formatUsd(value) : `${value.toLocaleString("en-US")} tokens`;
}

/** "This channel", "You", "This workspace": whose limit a refusal is about, said to the asker. */
function whoseLimit(quota: Quota): { subject: string; possessive: string; command: string } {
  if (quota.subject.kind === "channel")
    return { subject: "This channel has", possessive: "its", command: "config quota channel" };
  if (quota.subject.kind === "user")
    return { subject: "You have", possessive: "your personal", command: "config quota user" };
  return { subject: "This workspace has", possessive: "its", command: "config quota workspace" };
}

/** "<#C1>", "<@U1>", "The workspace": whose limit an alert is about, said to admins. */
function alertSubject(counted: UsageSubject): string {
  if (counted.kind === "channel") return `<#${counted.id}>`;
  if (counted.kind === "user") return `<@${counted.id}>`;
  return "The workspace";
}

/**
 * Counts every LLM call's tokens and estimated cost per workspace, channel and user in day and month
 * buckets, and enforces the limits admins set, before a request's first LLM call. Usage comes from
 * what the endpoint reported; an endpoint that reports none is counted with the tokenizer.
 */
export class UsageMeter {
  private readonly store: UsageStore;
  private readonly prices: PriceTable;
  private readonly alerts: Alerter;
  private readonly logger: Logger;
  private readonly now: () => number;

  constructor(options: UsageMeterOptions) {
    this.store = options.store;
    this.prices = options.prices;
    this.alerts = options.alerts ?? NO_ALERTS;
    this.logger = options.logger;
    this.now = options.now ?? Date.now;
  }

  /** The limits that apply to this requester, each with how much of it is used now. */
  async appliedQuotas(requester: Requester, at = this.now()): Promise<AppliedQuota[]> {
    const workspace = workspaceOf(requester);
    const quotas = await this.store.listQuotas(workspace);
    const applied: AppliedQuota[] = [];
    for (const quota of quotas) {
      const { kind, id } = quota.subject;
      let counted: UsageSubject | undefined;
      if (kind === "workspace") counted = { kind, id: "" };
      else if (kind === "channel" && id === requester.channelId) counted = quota.subject;
      else if (kind === "user" && (id === "" || id === requester.userId))
        counted = { kind, id: requester.userId };
      if (!counted) continue;
      const [amount] = await this.store.read(workspace, counted, [periodBucket(quota.period, at)]);
      applied.push({ quota, counted, used: amount ? usedOf(quota, amount) : 0 });
    }
    return applied;
  }

  /** The sentence for a requester who reached a limit (the first one found), or undefined. */
  async refusal(requester: Requester): Promise<string | undefined> {
    const at = this.now();
    let applied: AppliedQuota[];
    try {
      applied = await this.appliedQuotas(requester, at);
    } catch (error) {
      // A store outage must not silence everyone (the memory-down path answers and says so): the
      // limit is not enforced while its counts cannot be read, and the log says so once per request.
      this.logger.warn({ err: error }, "usage limits not checked: the usage store failed");
      return undefined;
    }
    const reached = applied.find((entry) => entry.used >= entry.quota.limit);
    if (!reached) return undefined;
    const { quota, used } = reached;
    const who = whoseLimit(quota);
    return (
      `${who.subject} used ${formatAmount(quota.unit, used)} of ${who.possessive} limit of ` +
      `${formatAmount(quota.unit, quota.limit)} ${quota.period === "day" ? "for today" : "for this month"}, ` +
      `so I won't ask the language model until it resets ${describeReset(quota.period, at)}. ` +
      `An admin can change the limit with \`${who.command} <amount>/${quota.period}\`.`
    );
  }

  /** Wraps the LLM for one request; the first call throws `quota_exceeded` with the refusal sentence. */
  forRequest(llm: LlmProvider, requester: Requester): MeteredRequest {
    let checked: Promise<string | undefined> | undefined;
    const refusal = () => {
      checked ??= this.refusal(requester);
      return checked;
    };
    const ensureAllowed = async () => {
      const sentence = await refusal();
      if (sentence) {
        throw new AppError("quota_exceeded", "usage limit reached", {
          category: "user",
          userMessage: sentence,
        });
      }
    };
    const meter = this;
    const metered: LlmProvider = {
      get defaultModel() {
        return llm.defaultModel;
      },
      get embeddingModel() {
        return llm.embeddingModel;
      },
      async *stream(request: ChatRequest) {
        await ensureAllowed();
        let text = "";
        for await (const part of llm.stream(request)) {
          if (part.type === "text-delta") text += part.text;
          else if (part.type === "tool-call") text += part.call.name + part.call.arguments;
          else await meter.record(requester, part.model, part.usage ?? estimateUsage(request.messages, text));
          yield part;
        }
      },
      async complete(request: ChatRequest) {
        await ensureAllowed();
        const completion = await llm.complete(request);
        await meter.record(
          requester,
          completion.model,
          completion.usage ?? estimateUsage(request.messages, completion.text),
        );
        return completion;
      },
      embed: (texts, signal) => llm.embed(texts, signal),
    };
    return { llm: metered, refusal };
  }

  /**
   * Adds one call to the requester's workspace, channel and personal buckets, then warns admins once
   * per period about any limit past 80 %. A store failure is logged, not thrown: the answer the user
   * is waiting for matters more than its bookkeeping.
   */
  async record(requester: Requester, model: string, usage: TokenUsage): Promise<void> {
    const at = this.now();
    const amount: UsageAmount = {
      promptTokens: usage.promptTokens,
      completionTokens: usage.completionTokens,
      costNanoUsd: costNanoUsd(priceOf(model, this.prices), usage.promptTokens, usage.completionTokens),
      calls: 1,
    };
    try {
      await this.store.add(workspaceOf(requester), subjectsOf(requester), bucketsAt(at), amount);
      await this.warnNearLimits(requester, at);
    } catch (error) {
      this.logger.error({ err: error, model }, "could not record LLM usage");
    }
  }

  /** A subject's figures over a range, summed. */
  async report(workspace: WorkspaceRef, subject: UsageSubject, range: UsageRange): Promise<UsageAmount> {
    const amounts = await this.store.read(workspace, subject, rangeBuckets(range, this.now()));
    return amounts.reduce(
      (sum, amount) => ({
        promptTokens: sum.promptTokens + amount.promptTokens,
        completionTokens: sum.completionTokens + amount.completionTokens,
        costNanoUsd: sum.costNanoUsd + amount.costNanoUsd,
        calls: sum.calls + amount.calls,
      }),
      { promptTokens: 0, completionTokens: 0, costNanoUsd: 0, calls: 0 },
    );
  }

  private async warnNearLimits(requester: Requester, at: number): Promise<void> {
    for (const { quota, counted, used } of await this.appliedQuotas(requester, at)) {
      if (used < quota.limit * QUOTA_WARNING_SHARE) continue;
      const share = Math.floor((used / quota.limit) * 100);
      await this.alerts.alert({
        kind: "quota_warning",
        workspace: workspaceOf(requester),
        text:
          `${alertSubject(counted)} has used ${share} % of ${quota.subject.kind === "user" && quota.subject.id === "" ? "the per-person" : "its"} ` +
          `limit of ${formatLimit(quota)} (${formatAmount(quota.unit, used)} so far); it resets ${describeReset(quota.period, at)}.`,
        onceKey: `quota:${counted.kind}:${counted.id}:${quota.unit}:${periodBucket(quota.period, at)}`,
      });
    }
  }
}

/** For endpoints that report no usage (some local servers): the tokenizer's count. */
function estimateUsage(messages: ChatMessage[], output: string): TokenUsage {
  return {
    promptTokens: messages.reduce(
      (sum, message) => sum + countTokens(message.content ?? "") + MESSAGE_OVERHEAD_TOKENS,
      0,
    ),
    completionTokens: countTokens(output),
  };
}
