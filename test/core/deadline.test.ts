import { getEventListeners } from "node:events";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createDeadline, followAbort, LONGEST_DEADLINE } from "../../src/core/deadline.js";

describe("createDeadline", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("aborts with its own reason when its time is up, not counting paused time", () => {
    const deadline = createDeadline(100, () => "own");
    vi.advanceTimersByTime(60);
    deadline.pause();
    vi.advanceTimersByTime(1_000);
    expect(deadline.signal.aborted).toBe(false);
    deadline.resume();
    vi.advanceTimersByTime(39);
    expect(deadline.signal.aborted).toBe(false);
    vi.advanceTimersByTime(1);
    expect(deadline.signal.reason).toBe("own");
  });

  it("follows its parent at once, paused or not, with the parent's reason", () => {
    for (const paused of [false, true]) {
      const parent = new AbortController();
      const deadline = createDeadline(100, () => "own", parent.signal);
      if (paused) deadline.pause();
      vi.advanceTimersByTime(50);
      expect(deadline.signal.aborted).toBe(false);
      const reason = new Error("parent's");
      parent.abort(reason);
      expect(deadline.signal.reason).toBe(reason);
      // Its own timer does not fire later with another reason.
      if (paused) deadline.resume();
      vi.advanceTimersByTime(1_000);
      expect(deadline.signal.reason).toBe(reason);
      deadline.dispose();
    }
  });

  it("of the longest time under a parent, is the parent: no timer, its reason at once", () => {
    const parent = new AbortController();
    const deadline = createDeadline(LONGEST_DEADLINE, () => "own", parent.signal);
    expect(vi.getTimerCount()).toBe(0);
    deadline.pause();
    deadline.resume();
    expect(deadline.signal.aborted).toBe(false);
    const reason = new Error("parent's");
    parent.abort(reason);
    expect(deadline.signal.reason).toBe(reason);
    deadline.dispose();
    // Without a parent it is a timer as any other.
    createDeadline(LONGEST_DEADLINE, () => "own");
    expect(vi.getTimerCount()).toBe(1);
  });

  it("starts aborted under a parent that already is", () => {
    const parent = new AbortController();
    parent.abort("early");
    const deadline = createDeadline(100, () => "own", parent.signal);
    expect(deadline.signal.aborted).toBe(true);
    expect(deadline.signal.reason).toBe("early");
    deadline.dispose();
  });

  it("lets go of its parent when disposed, and keeps its own reason when it ends first", () => {
    const parent = new AbortController();
    const deadline = createDeadline(100, () => "own", parent.signal);
    expect(getEventListeners(parent.signal, "abort")).toHaveLength(1);
    vi.advanceTimersByTime(100);
    expect(deadline.signal.reason).toBe("own");
    parent.abort("later");
    expect(deadline.signal.reason).toBe("own");

    const other = new AbortController();
    createDeadline(100, () => "own", other.signal).dispose();
    expect(getEventListeners(other.signal, "abort")).toHaveLength(0);
  });
});

describe("followAbort", () => {
  it("aborts the controller with the parent's reason, at once if the parent already has", () => {
    const parent = new AbortController();
    const controller = new AbortController();
    followAbort(controller, parent.signal);
    expect(controller.signal.aborted).toBe(false);
    parent.abort("parent's");
    expect(controller.signal.reason).toBe("parent's");

    const late = new AbortController();
    followAbort(late, parent.signal);
    expect(late.signal.reason).toBe("parent's");
  });

  it("keeps the controller's own reason when it aborts first, and lets go when released", () => {
    const parent = new AbortController();
    const first = new AbortController();
    followAbort(first, parent.signal);
    first.abort("own");
    const released = new AbortController();
    followAbort(released, parent.signal)();
    expect(getEventListeners(parent.signal, "abort")).toHaveLength(1);
    parent.abort("parent's");
    expect(first.signal.reason).toBe("own");
    expect(released.signal.aborted).toBe(false);
  });
});
