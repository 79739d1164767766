import { Actor } from "./actor";
import { lndClient, type LndEnv } from "./lnd";
import { refuse, type Refusal } from "../src/errors";
import { LndError, type Invoice } from "../src/lightning";
import type { Msat } from "../src/money";
import type { WalletActor } from "./wallet-actor";

export interface LightningNodeEnv extends LndEnv {
  WALLET: DurableObjectNamespace<WalletActor>;
}

export interface HoldInvoiceRequest {
  payment_hash: string;
  wallet_id: string;
  amount_msat: Msat | null;
  memo: string | null;
  expiry_s: number;
}

/** Where a payment to a hash goes: a hub wallet (paid internally) or out through LND. */
export type PaymentRoute = { route: "internal"; wallet_id: string } | { route: "external" };

const SCHEMA = [
  `CREATE TABLE invoices (
     payment_hash TEXT PRIMARY KEY, wallet_id TEXT NOT NULL,
     state TEXT NOT NULL,           -- open | credited (wallet credited, LND not yet settled) | settled | canceled | expired
     expires_at INTEGER NOT NULL, created_at INTEGER NOT NULL);
   CREATE INDEX invoices_pending ON invoices (state) WHERE state IN ('open', 'credited');
   CREATE TABLE payments (
     payment_hash TEXT PRIMARY KEY, wallet_id TEXT NOT NULL, payment_id TEXT NOT NULL,
     state TEXT NOT NULL,           -- in_flight | succeeded | failed
     updated_at INTEGER NOT NULL);`,
];

/** How often the sweep looks for accepted invoices whose event was missed. */
export const SWEEP_INTERVAL_MS = 15_000;
/** A payment claim older than this is checked with its wallet before it blocks another payment. */
const CLAIM_CONFIRM_AFTER_MS = 60_000;
/** Pending invoices one sweep lists, and invoices it looks up one by one at most. */
const SWEEP_PAGE = 1000;
const SWEEP_LOOKUPS = 50;
/** An invoice stays watched this long past its expiry, for an HTLC accepted at the last moment. */
const EXPIRY_GRACE_MS = 60_000;

interface InvoiceRow {
  payment_hash: string;
  wallet_id: string;
  state: string;
  expires_at: number;
}

/**
 * One per LND node: the payment-hash → wallet registry, the consumer of the node's invoice
 * events, and the guard that makes the hub pay any payment hash at most once. A singleton per
 * node is fine: the node itself is the bottleneck of everything that goes through here.
 */
export class LightningNodeActor extends Actor<LightningNodeEnv> {
  protected readonly schema = SCHEMA;
  /** Hashes with a live single-invoice subscription in this instance. */
  private readonly watching = new Set<string>();

  /** Creates a hold invoice in LND for a wallet (which keeps the preimage) and watches it. */
  async createHoldInvoice(request: HoldInvoiceRequest): Promise<{ ok: true; payment_request: string } | Refusal> {
    const now = Date.now();
    this.sql`INSERT INTO invoices (payment_hash, wallet_id, state, expires_at, created_at)
             VALUES (${request.payment_hash}, ${request.wallet_id}, 'open', ${now + request.expiry_s * 1000}, ${now})`;
    try {
      const { payment_request } = await this.lnd().addHoldInvoice({
        hash: request.payment_hash,
        value_msat: request.amount_msat ?? 0,
        memo: request.memo ?? undefined,
        expiry: request.expiry_s,
      });
      this.watch(request.payment_hash);
      this.armSweep();
      return { ok: true, payment_request };
    } catch (error) {
      this.sql`DELETE FROM invoices WHERE payment_hash = ${request.payment_hash}`;
      return refuse("lightning_unavailable", `the Lightning node did not create the invoice: ${(error as Error).message}`);
    }
  }

