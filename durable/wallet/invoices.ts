import { refuse, type Refusal } from "../../src/errors";
import { sha256HexOfBytes } from "../../src/hash";
import { randomHex } from "../../src/ids";
import { journals } from "../../src/ledger";
import { hexToBytes } from "../../src/lightning/bytes";
import type { Msat } from "../../src/money";
import { isAcceptableInvoiceCredit } from "../../src/payment-rules";
import type { ApiAnswer, Invoice, TransferPayload } from "../../src/wallet-types";
import type { Counterparty, Transaction } from "../../src/schemas";
import type { ActorKit, Part } from "../kit/part";
import type { AmpPaymentReceipt, CreateInvoiceRequest, LightningNodePort } from "../ports";
import type { AmpReceipts } from "./amp-receipts";
import type { EventLog } from "./event-log";
import { newTransaction, type History } from "./history";
import type { Identity } from "./identity";
import type { Ledger } from "./ledger";
import type { Transfers } from "./transfers";

interface InvoiceRow {
  payment_hash: string;
  preimage: string;
  payment_request: string | null;
  amount_msat: number | null;
  memo: string | null;
  status: Invoice["status"];
  expires_at: string;
  created_at: string;
  paid_at: string | null;
  paid_msat: number | null;
  paid_via: "lnd" | "internal" | null;
  metadata: string | null;
  external_id: string | null;
  comment: string | null;
  amp: number;
}

/**
 * Receiving over Lightning: hold invoices whose preimage only this wallet knows. LND holds an
 * incoming HTLC until the wallet has credited it (then the node settles with the preimage); a hub
 * wallet paying one of them pays it inside the hub, as a transfer.
 */
export class Invoices implements Part {
  readonly name = "invoices";
  readonly migrations = [
    `CREATE TABLE invoices (
       payment_hash TEXT PRIMARY KEY, preimage TEXT NOT NULL, payment_request TEXT,
       amount_msat INTEGER, memo TEXT, status TEXT NOT NULL, expires_at TEXT NOT NULL, created_at TEXT NOT NULL,
       paid_at TEXT, paid_msat INTEGER, paid_via TEXT, transaction_id TEXT);`,
    // Partners' data on an invoice (issue 11) and what LNURL-pay needs (a payer's comment).
    `ALTER TABLE invoices ADD COLUMN metadata TEXT;
     ALTER TABLE invoices ADD COLUMN external_id TEXT;
     ALTER TABLE invoices ADD COLUMN comment TEXT;
     CREATE UNIQUE INDEX invoices_by_external_id ON invoices (external_id) WHERE external_id IS NOT NULL;
     CREATE INDEX invoices_by_age ON invoices (created_at);`,
    // AMP invoices (docs/decisions/0025): no preimage here (LND settles each payment itself), paid any number of times.
    `ALTER TABLE invoices ADD COLUMN amp INTEGER NOT NULL DEFAULT 0;`,
  ];

  constructor(
    private readonly kit: ActorKit,
    private readonly identity: Identity,
    private readonly ledger: Ledger,
    private readonly history: History,
    private readonly events: EventLog,
    private readonly transfers: Transfers,
    private readonly node: () => DurableObjectStub<LightningNodePort>,
    private readonly amp: AmpReceipts,
  ) {}

  /** Creates a hold invoice: the preimage is stored before LND knows the hash, so an accepted HTLC always finds it. */
  async create(request: CreateInvoiceRequest): Promise<ApiAnswer<Invoice> | Refusal> {
    const identity = this.identity.get();
    if (!identity) return refuse("not_found", "wallet not opened");
    const preimage = randomHex(32);
    const payment_hash = await sha256HexOfBytes(hexToBytes(preimage));
    const created_at = new Date().toISOString();
    const expires_at = new Date(Date.now() + request.expiry_s * 1000).toISOString();
    const metadata = request.metadata ? JSON.stringify(request.metadata) : null;
    const external_id = request.external_id ?? null;
    // The unique index is what decides; the look first only gives a clear answer without an LND call.
    if (external_id !== null && this.kit.sql`SELECT 1 FROM invoices WHERE external_id = ${external_id}`.length) return externalIdTaken(external_id);
    if (request.amp) return this.createAmp(request, identity.wallet_id, { created_at, expires_at, metadata, external_id });
    try {
      this.kit.sql`INSERT INTO invoices (payment_hash, preimage, amount_msat, memo, status, expires_at, created_at, metadata, external_id, comment)
                   VALUES (${payment_hash}, ${preimage}, ${request.amount_msat}, ${request.memo}, 'open', ${expires_at}, ${created_at}, ${metadata}, ${external_id}, ${request.comment ?? null})`;
    } catch (error) {
      if (external_id !== null && /UNIQUE/.test(String(error))) return externalIdTaken(external_id);
      throw error;
    }
    const created = await this.node().createHoldInvoice({
      payment_hash,
      wallet_id: identity.wallet_id,
      amount_msat: request.amount_msat,
      memo: request.memo,
      expiry_s: request.expiry_s,
      description_hash: request.description_hash ?? null,
    });
    if (!created.ok) {
      // Never issued: its external id is free for another try.
      this.kit.sql`UPDATE invoices SET status = 'canceled', external_id = NULL WHERE payment_hash = ${payment_hash}`;
      return created;
    }
    this.kit.sql`UPDATE invoices SET payment_request = ${created.payment_request} WHERE payment_hash = ${payment_hash}`;
    return { ok: true, status: 201, body: this.byHash(payment_hash)! };
  }

