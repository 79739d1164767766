import { boundedMessage, refuse, isRefusal, type Refusal } from "../../src/errors";
import { newId } from "../../src/ids";
import { journals } from "../../src/ledger";
import { GrpcCode, LndError, type LndRestClient, type Payment, type PaymentOutcome } from "../../src/lightning";
import { isFinalPayment } from "../../src/lightning/payment-outcome";
import { decodeInvoice } from "../../src/bolt11";
import type { Msat } from "../../src/money";
import { KEYSEND_RECORD, PAY_MAX_PARTS, PAY_TIMEOUT_S, selfPaymentRefusal } from "../../src/payment-rules";
import type { ApiAnswer, Counterparty, LightningPayment, TransferPayload } from "../../src/wallet-types";
import type { Idempotency } from "../kit/idempotency";
import type { Delivery } from "../kit/outbox";
import type { ActorKit, Part, Task } from "../kit/part";
import type { LightningNodePort, PayLightningRequest, WalletPort } from "../ports";
import type { EventLog } from "./event-log";
import { newTransaction, type History } from "./history";
import type { Identity } from "./identity";
import type { Ledger } from "./ledger";
import type { Limits } from "./limits";
import type { TransferAck, Transfers } from "./transfers";

interface PaymentRow {
  payment_id: string;
  payment_hash: string;
  payment_request: string;
  route: "internal" | "external";
  amountless: number;
  amount_msat: number;
  reserved_msat: number;
  fee_msat: number;
  status: LightningPayment["status"];
  preimage: string | null;
  failure_reason: string | null;
  transaction_id: string;
  created_at: string;
  keysend_destination: string | null;
  keysend_preimage: string | null;
  max_parts: number | null;
  amp: number;
  amp_set_id: string | null;
}

/** How long one tracking run waits on LND for a pending payment, and how soon it looks again. */
const TRACK_WAIT_MS = 2_000;
export const PAYMENT_TRACK_INTERVAL_MS = 10_000;
/** A new payment is first followed up this soon (if its request did not see it end). */
const FIRST_TRACK_AFTER_MS = 5_000;
/**
 * An AMP payment whose set id the hub never heard (it died before LND's first answer) and that LND's
 * ListPayments does not show this long after it was held: LND never started it, so it is sent then.
 */
export const AMP_UNSEEN_GRACE_MS = 60_000;
/** Pending outgoing payments one tracking run follows up. */
const PAYMENTS_PER_RUN = 20;

export interface LightningWiring {
  node: () => DurableObjectStub<LightningNodePort>;
  wallets: (wallet_id: string) => DurableObjectStub<WalletPort>;
  lnd: () => LndRestClient;
  /** How long a payment request waits on LND before answering `pending`. */
  payWaitMs: number;
}

/**
 * Paying BOLT 11 invoices. A hub invoice is paid inside the hub (a transfer to its wallet); any
 * other goes out through LND with amount + maximum fee held, settled at the real fee or released
 * whole. A payment LND has not finished is followed by the tracking task until it does.
 */
