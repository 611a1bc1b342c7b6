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

/**
 * Has `controller` abort as soon as `parent` does, with the parent's reason (at once if it already
 * has), until the returned function lets go: what `AbortSignal.any([parent, controller.signal])`
 * gives when the controller's signal is the one handed on. Node links a composite signal and its
 * sources through WeakRefs, whose targets a scavenge keeps alive, so a composite made per message
 * has that message's signals and what their listeners hold copied by every minor GC they meet
 * until a full one; a listener holds nothing past its removal.
 */
export function followAbort(controller: AbortController, parent: AbortSignal | undefined): () => void {
  if (!parent) return () => {};
  if (parent.aborted) {
    controller.abort(parent.reason);
    return () => {};
  }
  const follow = () => controller.abort(parent.reason);
  parent.addEventListener("abort", follow, { once: true });
  return () => parent.removeEventListener("abort", follow);
}

/** The longest timer Node keeps (~24.8 days): a deadline of it is no limit on a chat answer. */
export const LONGEST_DEADLINE = 2 ** 31 - 1;

const doNothing = () => {};

export function createDeadline(milliseconds: number, reason: () => unknown, parent?: AbortSignal): Deadline {
  // No limit of its own under a parent: the parent's signal is what following it would give (its
  // reason, at once), with no controller, timer or listener made per answer for a timer never due.
  if (milliseconds >= LONGEST_DEADLINE && parent) {
    return { signal: parent, pause: doNothing, resume: doNothing, dispose: doNothing };
  }
  const controller = new AbortController();
  let remaining = milliseconds;
  let runningSince = performance.now();
  let pauses = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = () => {
    if (remaining <= 0) controller.abort(reason());
    else timer = setTimeout(() => controller.abort(reason()), remaining);
  };
  const release = followAbort(controller, parent);
  if (!controller.signal.aborted) arm();
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
      release();
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
