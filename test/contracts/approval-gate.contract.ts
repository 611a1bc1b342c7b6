import { afterEach, describe, expect, it } from "vitest";
import type {
  ApprovalGate,
  ApprovalRequest,
  DecideResult,
  Decider,
} from "../../src/core/ports/approval-gate.js";
import type { ChannelRef } from "../../src/core/types.js";

/**
 * Two ends of one gate: `opener` is where the agent waits, `decider` where the click lands. For the
 * in-memory gate both are the same object; for Redis they may be two connections, as two bot
 * processes would have.
 */
interface ApprovalGateFixture {
  opener: ApprovalGate;
  decider: ApprovalGate;
  cleanup(): Promise<void>;
}

export type ApprovalGateFactory = (options: { timeoutMs: number }) => Promise<ApprovalGateFixture>;

const place: ChannelRef = { platform: "slack", workspaceId: "T1", channelId: "C1" };

const request: ApprovalRequest = {
  toolName: "remember",
  risk: "write",
  argumentsPreview: '{"text":"x"}',
  conversation: { ...place, threadId: "1700000000.000100" },
  askerId: "U-asker",
};

function clicker(userId: string, where: ChannelRef = place, admin = false) {
  let asked = 0;
  const decider: Decider = {
    userId,
    place: where,
    isAdmin: async () => {
      asked += 1;
      return admin;
    },
  };
  return { decider, adminAsked: () => asked };
}