export class LightningPayments implements Part {
  readonly name = "lightning-payments";
  // The hub pays a hash at most once: a failed attempt frees it, nothing else does (lightning_payments_live_hash).
  readonly migrations = [
    `CREATE TABLE lightning_payments (
       payment_id TEXT PRIMARY KEY, payment_hash TEXT NOT NULL, payment_request TEXT NOT NULL, route TEXT NOT NULL,
       amountless INTEGER NOT NULL, amount_msat INTEGER NOT NULL, reserved_msat INTEGER NOT NULL, fee_msat INTEGER NOT NULL DEFAULT 0,
       status TEXT NOT NULL, preimage TEXT, failure_reason TEXT, transaction_id TEXT NOT NULL,
       created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
     CREATE UNIQUE INDEX lightning_payments_live_hash ON lightning_payments (payment_hash) WHERE status <> 'failed';
     CREATE INDEX lightning_payments_pending ON lightning_payments (status) WHERE status = 'pending';
     CREATE INDEX lightning_payments_by_transaction ON lightning_payments (transaction_id);`,
    // Keysend (docs/decisions/0025): the destination and the preimage the hub made, kept to send it again after a crash.
    `ALTER TABLE lightning_payments ADD COLUMN keysend_destination TEXT;
     ALTER TABLE lightning_payments ADD COLUMN keysend_preimage TEXT;`,
    // MPP: the caller's max_parts (null: PAY_MAX_PARTS), kept for a send after a crash.
    `ALTER TABLE lightning_payments ADD COLUMN max_parts INTEGER;`,
    // Spontaneous AMP (docs/decisions/0025): payment_hash holds the payment address the hub chose; LND's set id once known.
    `ALTER TABLE lightning_payments ADD COLUMN amp INTEGER NOT NULL DEFAULT 0;
     ALTER TABLE lightning_payments ADD COLUMN amp_set_id TEXT;`,
    // AMP invoices (docs/decisions/0025): paid any number of times, each payment its own set id; a wallet pays one at most
    // once at a time. Every other hash is still paid at most once (a failed attempt frees it).
    `DROP INDEX lightning_payments_live_hash;
     CREATE UNIQUE INDEX lightning_payments_live_hash_once ON lightning_payments (payment_hash) WHERE status <> 'failed' AND NOT (amp = 1 AND payment_request <> '');
     CREATE UNIQUE INDEX lightning_payments_amp_invoice_pending ON lightning_payments (payment_hash) WHERE status = 'pending' AND amp = 1 AND payment_request <> '';`,
  ];
  readonly tasks: readonly Task[] = [
    {
      name: "lightning-payments:tracking",
      nextDueAt: () => (this.hasPendingExternal() ? this.trackedAt + PAYMENT_TRACK_INTERVAL_MS : null),
      run: () => this.trackPending(),
    },
  ];
  /** Outgoing payments this instance is handing to LND right now (not to be sent twice). */
  private readonly sending = new Set<string>();
  /** When the tracking task last ran in this instance (0: not since wake-up, so it is due). */
  private trackedAt = 0;

  constructor(
    private readonly kit: ActorKit,
    private readonly identity: Identity,
    private readonly ledger: Ledger,
    private readonly history: History,
    private readonly events: EventLog,
    private readonly idempotency: Idempotency,
    private readonly limits: Limits,
    private readonly transfers: Transfers,
    private readonly wiring: LightningWiring,
  ) {}

  /** Pays a BOLT 11 invoice: hub invoices inside the hub, others through LND with a fee-capped hold. */
  async pay(request: PayLightningRequest): Promise<ApiAnswer<LightningPayment> | Refusal> {
    return this.idempotency.once(
      request.idempotency,
      async () => {
        const identity = this.identity.get();
        if (!identity) return refuse("not_found", "wallet not opened");
        const busy = this.busyWith(request);
        if (busy) return busy;
        const payment_id = newId("pay");
        const ampInvoice = request.amp_invoice;
        const route = ampInvoice
          ? await this.wiring.node().routeAmpPayment(request.payment_hash, ampInvoice.payment_addr, identity.wallet_id, payment_id)
          : await this.wiring.node().routePayment(request.payment_hash, identity.wallet_id, payment_id);
        if (isRefusal(route)) return route;
        if (route.route === "internal") {
          const self = selfPaymentRefusal(identity.wallet_id, route.wallet_id);
          if (self) return self;
          const to = await this.wiring.wallets(route.wallet_id).describe();
          const held = this.hold(request, payment_id, "internal", { wallet_id: route.wallet_id, username: to?.username ?? "" });
          if (!held.ok) return held;
          await this.transfers.outbox.deliverById(held.transfer_id!);
        } else {
          const held = this.hold(request, payment_id, "external", null);
          if (!held.ok) {
            if (ampInvoice) await this.wiring.node().resolveAmpSend(ampInvoice.payment_addr, payment_id, null);
            else await this.wiring.node().finishPayment(request.payment_hash, payment_id, "failed");
            return held;
          }
          await this.sendThroughLnd(payment_id);
        }
        return { ok: true, status: 200, body: this.byId(payment_id)! };
      },
      { checkFirst: true },
    ) as Promise<ApiAnswer<LightningPayment> | Refusal>;
  }