  /**
   * Claims a payment hash for one payment of one wallet. A hub invoice routes internally; an
   * outside one is claimed so that no second payment of the hub can send to it.
   */
  async routePayment(payment_hash: string, wallet_id: string, payment_id: string): Promise<PaymentRoute | Refusal> {
    const invoice = this.sql<InvoiceRow>`SELECT * FROM invoices WHERE payment_hash = ${payment_hash}`[0];
    if (invoice) return { route: "internal", wallet_id: invoice.wallet_id };
    const claim = this.sql<{ payment_id: string; wallet_id: string; state: string; updated_at: number }>`
      SELECT payment_id, wallet_id, state, updated_at FROM payments WHERE payment_hash = ${payment_hash}`[0];
    if (claim && claim.payment_id !== payment_id && claim.state !== "failed" && !(await this.claimIsStale(claim))) {
      return refuse("already_paid", claim.state === "succeeded" ? "this invoice was already paid" : "this invoice is being paid");
    }
    this.sql`INSERT OR REPLACE INTO payments (payment_hash, wallet_id, payment_id, state, updated_at)
             VALUES (${payment_hash}, ${wallet_id}, ${payment_id}, 'in_flight', ${Date.now()})`;
    return { route: "external" };
  }

  /** True when the hash belongs to an invoice this hub issued. */
  async isHubInvoice(payment_hash: string): Promise<boolean> {
    return this.sql`SELECT 1 FROM invoices WHERE payment_hash = ${payment_hash}`.length > 0;
  }

  /**
   * A claim left `in_flight` by a wallet that crashed before holding the funds (or before telling
   * us the outcome) would block its hash forever: after a while, ask that wallet what it knows.
   */
  private async claimIsStale(claim: { payment_id: string; wallet_id: string; state: string; updated_at: number }): Promise<boolean> {
    if (claim.state !== "in_flight" || Date.now() - claim.updated_at < CLAIM_CONFIRM_AFTER_MS) return false;
    const state = await this.walletStub(claim.wallet_id).lightningPaymentState(claim.payment_id);
    if (state === "pending") return false;
    this.sql`UPDATE payments SET state = ${state === "succeeded" ? "succeeded" : "failed"}, updated_at = ${Date.now()} WHERE payment_id = ${claim.payment_id}`;
    return state !== "succeeded";
  }

  /** Records how an outside payment ended; a failed one frees its hash for another try. */
  async finishPayment(payment_hash: string, payment_id: string, state: "succeeded" | "failed"): Promise<void> {
    this.sql`UPDATE payments SET state = ${state}, updated_at = ${Date.now()} WHERE payment_hash = ${payment_hash} AND payment_id = ${payment_id}`;
  }

  /** A hub invoice was paid inside the hub: cancel it in LND so no outside HTLC can pay it too. */
  async invoicePaidInternally(payment_hash: string): Promise<void> {
    this.sql`UPDATE invoices SET state = 'settled' WHERE payment_hash = ${payment_hash}`;
    try {
      await this.lnd().cancelInvoice(payment_hash);
    } catch {
      // An HTLC arriving later is refused by the wallet and canceled then.
    }
  }

  /** Applies one invoice update from LND (stream or sweep); safe to deliver any number of times. */
  async applyInvoiceUpdate(update: Pick<Invoice, "r_hash" | "state" | "amt_paid_msat">): Promise<string> {
    const row = this.sql<InvoiceRow>`SELECT * FROM invoices WHERE payment_hash = ${update.r_hash}`[0];
    if (!row) return "unknown";
    switch (update.state) {
      case "ACCEPTED":
        return row.state === "open" || row.state === "credited" || row.state === "expired" ? this.creditAndSettle(row, update.amt_paid_msat) : row.state;
      case "SETTLED":
        this.sql`UPDATE invoices SET state = 'settled' WHERE payment_hash = ${row.payment_hash}`;
        return "settled";
      case "CANCELED":
        if (row.state !== "settled") this.sql`UPDATE invoices SET state = 'canceled' WHERE payment_hash = ${row.payment_hash}`;
        return "canceled";
      default:
        return row.state;
    }
  }

