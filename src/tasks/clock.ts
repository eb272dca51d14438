/**
 * clock: time as a dependency. The runner never calls Date.now or setTimeout itself, so
 * tests drive months of schedules in milliseconds with FakeClock.
 */

/** Clock: the current time, and a one-shot timer that `cancel` (the returned function) stops. */
export interface Clock {
  now(): Date;
  setTimer(ms: number, fn: () => void): () => void;
}

/** The longest delay setTimeout accepts; longer waits re-arm (the runner re-checks on wake-up). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** systemClock: the wall clock and real timers (unref'd: a pending timer alone does not keep the process alive). */
export const systemClock: Clock = {
  now: () => new Date(),
  setTimer(ms, fn) {
    const t = setTimeout(fn, Math.min(Math.max(0, ms), MAX_TIMER_MS));
    t.unref();
    return () => clearTimeout(t);
  },
};

/**
 * FakeClock: time moves only when told. `advanceTo(t)` sets the time to each pending
 * timer's instant in order up to `t`, firing it; timers set while firing are honoured.
 */
export class FakeClock implements Clock {
  #now: number;
  #timers: Array<{ at: number; fn: () => void; id: number }> = [];
  #nextId = 0;

  constructor(start: Date) {
    this.#now = start.getTime();
  }

  now(): Date {
    return new Date(this.#now);
  }

  setTimer(ms: number, fn: () => void): () => void {
    const id = this.#nextId++;
    this.#timers.push({ at: this.#now + Math.max(0, ms), fn, id });
    return () => {
      this.#timers = this.#timers.filter((t) => t.id !== id);
    };
  }

  /** nextTimerAt: when the earliest pending timer fires, if any. */
  nextTimerAt(): Date | undefined {
    if (this.#timers.length === 0) return undefined;
    return new Date(Math.min(...this.#timers.map((t) => t.at)));
  }

  /** advanceTo: move to `date`, firing due timers in time order. Never moves backwards. */
  advanceTo(date: Date): void {
    const target = date.getTime();
    for (;;) {
      const due = this.#timers.filter((t) => t.at <= target).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.#timers = this.#timers.filter((t) => t.id !== due.id);
      this.#now = Math.max(this.#now, due.at);
      due.fn();
    }
    this.#now = Math.max(this.#now, target);
  }
}