  /**
   * One unit of work: limits and balance check, the payment and its history row, and the money set aside —
   * amount + maximum fee held for LND, or the amount debited into an outbox transfer for a hub invoice.
   * The amount (not the maximum fee) counts against the limits: `intraledger` for a hub invoice, `withdrawal` otherwise.
   */
  hold(request: PayLightningRequest, payment_id: string, route: "internal" | "external", counterparty: Counterparty | null): { ok: true; transfer_id: string | null } | Refusal {
    const now = new Date().toISOString();
    const reserved = route === "internal" ? request.amount_msat : request.amount_msat + request.max_fee_msat;
    return this.kit.unitOfWork.run(() => {
      // Re-checked inside the transaction: two concurrent requests may both have passed the first look.
      const busy = this.busyWith(request);
      if (busy) return busy;
      const kind = route === "internal" ? "intraledger" : "withdrawal";
      const overLimit = this.limits.check(kind, request.amount_msat, Date.parse(now));
      if (overLimit) return overLimit;
      const balance = this.ledger.balanceOf("wallet");
      if (balance < reserved) return refuse("insufficient_balance", `balance ${balance} msat is less than ${reserved} msat (amount + maximum fee)`);
      const transaction = newTransaction({ kind: "lightning", direction: "out", amount_msat: request.amount_msat, status: "pending", counterparty, memo: request.memo }, now);
      // A hub invoice is paid by a transfer: its outbox columns go with the history row.
      const transfer_id = route === "internal" ? newId("tr") : null;
      if (transfer_id) {
        const payload: TransferPayload = { transfer_id, from: this.identity.counterparty(), amount_msat: request.amount_msat, memo: request.memo, payment_hash: request.payment_hash };
        this.transfers.insertOutgoing(transaction, payload, counterparty?.wallet_id ?? "");
      } else {
        this.history.insert(transaction);
      }
      this.limits.record(kind, request.amount_msat, transaction);
      this.kit.sql`INSERT INTO lightning_payments (payment_id, payment_hash, payment_request, route, amountless, amount_msat, reserved_msat, status, transaction_id,
                                                   created_at, updated_at, keysend_destination, keysend_preimage, max_parts, amp)
                   VALUES (${payment_id}, ${request.payment_hash}, ${request.payment_request}, ${route}, ${request.amountless ? 1 : 0}, ${request.amount_msat},
                           ${reserved}, 'pending', ${transaction.id}, ${now}, ${now}, ${request.keysend?.destination ?? request.amp?.destination ?? null},
                           ${request.keysend?.preimage ?? null}, ${request.max_parts ?? null}, ${request.amp || request.amp_invoice ? 1 : 0})`;
      if (transfer_id) this.ledger.post(`${transfer_id}:debit`, journals.transferDebit(request.amount_msat), now);
      else this.ledger.post(`${payment_id}:hold`, journals.paymentHold(reserved), now);
      this.events.append("payment.pending", { ...this.byId(payment_id)!, balance_msat: this.ledger.balanceOf("wallet") }, now);
      this.idempotency.claim(request.idempotency, transaction.id, { ok: true, status: 200, body: null });
      this.kit.scheduler.arm(Date.now() + FIRST_TRACK_AFTER_MS);
      return { ok: true as const, transfer_id };
    });
  }

  /** Where one of this wallet's payments stands; `unknown` if it was never held. */
  state(payment_id: string): LightningPayment["status"] | "unknown" {
    return this.row(payment_id)?.status ?? "unknown";
  }

  /** A payment as the API shows it, or null. */
  byId(payment_id: string): LightningPayment | null {
    const p = this.row(payment_id);
    if (!p) return null;
    const answer: LightningPayment = { status: p.status, payment_hash: p.payment_hash, amount_msat: p.amount_msat, fee_msat: p.fee_msat, transaction: this.history.byId(p.transaction_id)! };
    if (p.preimage) answer.preimage = p.preimage;
    if (p.amp_set_id) answer.amp_set_id = p.amp_set_id;
    // LND's refusal is stored as it came (`LND refused the payment: …`): answered cut, as errors are.
    if (p.failure_reason) answer.failure_reason = boundedMessage(p.failure_reason);
    return answer;
  }

  /** This wallet's payment of a hash: the live attempt (at most one), else the latest that failed; null if none. */
  byHash(payment_hash: string): LightningPayment | null {
    const payment = this.kit.sql<{ payment_id: string }>`
      SELECT payment_id FROM lightning_payments WHERE payment_hash = ${payment_hash} OR amp_set_id = ${payment_hash}
      ORDER BY status = 'failed', created_at DESC, rowid DESC LIMIT 1`[0];
    return payment ? this.byId(payment.payment_id) : null;
  }

  /** The payment a history row belongs to, as the API shows it; null for a row of another kind. */
  byTransaction(transaction_id: string): LightningPayment | null {
    const payment = this.kit.sql<{ payment_id: string }>`SELECT payment_id FROM lightning_payments WHERE transaction_id = ${transaction_id}`[0];
    return payment ? this.byId(payment.payment_id) : null;
  }

