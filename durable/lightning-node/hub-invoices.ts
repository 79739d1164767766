import { refuse, type Refusal } from "../../src/errors";
import { GrpcCode, LndError, type Invoice, type LndRestClient } from "../../src/lightning";
import type { Msat } from "../../src/money";
import type { ActorKit, Part, Task } from "../kit/part";
import type { HoldInvoiceRequest, WalletPort } from "../ports";

/** How often the sweep looks for accepted invoices whose event was missed. */
export const SWEEP_INTERVAL_MS = 15_000;
/** Pending invoices one sweep lists, and invoices it looks up one by one at most. */
const SWEEP_PAGE = 1000;
const SWEEP_LOOKUPS = 50;
/** An invoice stays watched this long past its expiry, for an HTLC accepted at the last moment. */
const EXPIRY_GRACE_MS = 60_000;
/** An invoice LND does not know is given up by the sweep once this old (no creation takes as long). */
const UNKNOWN_GRACE_MS = 60_000;
/**
 * How long after its expiry an invoice is still looked for among LND's ACCEPTED ones: an HTLC that
 * arrived just in time (its event missed), or one whose cancel failed when it came, is held there
 * until the sweep credits or cancels it (LND gives a held HTLC back only near its CLTV expiry).
 */
const EXPIRED_HELD_WINDOW_MS = 24 * 3600_000;

interface InvoiceRow {
  payment_hash: string;
  wallet_id: string;
  state: string;
  expires_at: number;
  created_at: number;
}

/**
 * The payment-hash → wallet registry of the hub's invoices and the consumer of LND's invoice
 * events: an accepted HTLC is credited by its wallet, then settled in LND with the preimage the
 * wallet returns. Streams follow each invoice; the sweep catches up on what a stream missed.
 */
export class HubInvoices implements Part {
  readonly name = "hub-invoices";
  // state: open | credited (wallet credited, LND not yet settled) | settled | canceled | expired
  readonly migrations = [
    `CREATE TABLE invoices (
       payment_hash TEXT PRIMARY KEY, wallet_id TEXT NOT NULL, state TEXT NOT NULL,
       expires_at INTEGER NOT NULL, created_at INTEGER NOT NULL);
     CREATE INDEX invoices_pending ON invoices (state) WHERE state IN ('open', 'credited');`,
    // Invoices expired lately: the sweep still looks for an HTLC LND holds for one (EXPIRED_HELD_WINDOW_MS).
    `CREATE INDEX invoices_expired ON invoices (expires_at) WHERE state = 'expired';`,
  ];
  readonly tasks: readonly Task[] = [
    {
      name: "hub-invoices:sweep",
      nextDueAt: () =>
        this.kit.sql`SELECT 1 FROM invoices WHERE state IN ('open', 'credited') LIMIT 1`.length || this.expiredLately(Date.now()).length ? this.sweptAt + SWEEP_INTERVAL_MS : null,
      run: () => this.sweep(),
    },
  ];
  /** Hashes with a live single-invoice subscription in this instance. */
  private readonly watching = new Set<string>();
  /** When the sweep last ran in this instance (0: not since wake-up, so it is due). */
  private sweptAt = 0;

  /**
   * @param lnd the LND client for a call with this timeout (0: none, for streams); a seam the
   *   regtest tier wraps to lose a call on purpose.
   */
  constructor(
    private readonly kit: ActorKit,
    public lnd: (timeoutMs?: number) => LndRestClient,
    private readonly wallets: (wallet_id: string) => DurableObjectStub<WalletPort>,
  ) {}

  /** Creates a hold invoice in LND for a wallet (which keeps the preimage) and watches it. */
  async create(request: HoldInvoiceRequest): Promise<{ ok: true; payment_request: string } | Refusal> {
    const now = Date.now();
    this.kit.sql`INSERT INTO invoices (payment_hash, wallet_id, state, expires_at, created_at)
                 VALUES (${request.payment_hash}, ${request.wallet_id}, 'open', ${now + request.expiry_s * 1000}, ${now})`;
    try {
      const { payment_request } = await this.lnd().addHoldInvoice({
        hash: request.payment_hash,
        value_msat: request.amount_msat ?? 0,
        memo: request.description_hash ? undefined : (request.memo ?? undefined),
        description_hash: request.description_hash ?? undefined,
        expiry: request.expiry_s,
      });
      this.watch(request.payment_hash);
      this.kit.scheduler.arm(Date.now() + SWEEP_INTERVAL_MS);
      return { ok: true, payment_request };
    } catch (error) {
      this.kit.sql`DELETE FROM invoices WHERE payment_hash = ${request.payment_hash}`;
      return refuse("lightning_unavailable", `the Lightning node did not create the invoice: ${(error as Error).message}`);
    }
  }

  /** The wallet of a hub invoice, or null for a hash the hub did not issue. */
  walletOf(payment_hash: string): string | null {
    return this.kit.sql<{ wallet_id: string }>`SELECT wallet_id FROM invoices WHERE payment_hash = ${payment_hash}`[0]?.wallet_id ?? null;
  }

  /** A hub invoice was paid inside the hub: cancel it in LND so no outside HTLC can pay it too. */
  async paidInternally(payment_hash: string): Promise<void> {
    try {
      await this.lnd().cancelInvoice(payment_hash);
    } catch {
      // Still open in LND, and still watched: an HTLC arriving later is refused by the wallet and canceled then.
      return;
    }
    this.kit.sql`UPDATE invoices SET state = 'settled' WHERE payment_hash = ${payment_hash}`;
  }

