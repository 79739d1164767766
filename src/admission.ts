/**
 * Admission at the edge entry (docs/decisions/0026): at most `limit` requests of one isolate at work
 * at once; the others wait their turn, first come first served. workerd serves a few dozen requests
 * in flight evenly, but past ~100 some wait 20–40× longer than the median (the calibration worker,
 * with none of the hub's code, does the same), so under overload the queue is kept here, where it
 * is fair, instead of in the runtime.
 *
 * A request gives its turn back when it ends, or after `holdMs` if it is still running then (a
 * Lightning payment waiting on LND, an LNURL callback): a slow request is not a reason to hold up the
 * queue, only a fresh burst is. With more than `maxWaiting` waiting the request is refused at once
 * (the caller answers 503 with Retry-After), so memory stays bounded.
 */
export interface AdmissionOptions {
  /** Requests at work at once (0: no gate). */
  limit: number;
  /** Requests allowed to wait; one more is refused. */
  maxWaiting: number;
  /** A request still running after this long gives its turn back. */
  holdMs: number;
}

export const DEFAULT_ADMISSION: AdmissionOptions = { limit: 64, maxWaiting: 10_000, holdMs: 1_000 };

/** Gives a turn back; calling it again does nothing. */
export type Leave = () => void;

interface Timers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

const realTimers: Timers = {
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export class AdmissionGate {
  private working = 0;
  /** Waiting requests in arrival order: `queue[head]` is next (a ring-free array compacted now and then). */
  private queue: Array<() => void> = [];
  private head = 0;

  constructor(
    readonly options: AdmissionOptions,
    private readonly timers: Timers = realTimers,
  ) {}

  /** Requests at work now (for tests and reports). */
  get active(): number {
    return this.working;
  }

  /** Requests waiting now. */
  get waiting(): number {
    return this.queue.length - this.head;
  }

  /**
   * Waits for a turn: resolves to the function that gives it back, or null when `maxWaiting` are
   * waiting already (refuse the request; nothing was taken).
   */
  enter(): Promise<Leave> | Leave | null {
    if (this.options.limit <= 0) return noop;
    if (this.working < this.options.limit && this.waiting === 0) {
      this.working++;
      return this.leaveFor();
    }
    if (this.waiting >= this.options.maxWaiting) return null;
    // The turn passes straight from a leaving request to the first waiter (`working` is not lowered).
    return new Promise<Leave>((resolve) => this.queue.push(() => resolve(this.leaveFor())));
  }

  /** The one-shot release of a turn just taken, also called by its timer after `holdMs`. */
  private leaveFor(): Leave {
    let left = false;
    const timer = this.timers.set(() => leave(), this.options.holdMs);
    const leave = () => {
      if (left) return;
      left = true;
      this.timers.clear(timer);
      this.handOn();
    };
    return leave;
  }

  private handOn(): void {
    if (this.head < this.queue.length) {
      const next = this.queue[this.head]!;
      this.head++;
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      next();
      return;
    }
    this.working--;
  }
}

const noop: Leave = () => {};

/**
 * The gate's options from the `ADMISSION_LIMIT` setting: unset is the default, "0" switches it off;
 * anything but a whole number is null (the caller keeps the default and says so).
 */
export function admissionOptions(limit: string | undefined): AdmissionOptions | null {
  if (limit === undefined || limit === "") return DEFAULT_ADMISSION;
  const n = Number(limit);
  if (!Number.isInteger(n) || n < 0) return null;
  return { ...DEFAULT_ADMISSION, limit: n };
}