  /** The transfer paying a hub invoice was settled (in its unit of work): the payment ends with it. */
  transferSettled(transaction_id: string, delivery: Delivery<TransferAck>, now: string): LightningPayment {
    const delivered = delivery.outcome === "delivered";
    this.kit.sql`UPDATE lightning_payments SET status = ${delivered ? "succeeded" : "failed"}, updated_at = ${now},
                   preimage = ${delivered ? (delivery.ack.preimage ?? null) : null}, failure_reason = ${delivered ? null : delivery.reason}
                 WHERE transaction_id = ${transaction_id}`;
    return this.byTransaction(transaction_id)!;
  }

  /** Amounts (not fees) of outgoing payments whose hold is still open (for the books report). */
  pendingHoldsAmount(): Msat {
    return this.kit.sql<{ s: number | null }>`SELECT SUM(amount_msat) AS s FROM lightning_payments WHERE status = 'pending' AND route = 'external'`[0]?.s ?? 0;
  }

  /** The tracking task: LND's word on each pending payment; one LND never saw is sent now. */
  private async trackPending(): Promise<void> {
    this.trackedAt = Date.now();
    const pending = this.kit.sql<{ payment_id: string }>`
      SELECT payment_id FROM lightning_payments WHERE status = 'pending' AND route = 'external' ORDER BY updated_at LIMIT ${PAYMENTS_PER_RUN}`;
    await Promise.all(pending.map((p) => this.reconcile(p.payment_id)));
  }

  private hasPendingExternal(): boolean {
    return this.kit.sql`SELECT 1 FROM lightning_payments WHERE status = 'pending' AND route = 'external' LIMIT 1`.length > 0;
  }

  private livePaymentOf(payment_hash: string): boolean {
    return this.kit.sql`SELECT 1 FROM lightning_payments WHERE payment_hash = ${payment_hash} AND status <> 'failed'`.length > 0;
  }

  /**
   * Why this wallet cannot start this payment now, or null: a hash it paid or is paying; an AMP invoice
   * (payable again and again) only while one of its payments from this wallet is pending.
   */
  private busyWith(request: PayLightningRequest): Refusal | null {
    if (!request.amp_invoice) return this.livePaymentOf(request.payment_hash) ? refuse("already_paid", "this wallet already paid or is paying this invoice") : null;
    const pending = this.kit.sql`SELECT 1 FROM lightning_payments WHERE payment_hash = ${request.payment_hash} AND status = 'pending'`.length > 0;
    return pending ? refuse("conflict", "this wallet is paying this AMP invoice right now: try again once that payment is final") : null;
  }

  /** Where one of this wallet's AMP sends stands, with the set id LND drew if known. */
  ampSendState(payment_id: string): { status: LightningPayment["status"] | "unknown"; set_id: string | null } {
    const p = this.row(payment_id);
    return { status: p?.status ?? "unknown", set_id: p?.amp_set_id ?? null };
  }

  private row(payment_id: string): PaymentRow | undefined {
    return this.kit.sql<PaymentRow>`SELECT * FROM lightning_payments WHERE payment_id = ${payment_id}`[0];
  }

  /** Asks LND to pay, waiting a bounded time; no answer leaves the hold in place for the tracking task. */
  private async sendThroughLnd(payment_id: string): Promise<void> {
    const p = this.row(payment_id);
    if (!p || p.status !== "pending" || this.sending.has(payment_id)) return;
    this.sending.add(payment_id);
    try {
      const common = { fee_limit_msat: p.reserved_msat - p.amount_msat, timeout_seconds: PAY_TIMEOUT_S };
      const outcome = await this.wiring.lnd().payInvoice(
        p.amp && p.payment_request !== ""
          ? // An AMP invoice: LND draws the set id and pays the invoice's payment address.
            { ...common, payment_request: p.payment_request, amt_msat: p.amountless ? p.amount_msat : undefined, amp: true, max_parts: p.max_parts ?? PAY_MAX_PARTS }
          : p.amp && p.keysend_destination
          ? {
              // Spontaneous AMP: LND draws the set id; the payment address is the hub's, to find the payment if no answer comes.
              ...common,
              payment_request: "",
              dest: p.keysend_destination,
              amt_msat: p.amount_msat,
              amp: true,
              payment_addr: p.payment_hash,
              max_parts: p.max_parts ?? PAY_MAX_PARTS,
            }
          : p.keysend_destination && p.keysend_preimage
          ? {
              // Keysend: the preimage travels to the destination in its TLV record; one part (no payment secret to tie parts together).
              ...common,
              payment_request: "",
              dest: p.keysend_destination,
              amt_msat: p.amount_msat,
              payment_hash: p.payment_hash,
              dest_custom_records: { [KEYSEND_RECORD]: p.keysend_preimage },
            }
          : { ...common, payment_request: p.payment_request, amt_msat: p.amountless ? p.amount_msat : undefined, max_parts: p.max_parts ?? PAY_MAX_PARTS },
        { waitMs: this.wiring.payWaitMs },
      );
      await this.applyOutcome(payment_id, outcome);
    } catch (error) {
      if (error instanceof LndError && error.code === GrpcCode.ALREADY_EXISTS) {
        // Our own earlier attempt (the node actor lets no one else send to this hash): follow it.
        await this.track(payment_id);
      } else if (error instanceof LndError) {
        await this.finishExternal(payment_id, { failed: `LND refused the payment: ${error.message}` });
      }
      // Unreachable or timed out: the outcome is unknown, so the hold stays until tracking knows.
    } finally {
      this.sending.delete(payment_id);
    }
  }

