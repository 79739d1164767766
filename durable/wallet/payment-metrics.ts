import { M, W, type PaymentKind, type PaymentStatus } from "../../src/metrics/catalog";
import type { Labels } from "../../src/metrics/exposition";
import { paymentFactOf, type PaymentFact } from "../../src/metrics/payments";
import type { MetricsRecorder } from "../../src/metrics/recorder";
import type { Part } from "../kit/part";
import type { EventLog } from "./event-log";

/** One label object per label set (the recorder spells each once). */
const KIND_LABELS = new Map<PaymentKind, Labels>();
const ENDED_LABELS = new Map<string, Labels>();
const kindLabels = (kind: PaymentKind): Labels => KIND_LABELS.get(kind) ?? (KIND_LABELS.set(kind, { kind }), KIND_LABELS.get(kind)!);
const endedLabels = (kind: PaymentKind, status: PaymentStatus): Labels =>
  ENDED_LABELS.get(`${kind} ${status}`) ?? (ENDED_LABELS.set(`${kind} ${status}`, { kind, status }), ENDED_LABELS.get(`${kind} ${status}`)!);

/**
 * Payments by kind and status, and their amounts, counted from the wallet's own events
 * (src/metrics/payments.ts says which): the event log already writes each in the unit of work that
 * moved the money, so this part only notes the facts of the events appended (no statement, no
 * storage), forgets them if the unit of work rolls back, and counts them in the isolate's memory
 * once it commits (docs/decisions/0022). Exact, as the events are.
 */
export class PaymentMetrics implements Part {
  readonly name = "payment-metrics";
  private facts: PaymentFact[] = [];

  constructor(
    events: EventLog,
    private readonly recorder: MetricsRecorder,
    /** Called after counting: hands the isolate's counts over if it is time (durable/metrics/isolate.ts `flushSoon`). */
    private readonly counted: () => void,
  ) {
    events.onAppend((event) => {
      const fact = paymentFactOf(event.type, event.data);
      if (fact) this.facts.push(fact);
    });
  }

  onRollback(): void {
    if (this.facts.length) this.facts = [];
  }

  onCommit(): void {
    if (!this.facts.length) return;
    const now = Date.now();
    for (const fact of this.facts) {
      if ("started" in fact) {
        this.recorder.count(M.paymentsStarted, kindLabels(fact.kind));
        continue;
      }
      this.recorder.count(M.payments, endedLabels(fact.kind, fact.status));
      if (fact.status !== "succeeded") continue;
      this.recorder.count(M.paymentVolume, kindLabels(fact.kind), fact.amount_msat);
      this.recorder.addToWindow(W.paymentsSucceeded, 1, now);
      this.recorder.addToWindow(W.volumeMsat, fact.amount_msat, now);
    }
    this.facts = [];
    this.counted();
  }
}
