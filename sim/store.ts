// The simulator's SQLite state: counters, knobs, channel balances, pending
// HTLCs, the hub node's invoices and payments, and the outside nodes'
// invoices. Records with nested parts are stored as JSON next to the columns
// that queries filter on. All calls are synchronous (Durable Object SQLite).

import { CHANNELS, type NodeName } from "./topology";

export type InvoiceState = "OPEN" | "ACCEPTED" | "SETTLED" | "CANCELED";
export type HtlcState = "ACCEPTED" | "SETTLED" | "CANCELED";
export type PaymentStatus = "IN_FLIGHT" | "SUCCEEDED" | "FAILED";

/** One HTLC paying a hub invoice. */
export interface InvoiceHtlc {
  chanId: string;
  htlcIndex: number;
  amtMsat: number;
  acceptHeight: number;
  acceptTime: number;
  resolveTime: number;
  expiryHeight: number;
  state: HtlcState;
  /** the HTLC chain (see htlcs table) that carries it. */
  chain: string;
  /** AMP: the set it belongs to (hex). */
  setId?: string;
}

/** A hold invoice of the hub node. */
export interface HubInvoice {
  hash: string;
  preimage: string | null;
  memo: string;
  descriptionHash: string | null;
  valueMsat: number;
  paymentRequest: string;
  paymentAddr: string;
  /** seconds */
  expiry: number;
  cltvExpiry: number;
  /** as requested; LND reports `private` only when it added route hints, which it never does here. */
  private: boolean;
  creationDate: number;
  settleDate: number;
  addIndex: number;
  settleIndex: number;
  state: InvoiceState;
  amtPaidMsat: number;
  htlcs: InvoiceHtlc[];
  /** An AMP invoice (AddInvoice is_amp): never ACCEPTED; each HTLC set LND settles itself, under its own set id. */
  isAmp?: boolean;
  /** AMP: the settled sets, in settle order (LND's amp_invoice_state). */
  ampSets?: AmpSet[];
}

/** One paid (settled) set of an AMP invoice. */
export interface AmpSet {
  setId: string;
  settleIndex: number;
  /** unix seconds */
  settleTime: number;
  amtPaidMsat: number;
}

export interface RouteHop {
  chanId: string;
  chanCapacitySat: number;
  pubkey: string;
  node: NodeName;
  amtToForwardMsat: number;
  feeMsat: number;
  expiry: number;
}

export interface Route {
  totalTimeLock: number;
  totalFeesMsat: number;
  totalAmtMsat: number;
  hops: RouteHop[];
  /** nodes along the route, sender first. */
  nodes: NodeName[];
}

export interface HtlcFailure {
  code: string;
  failureSourceIndex: number;
  htlcMsat: number;
  height: number;
}

export interface Attempt {
  attemptId: number;
  status: "IN_FLIGHT" | "SUCCEEDED" | "FAILED";
  route: Route;
  attemptTimeNs: string;
  resolveTimeNs: string;
  failure: HtlcFailure | null;
  preimage: string | null;
  chain: string;
}

/** An outgoing payment of the hub node. */
export interface HubPayment {
  hash: string;
  paymentIndex: number;
  paymentRequest: string;
  /** the invoice's payment secret, hex (the final hop's MPP record). */
  paymentAddr: string;
  valueMsat: number;
  feeMsat: number;
  status: PaymentStatus;
  failureReason: string;
  preimage: string | null;
  creationTimeNs: string;
  attempts: Attempt[];
  /** when the in-flight attempt resolves (ms), for payments to outside nodes. */
  resolveAtMs: number | null;
  outcome: "succeed" | "fail";
  /**
   * Still pathfinding (knob payment_pathfinding_ms): recorded IN_FLIGHT with no HTLC attempt yet, as lnd
   * lists a payment before its first attempt; at resolveAtMs its first attempt starts with this.
   */
  deferred?: { decoded: { payee: string; payment_hash: string; payment_secret: string; min_final_cltv_expiry: number }; feeLimitMsat: number; outgoingChanIds: string[]; lastHopPubkey: string; knobs: Record<string, unknown> };
}

/** An invoice of an outside node, created through /sim/invoices. */
export interface OutsideInvoice {
  hash: string;
  preimage: string;
  node: NodeName;
  paymentRequest: string;
  paymentAddr: string;
  amountMsat: number | null;
  expiresAtMs: number;
  /** payment knobs that apply when the hub pays this invoice. */
  knobs: Record<string, unknown>;
  paid: boolean;
  /** a hold invoice: a payment stays in flight until /sim/invoices/settle or /cancel. */
  hold?: boolean;
  /** An AMP invoice of the outside node: paid any number of times (SendPaymentV2 with amp), each payment its own set id. */
  amp?: boolean;
  /** open → accepted (an HTLC is held) → settled or canceled; absent = open. */
  state?: "open" | "accepted" | "settled" | "canceled";
}

export interface ChannelBalance {
  chanId: string;
  /** committed balances, excluding pending HTLCs. */
  aMsat: number;
  bMsat: number;
  aSentMsat: number;
  bSentMsat: number;
  numUpdates: number;
}

