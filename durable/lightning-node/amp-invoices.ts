import { refuse, type Refusal } from "../../src/errors";
import { GrpcCode, LndError, type Invoice, type LndRestClient } from "../../src/lightning";
import { Outbox, type Delivery, type OutboxItem, type OutboxStore } from "../kit/outbox";
import type { ActorKit, Part, Task } from "../kit/part";
import type { AmpInvoiceRequest, AmpPaymentReceipt, WalletPort } from "../ports";

/** How often the sweep looks up open AMP invoices (a settled set whose event was missed). */
export const AMP_SWEEP_INTERVAL_MS = 15_000;
/** Invoices one sweep looks up, the longest unswept first. */
const AMP_SWEEP_LOOKUPS = 50;
/**
 * An AMP invoice is still looked up this long after its expiry: a set LND settled just before it,
 * whose event was missed, is credited then. (LND cancels the invoice at its expiry; its settled sets stay.)
 */
const AMP_EXPIRED_WINDOW_MS = 3600_000;
/** An invoice LND does not know is given up by the sweep once this old (no creation takes as long). */
const UNKNOWN_GRACE_MS = 60_000;

interface AmpInvoiceRow {
  payment_hash: string;
  payment_addr: string;
  wallet_id: string;
  state: "open" | "closed";
  expires_at: number;
  created_at: number;
  swept_at: number;
}

interface ReceiptRow {
  payment_hash: string;
  set_id: string;
  wallet_id: string;
  amount_msat: number;
  settled_at: number;
  delivered: number;
  attempts: number;
  next_attempt_at: number | null;
}

type ReceiptAck = { ok: true; transaction_id: string; duplicate: boolean };

/**
 * Receiving with AMP invoices (docs/decisions/0025). An AMP invoice is not a hold invoice: LND settles
 * every payment (HTLC set) itself, each under its own set id, and the invoice stays payable until it
 * expires. So the node keeps the invoice → wallet registry and one receipt row per (invoice, set id)
 * LND reports SETTLED — the dedupe: a set reported again (the stream, a replay, the sweep, after a
 * restart) finds its row. The row is the outbox item that credits the wallet: written before any
 * delivery, redelivered until the wallet acknowledges, and the wallet credits once per (invoice, set id).
 */
export class AmpInvoices implements Part {
  readonly name = "amp-invoices";
  readonly migrations = [
    `CREATE TABLE amp_invoices (
       payment_hash TEXT PRIMARY KEY, payment_addr TEXT NOT NULL, wallet_id TEXT NOT NULL,
       state TEXT NOT NULL CHECK (state IN ('open', 'closed')), expires_at INTEGER NOT NULL, created_at INTEGER NOT NULL,
       swept_at INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
     CREATE INDEX amp_invoices_open ON amp_invoices (swept_at) WHERE state = 'open';
     CREATE TABLE amp_receipts (
       payment_hash TEXT NOT NULL, set_id TEXT NOT NULL, wallet_id TEXT NOT NULL, amount_msat INTEGER NOT NULL,
       settled_at INTEGER NOT NULL, delivered INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER,
       PRIMARY KEY (payment_hash, set_id)) WITHOUT ROWID;
     CREATE INDEX amp_receipts_undelivered ON amp_receipts (next_attempt_at) WHERE next_attempt_at IS NOT NULL;`,
  ];
  readonly outbox: Outbox<ReceiptAck, true>;
  readonly tasks: readonly Task[];
  /** A SubscribeInvoices stream is open in this instance. */
  private watching = false;
  /** When the sweep last ran in this instance (0: not since wake-up, so it is due). */
  private sweptAt = 0;

  /** @param lnd the LND client for a call with this timeout (0: none, for streams). */
  constructor(
    private readonly kit: ActorKit,
    public lnd: (timeoutMs?: number) => LndRestClient,
    wallets: (wallet_id: string) => DurableObjectStub<WalletPort>,
  ) {
    this.outbox = new Outbox("amp-receipts", kit, new ReceiptColumns(kit), {
      send: (item) => wallets(item.destination).receiveAmpPayment(JSON.parse(item.payload) as AmpPaymentReceipt) as Promise<ReceiptAck | Refusal>,
      settle: (item, delivery) => this.settle(item, delivery),
    });
    this.tasks = [
      ...this.outbox.tasks,
      {
        name: "amp-invoices:sweep",
        nextDueAt: () => (this.kit.sql`SELECT 1 FROM amp_invoices WHERE state = 'open' LIMIT 1`.length ? this.sweptAt + AMP_SWEEP_INTERVAL_MS : null),
        run: () => this.sweep(),
      },
    ];
  }

