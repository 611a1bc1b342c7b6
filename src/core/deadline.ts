/**
 * A time limit that can be paused: the time a person takes to click Approve is not the answer being
 * slow. Nested pauses are counted (parallel approvals each pause it). When the time is up, `signal`
 * aborts with the reason given, which is what callers waiting on it throw. With a `parent`, `signal`
 * also aborts, paused or not, as soon as the parent does and with the parent's reason, as
 * `AbortSignal.any([parent, signal])` would.
 */
export interface Deadline {
  readonly signal: AbortSignal;
  pause(): void;
  resume(): void;
  dispose(): void;
}

export function createDeadline(milliseconds: number, reason: () => unknown, parent?: AbortSignal): Deadline {
  const controller = new AbortController();
  // A listener on the parent rather than AbortSignal.any: Node links a composite signal and its
  // sources through WeakRefs, whose targets a scavenge keeps alive, so each message's signals would
  // be copied by every minor GC they meet until a full one.
  const followParent = () => {
    clearTimeout(timer);
    controller.abort(parent?.reason);
  };
  let remaining = milliseconds;
  let runningSince = performance.now();
  let pauses = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = () => {
    if (remaining <= 0) controller.abort(reason());
    else timer = setTimeout(() => controller.abort(reason()), remaining);
  };
  if (parent?.aborted) controller.abort(parent.reason);
  else {
    parent?.addEventListener("abort", followParent, { once: true });
    arm();
  }
  return {
    signal: controller.signal,
    pause() {
      pauses += 1;
      if (pauses > 1) return;
      clearTimeout(timer);
      remaining -= performance.now() - runningSince;
    },
    resume() {
      pauses -= 1;
      if (pauses > 0 || controller.signal.aborted) return;
      runningSince = performance.now();
      arm();
    },
    dispose() {
      clearTimeout(timer);
      parent?.removeEventListener("abort", followParent);
    },
  };
}

/**
 * Settles with `work`, or rejects with the signal's reason as soon as it aborts, whichever comes
 * first: a step that ignores the signal (a store that hangs, a tool that never returns) cannot hold
 * the person's final sentence past the deadline. What `work` does later is dropped.
 */
export function raceWithSignal<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    work.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}