export interface PendingHtlc {
  id: number;
  chain: string;
  chanId: string;
  /** true when the HTLC goes from side a to side b. */
  fromA: boolean;
  amountMsat: number;
  hash: string;
  expiryHeight: number;
  htlcIndex: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS knobs (scope TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS channels (
  chan_id TEXT PRIMARY KEY, a_msat INTEGER NOT NULL, b_msat INTEGER NOT NULL,
  a_sent_msat INTEGER NOT NULL DEFAULT 0, b_sent_msat INTEGER NOT NULL DEFAULT 0,
  num_updates INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS htlcs (
  id INTEGER PRIMARY KEY AUTOINCREMENT, chain TEXT NOT NULL, chan_id TEXT NOT NULL,
  from_a INTEGER NOT NULL, amount_msat INTEGER NOT NULL, hash TEXT NOT NULL,
  expiry_height INTEGER NOT NULL, htlc_index INTEGER NOT NULL, state TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS htlcs_chain ON htlcs (chain);
CREATE TABLE IF NOT EXISTS invoices (
  hash TEXT PRIMARY KEY, add_index INTEGER NOT NULL UNIQUE, settle_index INTEGER NOT NULL,
  state TEXT NOT NULL, creation_date INTEGER NOT NULL, expires_at_ms INTEGER NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS invoices_open ON invoices (state, expires_at_ms);
CREATE TABLE IF NOT EXISTS payments (
  hash TEXT PRIMARY KEY, payment_index INTEGER NOT NULL, status TEXT NOT NULL,
  resolve_at_ms INTEGER, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outside_invoices (hash TEXT PRIMARY KEY, data TEXT NOT NULL);
`;

type Row = Record<string, SqlStorageValue>;

export class Store {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(SCHEMA);
    this.seedChannels();
    if (this.counter("genesis_ms") === 0) this.setCounter("genesis_ms", Date.now());
  }

  /** Drops everything: the network restarts from its opening state. */
  wipe(): void {
    for (const table of ["counters", "knobs", "channels", "htlcs", "invoices", "payments", "outside_invoices"]) {
      this.sql.exec(`DELETE FROM ${table}`);
    }
    this.seedChannels();
    this.setCounter("genesis_ms", Date.now());
  }

  private rows(query: string, ...params: SqlStorageValue[]): Row[] {
    return this.sql.exec<Row>(query, ...params).toArray();
  }

  // ---- counters ----

  counter(name: string): number {
    return Number(this.rows("SELECT value FROM counters WHERE name = ?", name)[0]?.value ?? 0);
  }

  setCounter(name: string, value: number): void {
    this.sql.exec("INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value", name, value);
  }

  /** The next value of a 1-based sequence. */
  next(name: string): number {
    const value = this.counter(name) + 1;
    this.setCounter(name, value);
    return value;
  }

  // ---- knobs ----

  knobs(scope: string): Record<string, unknown> {
    const data = this.rows("SELECT data FROM knobs WHERE scope = ?", scope)[0]?.data;
    return typeof data === "string" ? (JSON.parse(data) as Record<string, unknown>) : {};
  }

  setKnobs(scope: string, knobs: Record<string, unknown>): void {
    this.sql.exec(
      "INSERT INTO knobs (scope, data) VALUES (?, ?) ON CONFLICT (scope) DO UPDATE SET data = excluded.data",
      scope,
      JSON.stringify(knobs),
    );
  }

  deleteKnobs(scope: string): void {
    this.sql.exec("DELETE FROM knobs WHERE scope = ?", scope);
  }

  // ---- channels and HTLCs ----

  private seedChannels(): void {
    for (const c of CHANNELS) {
      this.sql.exec("INSERT OR IGNORE INTO channels (chan_id, a_msat, b_msat) VALUES (?, ?, ?)", c.chanId, c.openingMsat.a, c.openingMsat.b);
    }
  }

  balances(): Map<string, ChannelBalance> {
    const out = new Map<string, ChannelBalance>();
    for (const r of this.rows("SELECT * FROM channels")) {
      out.set(String(r.chan_id), {
        chanId: String(r.chan_id),
        aMsat: Number(r.a_msat),
        bMsat: Number(r.b_msat),
        aSentMsat: Number(r.a_sent_msat),
        bSentMsat: Number(r.b_sent_msat),
        numUpdates: Number(r.num_updates),
      });
    }
    return out;
  }

  /** Moves `amountMsat` into (positive) or out of (negative) one side's committed balance. */
  adjustBalance(chanId: string, side: "a" | "b", amountMsat: number): void {
    this.sql.exec(`UPDATE channels SET ${side}_msat = ${side}_msat + ?, num_updates = num_updates + 1 WHERE chan_id = ?`, amountMsat, chanId);
  }

  addSent(chanId: string, side: "a" | "b", amountMsat: number): void {
    this.sql.exec(`UPDATE channels SET ${side}_sent_msat = ${side}_sent_msat + ? WHERE chan_id = ?`, amountMsat, chanId);
  }

  insertHtlc(h: Omit<PendingHtlc, "id">): void {
    this.sql.exec(
      "INSERT INTO htlcs (chain, chan_id, from_a, amount_msat, hash, expiry_height, htlc_index, state) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending')",
      h.chain,
      h.chanId,
      h.fromA ? 1 : 0,
      h.amountMsat,
      h.hash,
      h.expiryHeight,
      h.htlcIndex,
    );
  }

  pendingHtlcs(chain?: string): PendingHtlc[] {
    const rows =
      chain === undefined
        ? this.rows("SELECT * FROM htlcs WHERE state = 'pending' ORDER BY id")
        : this.rows("SELECT * FROM htlcs WHERE state = 'pending' AND chain = ? ORDER BY id", chain);
    return rows.map((r) => ({
      id: Number(r.id),
      chain: String(r.chain),
      chanId: String(r.chan_id),
      fromA: Number(r.from_a) === 1,
      amountMsat: Number(r.amount_msat),
      hash: String(r.hash),
      expiryHeight: Number(r.expiry_height),
      htlcIndex: Number(r.htlc_index),
    }));
  }

  resolveHtlc(id: number, state: "settled" | "failed"): void {
    this.sql.exec("UPDATE htlcs SET state = ? WHERE id = ?", state, id);
  }

  // ---- hub invoices ----

  invoice(hash: string): HubInvoice | null {
    const data = this.rows("SELECT data FROM invoices WHERE hash = ?", hash)[0]?.data;
    return typeof data === "string" ? (JSON.parse(data) as HubInvoice) : null;
  }

  putInvoice(inv: HubInvoice): void {
    const expiresAtMs = (inv.creationDate + inv.expiry) * 1000;
    this.sql.exec(
      `INSERT INTO invoices (hash, add_index, settle_index, state, creation_date, expires_at_ms, data) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (hash) DO UPDATE SET settle_index = excluded.settle_index, state = excluded.state, data = excluded.data`,
      inv.hash,
      inv.addIndex,
      inv.settleIndex,
      inv.state,
      inv.creationDate,
      expiresAtMs,
      JSON.stringify(inv),
    );
  }

  /** Invoices in add_index order matching an SQL condition on the indexed columns. */
  invoicesWhere(condition: string, ...params: SqlStorageValue[]): HubInvoice[] {
    return this.rows(`SELECT data FROM invoices WHERE ${condition} ORDER BY add_index`, ...params).map(
      (r) => JSON.parse(String(r.data)) as HubInvoice,
    );
  }

  /** Earliest expiry among OPEN invoices (ms), if any. */
  nextInvoiceExpiryMs(): number | null {
    const v = this.rows("SELECT MIN(expires_at_ms) AS t FROM invoices WHERE state = 'OPEN'")[0]?.t;
    return v === null || v === undefined ? null : Number(v);
  }

  // ---- hub payments ----

  payment(hash: string): HubPayment | null {
    const data = this.rows("SELECT data FROM payments WHERE hash = ?", hash)[0]?.data;
    return typeof data === "string" ? (JSON.parse(data) as HubPayment) : null;
  }

  putPayment(p: HubPayment): void {
    this.sql.exec(
      `INSERT INTO payments (hash, payment_index, status, resolve_at_ms, data) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (hash) DO UPDATE SET payment_index = excluded.payment_index, status = excluded.status,
       resolve_at_ms = excluded.resolve_at_ms, data = excluded.data`,
      p.hash,
      p.paymentIndex,
      p.status,
      p.status === "IN_FLIGHT" ? p.resolveAtMs : null,
      JSON.stringify(p),
    );
  }

  /** Every payment, by payment index. */
  allPayments(): HubPayment[] {
    return this.rows("SELECT data FROM payments ORDER BY payment_index").map((r) => JSON.parse(String(r.data)) as HubPayment);
  }

  /** In-flight payments whose attempt resolves at or before `nowMs`. */
  duePayments(nowMs: number): HubPayment[] {
    return this.rows("SELECT data FROM payments WHERE resolve_at_ms IS NOT NULL AND resolve_at_ms <= ?", nowMs).map(
      (r) => JSON.parse(String(r.data)) as HubPayment,
    );
  }

  nextPaymentResolveMs(): number | null {
    const v = this.rows("SELECT MIN(resolve_at_ms) AS t FROM payments WHERE resolve_at_ms IS NOT NULL")[0]?.t;
    return v === null || v === undefined ? null : Number(v);
  }

  // ---- outside invoices ----

  outsideInvoice(hash: string): OutsideInvoice | null {
    const data = this.rows("SELECT data FROM outside_invoices WHERE hash = ?", hash)[0]?.data;
    return typeof data === "string" ? (JSON.parse(data) as OutsideInvoice) : null;
  }

  putOutsideInvoice(inv: OutsideInvoice): void {
    this.sql.exec(
      "INSERT INTO outside_invoices (hash, data) VALUES (?, ?) ON CONFLICT (hash) DO UPDATE SET data = excluded.data",
      inv.hash,
      JSON.stringify(inv),
    );
  }
}