  onStart(): void {
    if (this.kit.sql`SELECT 1 FROM amp_invoices WHERE state = 'open' LIMIT 1`.length) this.watch();
  }

  /** Creates an AMP invoice in LND (AddInvoice is_amp: LND draws the hash) for a wallet, and watches it. */
  async create(request: AmpInvoiceRequest): Promise<{ ok: true; payment_hash: string; payment_request: string } | Refusal> {
    let added;
    try {
      added = await this.lnd().addAmpInvoice({
        value_msat: request.amount_msat ?? 0,
        memo: request.description_hash ? undefined : (request.memo ?? undefined),
        description_hash: request.description_hash ?? undefined,
        expiry: request.expiry_s,
      });
    } catch (error) {
      return refuse("lightning_unavailable", `the Lightning node did not create the invoice: ${(error as Error).message}`);
    }
    // Registered only once LND made it: before that there is no hash. An invoice whose row is lost here (the
    // node died in between) was never answered to anyone, so nobody can pay it.
    const now = Date.now();
    this.kit.sql`INSERT INTO amp_invoices (payment_hash, payment_addr, wallet_id, state, expires_at, created_at, swept_at)
                 VALUES (${added.r_hash}, ${added.payment_addr}, ${request.wallet_id}, 'open', ${now + request.expiry_s * 1000}, ${now}, ${now})`;
    this.watch();
    this.kit.scheduler.arm(now + AMP_SWEEP_INTERVAL_MS);
    return { ok: true, payment_hash: added.r_hash, payment_request: added.payment_request };
  }

  /** The wallet of a hub AMP invoice, or null. */
  walletOf(payment_hash: string): string | null {
    return this.kit.sql<{ wallet_id: string }>`SELECT wallet_id FROM amp_invoices WHERE payment_hash = ${payment_hash}`[0]?.wallet_id ?? null;
  }

  /**
   * Applies LND's view of an AMP invoice (stream, lookup; any number of times): each set LND reports
   * SETTLED gets its receipt row once, delivered to the wallet. Returns how many sets were new.
   */
  async apply(invoice: Pick<Invoice, "r_hash" | "state" | "amp_invoice_state">): Promise<number> {
    const fresh = this.record(invoice);
    await Promise.all(fresh.map((id) => this.outbox.deliverById(id)));
    return fresh.length;
  }

  /** One unit of work: a receipt row per settled set not seen before; the invoice closed once LND canceled it. */
  private record(invoice: Pick<Invoice, "r_hash" | "state" | "amp_invoice_state">): string[] {
    return this.kit.unitOfWork.run(() => {
      const row = this.kit.sql<AmpInvoiceRow>`SELECT * FROM amp_invoices WHERE payment_hash = ${invoice.r_hash}`[0];
      if (!row) return [];
      const fresh: string[] = [];
      for (const [set_id, set] of Object.entries(invoice.amp_invoice_state)) {
        if (set.state !== "SETTLED" || set.amt_paid_msat <= 0) continue;
        const inserted = this.kit.sqlWrite`
          INSERT INTO amp_receipts (payment_hash, set_id, wallet_id, amount_msat, settled_at, next_attempt_at)
          VALUES (${row.payment_hash}, ${set_id}, ${row.wallet_id}, ${set.amt_paid_msat}, ${set.settle_time * 1000}, ${Date.now()})
          ON CONFLICT (payment_hash, set_id) DO NOTHING`;
        if (inserted) fresh.push(receiptId(row.payment_hash, set_id));
      }
      // Canceled (LND's expiry): no set can come any more, and this answer listed every settled one.
      if (invoice.state === "CANCELED") this.kit.sql`UPDATE amp_invoices SET state = 'closed' WHERE payment_hash = ${row.payment_hash}`;
      if (fresh.length) this.outbox.enqueued();
      return fresh;
    });
  }

  /**
   * Follows LND's invoice stream (SubscribeInvoices) in this instance. Not one SubscribeSingleInvoice per
   * invoice: lnd notifies an AMP set's settlement under the HTLCs' own hash, so only the stream of all
   * invoices carries it. No replay is asked for: the sweep catches up on what came while no stream was open.
   */
  private watch(): void {
    if (this.watching) return;
    this.watching = true;
    const follow = async () => {
      try {
        for await (const invoice of this.lnd(0).subscribeInvoices({})) {
          if (invoice.is_amp) await this.apply(invoice).catch(() => undefined);
        }
      } catch {
        // The stream broke (LND restarted, the tunnel dropped): the sweep catches up and resubscribes.
      } finally {
        this.watching = false;
      }
    };
    void follow();
  }