  /**
   * An AMP invoice: LND draws its hash (AddInvoice is_amp) and settles each payment itself, so there is no
   * preimage to keep; the row is written once LND answered. Each payment is credited when the node actor
   * delivers its set (creditAmpFromLnd), even if this row were lost, so nothing is written first.
   */
  private async createAmp(
    request: CreateInvoiceRequest,
    wallet_id: string,
    row: { created_at: string; expires_at: string; metadata: string | null; external_id: string | null },
  ): Promise<ApiAnswer<Invoice> | Refusal> {
    const created = await this.node().createAmpInvoice({
      wallet_id,
      amount_msat: request.amount_msat,
      memo: request.memo,
      expiry_s: request.expiry_s,
      description_hash: request.description_hash ?? null,
    });
    if (!created.ok) return created;
    try {
      this.kit.sql`INSERT INTO invoices (payment_hash, preimage, payment_request, amount_msat, memo, status, expires_at, created_at, metadata, external_id, comment, amp)
                   VALUES (${created.payment_hash}, '', ${created.payment_request}, ${request.amount_msat}, ${request.memo}, 'open', ${row.expires_at}, ${row.created_at},
                           ${row.metadata}, ${row.external_id}, ${request.comment ?? null}, 1)`;
    } catch (error) {
      // Another request took the external id meanwhile: this invoice is not answered (its payments, if any, are still credited).
      if (row.external_id !== null && /UNIQUE/.test(String(error))) return externalIdTaken(row.external_id);
      throw error;
    }
    return { ok: true, status: 201, body: this.byHash(created.payment_hash)! };
  }

  /**
   * One payment (set) of an AMP invoice that LND settled, delivered by the node actor's outbox: credited
   * once per (invoice, set id) — the history row, the double entry, the receipt row and `invoice.paid`
   * (with the set id) in one unit of work; delivered again, only acknowledged.
   */
  creditAmpFromLnd(receipt: AmpPaymentReceipt): { ok: true; transaction_id: string; duplicate: boolean } | Refusal {
    const credited = this.amp.creditedBy(receipt.payment_hash, receipt.set_id);
    if (credited) return { ok: true, transaction_id: credited, duplicate: true };
    if (!Number.isSafeInteger(receipt.amount_msat) || receipt.amount_msat <= 0) return refuse("invalid_request", `cannot credit ${receipt.amount_msat} msat`);
    const transaction_id = this.creditAmpPayment(
      { payment_hash: receipt.payment_hash, receipt_id: receipt.set_id, set_id: receipt.set_id, amount_msat: receipt.amount_msat, via: "lnd", counterparty: null, memo: this.row(receipt.payment_hash)?.memo ?? null },
      (transaction, now) => {
        this.history.insert(transaction);
        this.ledger.post(`${receipt.payment_hash}:${receipt.set_id}:received`, journals.invoiceCredit(receipt.amount_msat), now);
      },
    );
    return { ok: true, transaction_id, duplicate: false };
  }

