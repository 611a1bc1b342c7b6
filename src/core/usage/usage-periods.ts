import type { QuotaPeriod, UsageBucket } from "../ports/usage-store.js";

/**
 * The calendar of usage figures: UTC days and UTC months, so every process and every admin sees the
 * same buckets and the same reset time whatever their time zone.
 */
export type UsageRange = "today" | "week" | "month";

const DAY_MS = 24 * 60 * 60 * 1_000;
/** Day buckets back a week's figure and a daily limit; kept a little over a month. */
const KEEP_DAY_SECONDS = 40 * 24 * 60 * 60;
/** Month buckets back a monthly limit and last month's figure; kept a little over a year. */
const KEEP_MONTH_SECONDS = 400 * 24 * 60 * 60;

function dayBucket(at: number): string {
  return `day:${new Date(at).toISOString().slice(0, 10)}`;
}

function monthBucket(at: number): string {
  return `month:${new Date(at).toISOString().slice(0, 7)}`;
}

/** The buckets one LLM call at `at` is added to. */
export function bucketsAt(at: number): UsageBucket[] {
  return [
    { name: dayBucket(at), keepSeconds: KEEP_DAY_SECONDS },
    { name: monthBucket(at), keepSeconds: KEEP_MONTH_SECONDS },
  ];
}

/** The bucket a limit of this period is checked against. */
export function periodBucket(period: QuotaPeriod, at: number): string {
  return period === "day" ? dayBucket(at) : monthBucket(at);
}

/** The buckets whose sum is a range's figure: today, the last seven days (today included), this month. */
export function rangeBuckets(range: UsageRange, at: number): string[] {
  if (range === "today") return [dayBucket(at)];
  if (range === "month") return [monthBucket(at)];
  return Array.from({ length: 7 }, (_, daysAgo) => dayBucket(at - daysAgo * DAY_MS));
}

/** When a limit of this period starts counting from zero again (epoch milliseconds). */
function resetsAt(period: QuotaPeriod, at: number): number {
  const now = new Date(at);
  return period === "day"
    ? Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1)
    : Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1);
}

const MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];

/** "at 00:00 UTC (in 3 h 12 min)" for tomorrow, "on 1 April at 00:00 UTC (in 16 days)" otherwise. */
export function describeReset(period: QuotaPeriod, at: number): string {
  const reset = resetsAt(period, at);
  const left = reset - at;
  const totalMinutes = Math.max(1, Math.ceil(left / 60_000));
  const hours = Math.floor(totalMinutes / 60);
  const minutes = totalMinutes % 60;
  const wait =
    left >= 2 * DAY_MS
      ? `${Math.round(left / DAY_MS)} days`
      : hours === 0
        ? `${minutes} min`
        : minutes === 0
          ? `${hours} h`
          : `${hours} h ${minutes} min`;
  if (period === "day") return `at 00:00 UTC (in ${wait})`;
  const date = new Date(reset);
  return `on ${date.getUTCDate()} ${MONTHS[date.getUTCMonth()]} at 00:00 UTC (in ${wait})`;
}

export function describeRange(range: UsageRange): string {
  return range === "today" ? "today (UTC)" : range === "week" ? "in the last 7 days" : "this month (UTC)";
}
