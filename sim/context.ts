// What the simulator's parts share: state, event delivery, the clock and
// chain tip, and a way to ask for the next timed wake-up.

import type { Events } from "./events";
import type { Store } from "./store";
import { chainTip } from "./topology";

export class SimContext {
  constructor(
    readonly store: Store,
    readonly events: Events,
    /** asks the Durable Object to recompute its next alarm. */
    readonly reschedule: () => void,
  ) {}

  nowMs(): number {
    return Date.now();
  }

  nowSeconds(): number {
    return Math.floor(this.nowMs() / 1000);
  }

  nowNs(): string {
    return (BigInt(this.nowMs()) * 1_000_000n).toString();
  }

  tip(): { height: number; hash: string; timestamp: number } {
    return chainTip(this.store.counter("genesis_ms"), this.nowMs(), this.store.counter("mined_blocks"));
  }
}

/** 32 random bytes as hex. */
export function randomHex32(): string {
  let s = "";
  for (const b of crypto.getRandomValues(new Uint8Array(32))) s += b.toString(16).padStart(2, "0");
  return s;
}