  /** The wallet credits (idempotent by hash) and hands back the preimage; only then is LND settled. */
  private async creditAndSettle(row: InvoiceRow, amount_msat: Msat): Promise<string> {
    const credited = await this.walletStub(row.wallet_id).creditInvoice(row.payment_hash, amount_msat);
    if (!credited.ok) {
      // Paid internally or canceled meanwhile: the outside HTLC goes back to its payer.
      await this.lnd().cancelInvoice(row.payment_hash).catch(() => undefined);
      this.sql`UPDATE invoices SET state = 'canceled' WHERE payment_hash = ${row.payment_hash}`;
      return "canceled";
    }
    this.sql`UPDATE invoices SET state = 'credited' WHERE payment_hash = ${row.payment_hash} AND state <> 'settled'`;
    try {
      await this.lnd().settleInvoice(credited.preimage);
      this.sql`UPDATE invoices SET state = 'settled' WHERE payment_hash = ${row.payment_hash}`;
      return "settled";
    } catch {
      this.armSweep(); // the sweep settles it later: the wallet answers with the same preimage
      return "credited";
    }
  }

  /** Follows one invoice's state in LND until it is final. */
  private watch(payment_hash: string): void {
    if (this.watching.has(payment_hash)) return;
    this.watching.add(payment_hash);
    const follow = async () => {
      try {
        for await (const invoice of this.lnd(0).subscribeSingleInvoice(payment_hash, { firstMessageTimeoutMs: 30_000 })) {
          const state = await this.applyInvoiceUpdate(invoice);
          if (state === "settled" || state === "canceled") break;
        }
      } catch {
        // Stream broke (LND restarted, tunnel dropped): the sweep resubscribes and catches up.
      } finally {
        this.watching.delete(payment_hash);
      }
    };
    void follow();
  }

  /**
   * The sweep: finds accepted invoices whose event was missed, retries settlements, expires
   * what LND has expired, and resubscribes what lost its stream. Re-arms while anything is pending.
   */
  override async alarm(): Promise<void> {
    const now = Date.now();
    this.sql`UPDATE invoices SET state = 'expired' WHERE state = 'open' AND expires_at < ${now - EXPIRY_GRACE_MS}`;
    const pending = this.sql<InvoiceRow>`SELECT * FROM invoices WHERE state IN ('open', 'credited') ORDER BY created_at`;
    if (pending.length === 0) return;
    try {
      // One listing of LND's pending (OPEN and ACCEPTED) invoices covers the common case.
      const { invoices } = await this.lnd().listInvoices({ pending_only: true, num_max_invoices: SWEEP_PAGE, reversed: true });
      const inLnd = new Map(invoices.map((i) => [i.r_hash, i]));
      let lookups = 0;
      for (const row of pending) {
        const listed = inLnd.get(row.payment_hash);
        if (row.state === "credited") {
          await this.applyInvoiceUpdate({ r_hash: row.payment_hash, state: "ACCEPTED", amt_paid_msat: 0 });
        } else if (listed) {
          await this.applyInvoiceUpdate(listed);
          if (listed.state === "OPEN") this.watch(row.payment_hash);
        } else if (lookups++ < SWEEP_LOOKUPS) {
          // Not pending in LND (settled or canceled there), or beyond the listing: ask for it.
          await this.applyInvoiceUpdate(await this.lnd().lookupInvoice(row.payment_hash));
        }
      }
    } catch (error) {
      if (!(error instanceof LndError)) console.warn("invoice sweep: LND unreachable, retrying later");
    }
    this.armSweep(true);
  }

  private armSweep(force = false): void {
    void this.ctx.storage.getAlarm().then((at) => {
      if (force || at === null) return this.ctx.storage.setAlarm(Date.now() + SWEEP_INTERVAL_MS);
    });
  }

  private lnd(timeoutMs = 10_000) {
    return lndClient(this.env, timeoutMs || undefined);
  }

  private walletStub(wallet_id: string): DurableObjectStub<WalletActor> {
    return this.env.WALLET.get(this.env.WALLET.idFromName(wallet_id));
  }
}