/** Runs the ApprovalGate contract against one implementation. */
export function runApprovalGateContract(name: string, create: ApprovalGateFactory): void {
  describe(`ApprovalGate contract: ${name}`, () => {
    const fixtures: ApprovalGateFixture[] = [];
    async function gates(timeoutMs = 60_000): Promise<ApprovalGateFixture> {
      const fixture = await create({ timeoutMs });
      fixtures.push(fixture);
      return fixture;
    }

    afterEach(async () => {
      await Promise.all(fixtures.splice(0).map((fixture) => fixture.cleanup()));
    });

    it("settles once with the first decision; a later click and an unknown id find nothing waiting", async () => {
      const { opener, decider } = await gates();
      const before = Date.now();
      const pending = await opener.open(request);
      expect(pending.expiresAt).toBeGreaterThanOrEqual(before + 60_000);
      expect(pending.expiresAt).toBeLessThanOrEqual(Date.now() + 60_000);

      expect(await decider.decide(pending.id, clicker("U-asker").decider, false)).toEqual({
        status: "denied",
        message: "Denied: remember will not run.",
      });
      expect(await pending.decision).toEqual({ outcome: "denied", deciderId: "U-asker" });
      expect((await decider.decide(pending.id, clicker("U-asker").decider, true)).status).toBe("not_found");
      expect((await opener.decide(pending.id, clicker("U-asker").decider, true)).status).toBe("not_found");
      expect((await decider.decide("unknown", clicker("U-asker").decider, true)).status).toBe("not_found");
    });

    it("tells the approver what runs, and the waiting agent who approved", async () => {
      const { opener, decider } = await gates();
      const pending = await opener.open(request);
      expect(await decider.decide(pending.id, clicker("U-asker").decider, true)).toEqual({
        status: "approved",
        message: "Approved: running remember.",
      });
      expect(await pending.decision).toEqual({ outcome: "approved", deciderId: "U-asker" });
    });

    it("refuses a bystander and leaves the request waiting; an admin of the workspace may decide", async () => {
      const { opener, decider } = await gates();
      const pending = await opener.open(request);
      const bystander = clicker("U-bystander");
      expect(await decider.decide(pending.id, bystander.decider, true)).toEqual({
        status: "forbidden",
        message: "Only the person who asked, or an admin, can approve or deny this action.",
      });
      expect(bystander.adminAsked()).toBe(1);
      const admin = clicker("U-admin", place, true);
      expect(await decider.decide(pending.id, admin.decider, true)).toMatchObject({ status: "approved" });
      expect(await pending.decision).toEqual({ outcome: "approved", deciderId: "U-admin" });
    });

    it("does not ask whether the asker is an admin", async () => {
      const { opener, decider } = await gates();
      const pending = await opener.open(request);
      const asker = clicker("U-asker");
      await decider.decide(pending.id, asker.decider, true);
      expect(asker.adminAsked()).toBe(0);
    });

    it("counts a click only where the request was shown: another channel, workspace or platform finds nothing", async () => {
      const { opener, decider } = await gates();
      const pending = await opener.open(request);
      const elsewhere: ChannelRef[] = [
        { ...place, channelId: "C-elsewhere" },
        { ...place, workspaceId: "T-another" },
        { ...place, platform: "discord" },
      ];
      for (const where of elsewhere) {
        const admin = clicker("U-asker", where, true);
        expect((await decider.decide(pending.id, admin.decider, true)).status).toBe("not_found");
        expect(admin.adminAsked()).toBe(0);
      }
      // Still waiting where it was shown.
      expect(await decider.decide(pending.id, clicker("U-asker").decider, false)).toMatchObject({
        status: "denied",
      });
      expect(await pending.decision).toEqual({ outcome: "denied", deciderId: "U-asker" });
    });

    it("lets exactly one of racing clicks win, from whichever end they come", async () => {
      const { opener, decider } = await gates();
      for (let round = 0; round < 10; round += 1) {
        const pending = await opener.open(request);
        const results: DecideResult[] = await Promise.all([
          decider.decide(pending.id, clicker("U-asker").decider, true),
          opener.decide(pending.id, clicker("U-asker").decider, false),
          decider.decide(pending.id, clicker("U-admin", place, true).decider, false),
          opener.decide(pending.id, clicker("U-admin", place, true).decider, true),
        ]);
        const winners = results.filter((result) => result.status !== "not_found");
        expect(winners).toHaveLength(1);
        const decision = await pending.decision;
        expect(decision.outcome).toBe(winners[0]?.status);
      }
    });

    it("a click whose admin check was still running when another decision landed finds nothing waiting", async () => {
      const { opener, decider } = await gates();
      const pending = await opener.open(request);
      let releaseAdmin!: (admin: boolean) => void;
      const slowAdmin: Decider = {
        userId: "U-admin",
        place,
        isAdmin: () =>
          new Promise<boolean>((resolve) => {
            releaseAdmin = resolve;
          }),
      };
      const slow = decider.decide(pending.id, slowAdmin, true);
      await expect.poll(() => releaseAdmin !== undefined).toBe(true);
      expect((await opener.decide(pending.id, clicker("U-asker").decider, false)).status).toBe("denied");
      releaseAdmin(true);
      expect((await slow).status).toBe("not_found");
      expect(await pending.decision).toEqual({ outcome: "denied", deciderId: "U-asker" });
    });

    it("counts silence until the time limit as a denial; a late click runs nothing", async () => {
      const { opener, decider } = await gates(300);
      const pending = await opener.open(request);
      expect(await pending.decision).toEqual({ outcome: "timed_out" });
      expect((await decider.decide(pending.id, clicker("U-asker").decider, true)).status).toBe("not_found");
    });

    it("ends the wait as timed out when the turn is cancelled, and a click afterwards finds nothing", async () => {
      const { opener, decider } = await gates();
      const controller = new AbortController();
      const pending = await opener.open(request, controller.signal);
      controller.abort();
      expect(await pending.decision).toEqual({ outcome: "timed_out" });
      expect((await decider.decide(pending.id, clicker("U-asker").decider, true)).status).toBe("not_found");

      const already = new AbortController();
      already.abort();
      const never = await opener.open(request, already.signal);
      expect(await never.decision).toEqual({ outcome: "timed_out" });
    });

    it("keeps requests apart: deciding one leaves another waiting", async () => {
      const { opener, decider } = await gates();
      const first = await opener.open(request);
      const second = await opener.open({ ...request, toolName: "fetch_url", askerId: "U-other" });
      expect(first.id).not.toBe(second.id);
      expect(await decider.decide(second.id, clicker("U-other").decider, true)).toEqual({
        status: "approved",
        message: "Approved: running fetch_url.",
      });
      expect(await second.decision).toEqual({ outcome: "approved", deciderId: "U-other" });
      // The first is still waiting, and still only for its own asker.
      expect((await decider.decide(first.id, clicker("U-other").decider, true)).status).toBe("forbidden");
      expect((await decider.decide(first.id, clicker("U-asker").decider, false)).status).toBe("denied");
      expect(await first.decision).toEqual({ outcome: "denied", deciderId: "U-asker" });
    });
  });
}
