/**
 * Every network call has a deadline derived from the invocation's remaining time. A Deadline is an
 * absolute point in time; steps carve child deadlines from it and pass `signal()` to the SDKs.
 */
export class Deadline {
  readonly at: number;

  private constructor(at: number) {
    this.at = at;
  }

  static in(ms: number): Deadline {
    return new Deadline(Date.now() + Math.max(0, ms));
  }

  static at(epochMs: number): Deadline {
    return new Deadline(epochMs);
  }

  remainingMs(): number {
    return Math.max(0, this.at - Date.now());
  }

  expired(): boolean {
    return this.remainingMs() === 0;
  }

  /** A deadline that ends `reserveMs` earlier, leaving time for cleanup and for answering. */
  reserve(reserveMs: number): Deadline {
    return new Deadline(this.at - reserveMs);
  }

  /** The earlier of this deadline and `ms` from now. */
  within(ms: number): Deadline {
    return new Deadline(Math.min(this.at, Date.now() + ms));
  }

  /** An AbortSignal that fires when the deadline passes (combined with `parent`, if given). */
  signal(parent?: AbortSignal): AbortSignal {
    const own = AbortSignal.timeout(Math.max(1, this.remainingMs()));
    return parent ? AbortSignal.any([own, parent]) : own;
  }
}

/** Waits `ms`, or rejects when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