  /**
   * One unit of work for a payment of an AMP invoice, from LND or from another hub wallet: its history row and
   * double entry (`book`), its receipt row (unique per invoice and receipt: a second credit rolls back), the
   * invoice's running total (it stays open, payable again) and `invoice.paid` with the set id.
   */
  private creditAmpPayment(
    p: { payment_hash: string; receipt_id: string; set_id: string | null; amount_msat: Msat; via: "lnd" | "internal"; counterparty: Counterparty | null; memo: string | null },
    book: (transaction: Transaction, now: string) => void,
  ): string {
    const now = new Date().toISOString();
    return this.kit.unitOfWork.run(() => {
      const transaction = newTransaction({ kind: "lightning", direction: "in", amount_msat: p.amount_msat, status: "succeeded", counterparty: p.counterparty, memo: p.memo }, now);
      book(transaction, now);
      this.amp.insert({ payment_hash: p.payment_hash, receipt_id: p.receipt_id, set_id: p.set_id, amount_msat: p.amount_msat, transaction_id: transaction.id, paid_at: now });
      this.kit.sql`UPDATE invoices SET paid_at = ${now}, paid_msat = COALESCE(paid_msat, 0) + ${p.amount_msat}, paid_via = ${p.via}, transaction_id = ${transaction.id}
                   WHERE payment_hash = ${p.payment_hash} AND amp = 1`;
      this.events.append("invoice.paid", { invoice: this.byHash(p.payment_hash), transaction, amp_set_id: p.set_id, balance_msat: this.ledger.balanceOf("wallet") }, now);
      return transaction.id;
    });
  }

  /** One of this wallet's invoices as the API shows it (expired once past its time), or null. */
  byHash(payment_hash: string): Invoice | null {
    const row = this.kit.sql<InvoiceRow>`SELECT * FROM invoices WHERE payment_hash = ${payment_hash} AND payment_request IS NOT NULL`[0];
    return row ? this.view(row) : null;
  }

  /** An invoice as the API shows it; an AMP invoice with its payments. */
  private view(row: InvoiceRow): Invoice {
    const invoice = toInvoice(row);
    return row.amp ? { ...invoice, amp: true, amp_payments: this.amp.of(row.payment_hash) } : invoice;
  }

  /** LUD-21: paid or not, the preimage only once paid (it proves the payment), and the payment request. */
  verification(payment_hash: string): { settled: boolean; preimage: string | null; pr: string } | null {
    const row = this.kit.sql<InvoiceRow>`SELECT * FROM invoices WHERE payment_hash = ${payment_hash} AND payment_request IS NOT NULL`[0];
    if (!row) return null;
    const settled = row.status === "paid";
    return { settled, preimage: settled ? row.preimage : null, pr: row.payment_request! };
  }

  /** Issued invoices, newest first; or the one with this `external_id`. */
  page(q: { external_id: string | null; limit: number; cursor: string | null }): { invoices: Invoice[]; next_cursor: string | null } {
    if (q.external_id !== null) {
      const row = this.kit.sql<InvoiceRow>`SELECT * FROM invoices WHERE external_id = ${q.external_id} AND payment_request IS NOT NULL`[0];
      return { invoices: row ? [this.view(row)] : [], next_cursor: null };
    }
    const before = q.cursor === null ? Number.MAX_SAFE_INTEGER : Number(q.cursor);
    const rows = this.kit.sql<InvoiceRow & { rowid: number }>`
      SELECT rowid, * FROM invoices WHERE payment_request IS NOT NULL AND rowid < ${before} ORDER BY rowid DESC LIMIT ${q.limit + 1}`;
    const page = rows.slice(0, q.limit);
    const last = page[page.length - 1];
    return { invoices: page.map((r) => this.view(r)), next_cursor: rows.length > q.limit && last ? String(last.rowid) : null };
  }

  private row(payment_hash: string): InvoiceRow | undefined {
    return this.kit.sql<InvoiceRow>`SELECT * FROM invoices WHERE payment_hash = ${payment_hash}`[0];
  }

  /**
   * LND holds an HTLC for one of our invoices: credit once (idempotent by hash) and return the
   * preimage that lets the node settle it.
   */
  creditFromLnd(payment_hash: string, amount_msat: Msat): { ok: true; preimage: string } | Refusal {
    const row = this.row(payment_hash);
    if (!row) return refuse("not_found", "no such invoice");
    if (row.amp) return refuse("not_found", "an AMP invoice is not a hold invoice");
    if (row.status === "paid") return row.paid_via === "lnd" ? { ok: true, preimage: row.preimage } : refuse("already_paid", "paid inside the hub");
    if (row.status === "canceled") return refuse("not_found", "invoice canceled");
    if (!isAcceptableInvoiceCredit(amount_msat, row.amount_msat)) return refuse("invalid_request", `cannot credit ${amount_msat} msat for this invoice`);
    // An HTLC LND accepted is money the node holds, even if our clock says the invoice just expired.
    const now = new Date().toISOString();
    this.kit.unitOfWork.run(() => {
      const transaction = newTransaction({ kind: "lightning", direction: "in", amount_msat, status: "succeeded", counterparty: null, memo: row.memo }, now);
      this.history.insert(transaction);
      this.ledger.post(`${payment_hash}:received`, journals.invoiceCredit(amount_msat), now);
      this.markPaid(payment_hash, amount_msat, "lnd", transaction.id, now);
      this.events.append("invoice.paid", { invoice: this.byHash(payment_hash), transaction, balance_msat: this.ledger.balanceOf("wallet") }, now);
    });
    return { ok: true, preimage: row.preimage };
  }