  private async reconcile(payment_id: string): Promise<void> {
    if (this.sending.has(payment_id)) return;
    const state = await this.track(payment_id);
    if (state === "unknown_to_lnd") await this.sendThroughLnd(payment_id);
  }

  private async track(payment_id: string): Promise<"tracked" | "unknown_to_lnd"> {
    const p = this.row(payment_id);
    if (!p || p.status !== "pending") return "tracked";
    if (p.amp && !p.amp_set_id) return p.payment_request !== "" ? this.findAmpInvoicePayment(p) : this.findAmp(p);
    try {
      await this.applyOutcome(payment_id, await this.wiring.lnd().waitForPayment(p.amp_set_id ?? p.payment_hash, { waitMs: TRACK_WAIT_MS }));
    } catch (error) {
      if (error instanceof LndError && error.code === GrpcCode.NOT_FOUND) return "unknown_to_lnd";
    }
    return "tracked";
  }

  /**
   * An AMP payment without its set id (no answer from LND came back): LND's payments since it was held, the one
   * whose parts carry the hub's payment address. Not there after AMP_UNSEEN_GRACE_MS: LND never started it.
   */
  private async findAmp(p: PaymentRow): Promise<"tracked" | "unknown_to_lnd"> {
    let payments: Payment[];
    try {
      payments = await this.wiring.lnd().listPayments({ include_incomplete: true, creation_date_start: Math.floor(Date.parse(p.created_at) / 1000) - 60, max_payments: 10_000 });
    } catch {
      return "tracked"; // LND unreachable: look again next run
    }
    const found = payments.find((payment) => payment.htlcs.some((h) => h.route?.hops.at(-1)?.mpp_payment_addr === p.payment_hash));
    if (found) {
      await this.applyOutcome(p.payment_id, isFinalPayment(found) ? { final: true, payment: found } : { final: false, payment: found });
      return "tracked";
    }
    // LND lists a payment before its first HTLC attempt, and without one nothing in it names the payment address:
    // a spontaneous payment of this amount still pathfinding may be this one. Not sent while one is (it would be
    // sent twice); it is matched once it makes an attempt, or ends (failed without one: nothing went out).
    const unmatchable = payments.some((x) => x.status === "IN_FLIGHT" && x.htlcs.length === 0 && x.payment_request === "" && x.value_msat === p.amount_msat);
    if (unmatchable) return "tracked";
    return Date.now() - Date.parse(p.created_at) > AMP_UNSEEN_GRACE_MS ? "unknown_to_lnd" : "tracked";
  }