  /**
   * The sweep: looks up open AMP invoices, the longest unswept first (sets whose event was missed),
   * resubscribes what lost its stream, closes invoices past their expiry window.
   */
  async sweep(): Promise<void> {
    const now = Date.now();
    this.sweptAt = now;
    const rows = this.kit.sql<AmpInvoiceRow>`SELECT * FROM amp_invoices WHERE state = 'open' ORDER BY swept_at LIMIT ${AMP_SWEEP_LOOKUPS}`;
    if (rows.length) this.watch();
    for (const row of rows) {
      let found: Invoice;
      try {
        found = await this.lnd().lookupInvoice(row.payment_hash);
      } catch (error) {
        if (error instanceof LndError && error.code === GrpcCode.NOT_FOUND) {
          if (row.created_at < now - UNKNOWN_GRACE_MS) this.kit.sql`UPDATE amp_invoices SET state = 'closed' WHERE payment_hash = ${row.payment_hash}`;
          continue;
        }
        if (!(error instanceof LndError)) console.warn("AMP invoice sweep: LND unreachable, retrying later");
        return;
      }
      await this.apply(found);
      this.kit.sql`UPDATE amp_invoices SET swept_at = ${now} WHERE payment_hash = ${row.payment_hash}`;
      if (row.expires_at + AMP_EXPIRED_WINDOW_MS < now) this.kit.sql`UPDATE amp_invoices SET state = 'closed' WHERE payment_hash = ${row.payment_hash}`;
    }
  }

  /** The wallet acknowledged a receipt (or refused it for good): delivered. */
  private settle(item: OutboxItem, delivery: Delivery<ReceiptAck>): true | null {
    if (delivery.outcome === "returned") console.warn(`AMP receipt ${item.id}: the wallet refused it for good: ${delivery.reason}`);
    const [payment_hash, set_id] = item.id.split(":");
    const settled = this.kit.sqlWrite`
      UPDATE amp_receipts SET delivered = 1, attempts = 0, next_attempt_at = NULL
      WHERE payment_hash = ${payment_hash ?? ""} AND set_id = ${set_id ?? ""} AND delivered = 0`;
    return settled ? true : null;
  }
}

const receiptId = (payment_hash: string, set_id: string) => `${payment_hash}:${set_id}`;

const toItem = (r: ReceiptRow): OutboxItem => {
  const receipt: AmpPaymentReceipt = { payment_hash: r.payment_hash, set_id: r.set_id, amount_msat: r.amount_msat, settled_at: new Date(r.settled_at).toISOString() };
  return { id: receiptId(r.payment_hash, r.set_id), destination: r.wallet_id, payload: JSON.stringify(receipt), attempts: r.attempts, delivered: r.delivered === 1 };
};

/** The receipts' outbox over their rows' columns: a row is due until its wallet acknowledged it. */
class ReceiptColumns implements OutboxStore {
  constructor(private readonly kit: ActorKit) {}

  find(id: string): OutboxItem | null {
    const [payment_hash, set_id] = id.split(":");
    const row = this.kit.sql<ReceiptRow>`SELECT * FROM amp_receipts WHERE payment_hash = ${payment_hash ?? ""} AND set_id = ${set_id ?? ""}`[0];
    return row ? toItem(row) : null;
  }

  undelivered(limit: number): OutboxItem[] {
    return this.kit.sql<ReceiptRow>`SELECT * FROM amp_receipts WHERE next_attempt_at IS NOT NULL AND delivered = 0 ORDER BY next_attempt_at LIMIT ${limit}`.map(toItem);
  }

  nextAttemptAt(): number | null {
    return this.kit.sql<{ at: number | null }>`SELECT MIN(next_attempt_at) AS at FROM amp_receipts WHERE next_attempt_at IS NOT NULL AND delivered = 0`[0]?.at ?? null;
  }

  recordFailedAttempt(id: string, nextAttemptAt: number): void {
    const [payment_hash, set_id] = id.split(":");
    this.kit.sql`UPDATE amp_receipts SET attempts = attempts + 1, next_attempt_at = ${nextAttemptAt} WHERE payment_hash = ${payment_hash ?? ""} AND set_id = ${set_id ?? ""}`;
  }
}