  /** Credits another hub wallet's payment of one of our invoices; the same transfer again only acknowledges. */
  creditFromWallet(payload: TransferPayload): { ok: true; preimage: string } | Refusal {
    const seen = this.transfers.seen(payload.transfer_id) !== null;
    const row = this.row(payload.payment_hash ?? "");
    if (!row) return refuse("not_found", "no such invoice");
    if (seen) return { ok: true, preimage: row.preimage };
    if (row.amp) return this.creditAmpFromWallet(payload, row);
    if (row.status === "paid") return refuse("already_paid", "this invoice was already paid");
    if (row.status === "canceled") return refuse("not_found", "this invoice was canceled");
    if (Date.parse(row.expires_at) < Date.now()) return refuse("invoice_expired", "this invoice has expired");
    if (row.amount_msat !== null && payload.amount_msat !== row.amount_msat) return refuse("invalid_request", "amount does not match the invoice");
    const now = new Date().toISOString();
    this.kit.unitOfWork.run(() => {
      const transaction = newTransaction({ kind: "lightning", direction: "in", amount_msat: payload.amount_msat, status: "succeeded", counterparty: payload.from, memo: row.memo }, now);
      this.transfers.insertIncoming(transaction, payload.transfer_id);
      this.ledger.post(`${payload.transfer_id}:credit`, journals.transferCredit(payload.amount_msat), now);
      this.markPaid(row.payment_hash, payload.amount_msat, "internal", transaction.id, now);
      this.events.append("invoice.paid", { invoice: this.byHash(row.payment_hash), transaction, balance_msat: this.ledger.balanceOf("wallet") }, now);
    });
    // No outside HTLC may pay it too; if this call is lost, the wallet refuses such an HTLC anyway.
    this.kit.ctx.waitUntil(this.node().invoicePaidInternally(row.payment_hash).catch(() => undefined));
    return { ok: true, preimage: row.preimage };
  }

  /** Another hub wallet pays one of our AMP invoices (inside the hub, no set id): credited once per transfer; the invoice stays open. */
  private creditAmpFromWallet(payload: TransferPayload, row: InvoiceRow): { ok: true; preimage: string } | Refusal {
    if (row.status === "canceled") return refuse("not_found", "this invoice was canceled");
    if (Date.parse(row.expires_at) < Date.now()) return refuse("invoice_expired", "this invoice has expired");
    if (row.amount_msat !== null && payload.amount_msat !== row.amount_msat) return refuse("invalid_request", "amount does not match the invoice");
    this.creditAmpPayment(
      { payment_hash: row.payment_hash, receipt_id: payload.transfer_id, set_id: null, amount_msat: payload.amount_msat, via: "internal", counterparty: payload.from, memo: row.memo },
      (transaction, now) => {
        this.transfers.insertIncoming(transaction, payload.transfer_id);
        this.ledger.post(`${payload.transfer_id}:credit`, journals.transferCredit(payload.amount_msat), now);
      },
    );
    // No preimage: the payer's payment of an AMP invoice inside the hub succeeds on this acknowledgement.
    return { ok: true, preimage: "" };
  }

  private markPaid(payment_hash: string, amount_msat: Msat, via: "lnd" | "internal", transaction_id: string, now: string): void {
    this.kit.sql`UPDATE invoices SET status = 'paid', paid_at = ${now}, paid_msat = ${amount_msat}, paid_via = ${via}, transaction_id = ${transaction_id}
                 WHERE payment_hash = ${payment_hash}`;
  }
}

const externalIdTaken = (external_id: string) => refuse("conflict", `an invoice with external_id ${JSON.stringify(external_id)} exists`);

/** An invoice as the API shows it: expired once past its time, metadata as an object. */
function toInvoice(row: InvoiceRow): Invoice {
  const expired = row.status === "open" && Date.parse(row.expires_at) <= Date.now();
  return {
    payment_hash: row.payment_hash,
    payment_request: row.payment_request!,
    amount_msat: row.amount_msat,
    memo: row.memo,
    status: expired ? "expired" : row.status,
    expires_at: row.expires_at,
    created_at: row.created_at,
    paid_at: row.paid_at,
    paid_msat: row.paid_msat,
    metadata: row.metadata ? (JSON.parse(row.metadata) as Record<string, string>) : null,
    external_id: row.external_id,
    comment: row.comment,
  };
}