  /** Applies one invoice update from LND (stream or sweep); safe to deliver any number of times. */
  async apply(update: Pick<Invoice, "r_hash" | "state" | "amt_paid_msat">): Promise<string> {
    const row = this.kit.sql<InvoiceRow>`SELECT * FROM invoices WHERE payment_hash = ${update.r_hash}`[0];
    if (!row) return "unknown";
    switch (update.state) {
      case "ACCEPTED":
        return row.state === "open" || row.state === "credited" || row.state === "expired" ? this.creditAndSettle(row, update.amt_paid_msat) : row.state;
      case "SETTLED":
        this.kit.sql`UPDATE invoices SET state = 'settled' WHERE payment_hash = ${row.payment_hash}`;
        return "settled";
      case "CANCELED":
        if (row.state !== "settled") this.kit.sql`UPDATE invoices SET state = 'canceled' WHERE payment_hash = ${row.payment_hash}`;
        return "canceled";
      default:
        return row.state;
    }
  }

  /** The wallet credits (idempotent by hash) and hands back the preimage; only then is LND settled. */
  private async creditAndSettle(row: InvoiceRow, amount_msat: Msat): Promise<string> {
    const credited = await this.wallets(row.wallet_id).creditInvoice(row.payment_hash, amount_msat);
    if (!credited.ok) {
      // Paid internally or canceled meanwhile: the outside HTLC goes back to its payer. Marked canceled only
      // once LND canceled it: if LND cannot be reached, the row stays as it was (open: the sweep lists the
      // ACCEPTED invoice again and cancels it then), or the HTLC would be held until it timed out.
      try {
        await this.lnd().cancelInvoice(row.payment_hash);
      } catch {
        this.kit.scheduler.arm(Date.now() + SWEEP_INTERVAL_MS);
        return row.state;
      }
      this.kit.sql`UPDATE invoices SET state = 'canceled' WHERE payment_hash = ${row.payment_hash}`;
      return "canceled";
    }
    this.kit.sql`UPDATE invoices SET state = 'credited' WHERE payment_hash = ${row.payment_hash} AND state <> 'settled'`;
    try {
      await this.lnd().settleInvoice(credited.preimage);
      this.kit.sql`UPDATE invoices SET state = 'settled' WHERE payment_hash = ${row.payment_hash}`;
      return "settled";
    } catch {
      this.kit.scheduler.arm(Date.now() + SWEEP_INTERVAL_MS); // the sweep settles it later: the wallet answers with the same preimage
      return "credited";
    }
  }

  /** Invoices expired within EXPIRED_HELD_WINDOW_MS (of their expiry) of `now`. */
  private expiredLately(now: number): { payment_hash: string }[] {
    return this.kit.sql<{ payment_hash: string }>`SELECT payment_hash FROM invoices WHERE state = 'expired' AND expires_at > ${now - EXPIRED_HELD_WINDOW_MS}`;
  }

  /** Follows one invoice's state in LND until it is final. */
  private watch(payment_hash: string): void {
    if (this.watching.has(payment_hash)) return;
    this.watching.add(payment_hash);
    const follow = async () => {
      try {
        for await (const invoice of this.lnd(0).subscribeSingleInvoice(payment_hash, { firstMessageTimeoutMs: 30_000 })) {
          const state = await this.apply(invoice);
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
   * The sweep: finds accepted invoices whose event was missed, retries settlements, expires what
   * LND has expired, and resubscribes what lost its stream.
   */
  private async sweep(): Promise<void> {
    const now = Date.now();
    this.sweptAt = now;
    this.kit.sql`UPDATE invoices SET state = 'expired' WHERE state = 'open' AND expires_at < ${now - EXPIRY_GRACE_MS}`;
    const pending = this.kit.sql<InvoiceRow>`SELECT * FROM invoices WHERE state IN ('open', 'credited') ORDER BY created_at`;
    const lately = this.expiredLately(now);
    if (pending.length === 0 && lately.length === 0) return;
    try {
      // One listing of LND's pending (OPEN and ACCEPTED) invoices covers the common case.
      const { invoices } = await this.lnd().listInvoices({ pending_only: true, num_max_invoices: SWEEP_PAGE, reversed: true });
      const inLnd = new Map(invoices.map((i) => [i.r_hash, i]));
      let lookups = 0;
      for (const row of pending) {
        const listed = inLnd.get(row.payment_hash);
        if (row.state === "credited") {
          await this.apply({ r_hash: row.payment_hash, state: "ACCEPTED", amt_paid_msat: 0 });
        } else if (listed) {
          await this.apply(listed);
          if (listed.state === "OPEN") this.watch(row.payment_hash);
        } else if (lookups++ < SWEEP_LOOKUPS) {
          // Not pending in LND (settled or canceled there), or beyond the listing: ask for it.
          let found: Invoice;
          try {
            found = await this.lnd().lookupInvoice(row.payment_hash);
          } catch (error) {
            // LND does not know it (its creation was cut short: the node died between the row and LND's
            // answer): it can never be paid. Skipped, not the end of the sweep (every invoice after it
            // went unswept while it stayed), and given up once older than any creation in progress.
            if (!(error instanceof LndError) || error.code !== GrpcCode.NOT_FOUND) throw error;
            if (row.created_at < now - UNKNOWN_GRACE_MS) this.kit.sql`UPDATE invoices SET state = 'canceled' WHERE payment_hash = ${row.payment_hash} AND state = 'open'`;
            continue;
          }
          await this.apply(found);
        }
      }
      // Expired here, an HTLC held in LND: credited (LND accepted it in time) or given back to its payer.
      for (const { payment_hash } of lately) {
        const listed = inLnd.get(payment_hash);
        if (listed?.state === "ACCEPTED") await this.apply(listed);
      }
    } catch (error) {
      if (!(error instanceof LndError)) console.warn("invoice sweep: LND unreachable, retrying later");
    }
  }
}
