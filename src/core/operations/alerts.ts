import type { Logger } from "../ports/logger.js";
import type { Notifier } from "../ports/notifier.js";
import type { UsageStore, WorkspaceRef } from "../ports/usage-store.js";

/** What went wrong (or right) that a workspace's admins should hear about where they are. */
type AlertKind = "sync_failed" | "worker_stalled" | "quota_warning" | "fine_tune_finished";

interface Alert {
  kind: AlertKind;
  /** Whose admins hear it: the alert goes to the channel chosen with `config alerts` there. */
  workspace: WorkspaceRef;
  /** One or two sentences for admins. Ids and names only: no message text, no secrets. */
  text: string;
  /**
   * Posts at most once per key, across processes: a quota warning once per limit and period, a stalled
   * job once however many workers noticed it. Without a key every call posts.
   */
  onceKey?: string | undefined;
}

/**
 * The one place operational alerts go through. Sources that fail to sync, the job queue when a worker
 * stalls, the usage meter at 80 % of a limit and fine-tuning when a model is ready all call `alert`.
 */
export interface Alerter {
  /** Resolves true when a message was posted. Never throws: an alert must not break the work it reports on. */
  alert(alert: Alert): Promise<boolean>;
}

export const NO_ALERTS: Alerter = { alert: async () => false };

export interface AlerterOptions {
  channels: Pick<UsageStore, "getAlertChannel">;
  notifier: Notifier;
  /** Claims a key once for `ttlSeconds`, across processes (the memory store's `claimEvent`). */
  claimOnce: (key: string, ttlSeconds: number) => Promise<boolean>;
  logger: Logger;
}

const ICONS: Record<AlertKind, string> = {
  sync_failed: "⚠️",
  worker_stalled: "🧊",
  quota_warning: "📈",
  fine_tune_finished: "🎓",
};

/** How long a once-key is remembered: longer than the longest period a key names (a month). */
const ONCE_TTL_SECONDS = 40 * 24 * 60 * 60;

export function createAlerter(options: AlerterOptions): Alerter {
  const { channels, notifier, claimOnce, logger } = options;
  return {
    async alert(alert: Alert): Promise<boolean> {
      const log = logger.child({ alert: alert.kind, platform: alert.workspace.platform });
      try {
        const channelId = await channels.getAlertChannel(alert.workspace);
        if (!channelId) {
          log.info({ workspace: alert.workspace.workspaceId }, "no alert channel set; alert only logged");
          return false;
        }
        if (alert.onceKey !== undefined) {
          const key = `alert:${alert.workspace.platform}:${alert.workspace.workspaceId}:${alert.onceKey}`;
          if (!(await claimOnce(key, ONCE_TTL_SECONDS))) return false;
        }
        await notifier.post(
          { platform: alert.workspace.platform, workspaceId: alert.workspace.workspaceId, channelId },
          `${ICONS[alert.kind]} ${alert.text}`,
        );
        return true;
      } catch (error) {
        log.warn({ err: error }, "could not post an alert");
        return false;
      }
    },
  };
}