  /**
   * A payment of an AMP invoice without its set id (no answer from LND came back). The node admitted no other
   * hub send of this invoice while this one is unresolved, and knows the set ids of the earlier ones: LND's payment
   * of this invoice (its payment request, so even before its first HTLC) whose set id is not among them is this
   * one. None after AMP_UNSEEN_GRACE_MS: LND never started it. More than one (a payment of the invoice made on the
   * hub's node outside the hub): not told apart, so never sent again; it stays pending, with a warning.
   */
  private async findAmpInvoicePayment(p: PaymentRow): Promise<"tracked" | "unknown_to_lnd"> {
    const payment_addr = ampInvoiceAddress(p.payment_request);
    let payments: Payment[];
    let others: Set<string>;
    try {
      payments = await this.wiring.lnd().listPayments({ include_incomplete: true, creation_date_start: Math.floor(Date.parse(p.created_at) / 1000) - 60, max_payments: 10_000 });
      others = new Set(await this.wiring.node().ampSendSetIds(payment_addr, p.payment_id));
    } catch {
      return "tracked"; // LND or the node unreachable: look again next run
    }
    const candidates = payments.filter((x) => x.payment_request === p.payment_request && !others.has(x.payment_hash));
    if (candidates.length > 1) {
      console.warn(`AMP payment ${p.payment_id}: ${candidates.length} payments of its invoice in LND not known to the hub; not sent again`);
      return "tracked";
    }
    const found = candidates[0];
    if (found) {
      await this.applyOutcome(p.payment_id, isFinalPayment(found) ? { final: true, payment: found } : { final: false, payment: found });
      return "tracked";
    }
    return Date.now() - Date.parse(p.created_at) > AMP_UNSEEN_GRACE_MS ? "unknown_to_lnd" : "tracked";
  }

  private async applyOutcome(payment_id: string, outcome: PaymentOutcome): Promise<void> {
    // AMP: the first word from LND names the set id; kept so the payment is tracked by it from now on.
    if (outcome.payment) await this.recordAmpSetId(payment_id, outcome.payment.payment_hash);
    if (!outcome.final) return;
    const { payment } = outcome;
    if (payment.status === "SUCCEEDED") await this.finishExternal(payment_id, { fee_msat: payment.fee_msat, preimage: payment.payment_preimage ?? "" });
    else await this.finishExternal(payment_id, { failed: payment.failure_reason });
  }

  private async recordAmpSetId(payment_id: string, set_id: string): Promise<void> {
    const recorded = this.kit.sqlWrite`UPDATE lightning_payments SET amp_set_id = ${set_id} WHERE payment_id = ${payment_id} AND amp = 1 AND amp_set_id IS NULL`;
    const p = recorded ? this.row(payment_id) : undefined;
    // An AMP invoice's send is known by its set id now: the node lets the next send of the invoice start.
    if (p && p.payment_request !== "") await this.wiring.node().resolveAmpSend(ampInvoiceAddress(p.payment_request), payment_id, set_id).catch(() => undefined);
  }

  /** One unit of work: settle the hold at the real fee (refunding the rest), or release it whole. */
  private async finishExternal(payment_id: string, result: { fee_msat: Msat; preimage: string } | { failed: string }): Promise<void> {
    const now = new Date().toISOString();
    const finished = this.kit.unitOfWork.run(() => {
      const p = this.row(payment_id);
      if (!p || p.status !== "pending") return null;
      if ("failed" in result) {
        this.ledger.post(`${payment_id}:released`, journals.paymentReleased(p.reserved_msat), now);
        this.kit.sql`UPDATE lightning_payments SET status = 'failed', failure_reason = ${result.failed}, updated_at = ${now} WHERE payment_id = ${payment_id}`;
        this.history.finish(p.transaction_id, "failed");
        // Its history row and this payment were written together, at the same time.
        this.limits.release({ id: p.transaction_id, created_at: p.created_at });
      } else {
        this.ledger.post(`${payment_id}:settled`, journals.paymentSettled(p.reserved_msat, p.amount_msat, result.fee_msat), now);
        this.kit.sql`UPDATE lightning_payments SET status = 'succeeded', fee_msat = ${result.fee_msat}, preimage = ${result.preimage}, updated_at = ${now}
                     WHERE payment_id = ${payment_id}`;
        this.history.finish(p.transaction_id, "succeeded", result.fee_msat);
      }
      this.events.append("failed" in result ? "payment.failed" : "payment.succeeded", { ...this.byId(payment_id)!, balance_msat: this.ledger.balanceOf("wallet") }, now);
      return p;
    });
    if (finished?.amp && finished.payment_request !== "") {
      // Resolved (if its set id was never heard, it ended without one: LND refused it).
      await this.wiring.node().resolveAmpSend(ampInvoiceAddress(finished.payment_request), payment_id, finished.amp_set_id).catch(() => undefined);
    } else if (finished) await this.wiring.node().finishPayment(finished.payment_hash, payment_id, "failed" in result ? "failed" : "succeeded").catch(() => undefined);
  }
}

/** The payment address (payment secret) of an AMP invoice: what every payment of it carries. */
function ampInvoiceAddress(payment_request: string): string {
  return decodeInvoice(payment_request).payment_secret;
}
