import { refuse, type Refusal } from "../../src/errors";
import type { LndRestClient, OnchainTransaction } from "../../src/lightning";
import { outpointOf, satMsat } from "../../src/onchain";
import { Outbox, type Delivery, type OutboxItem, type OutboxStore } from "../kit/outbox";
import type { ActorKit, Part, Task } from "../kit/part";
import type { OnchainDepositUpdate, WalletPort } from "../ports";

/** How often the sweep looks at LND's wallet while a deposit waits for its confirmations, and otherwise. */
export const CHAIN_SWEEP_INTERVAL_MS = 30_000;
const CHAIN_IDLE_SWEEP_INTERVAL_MS = 5 * 60_000;

interface DepositRow {
  outpoint: string;
  txid: string;
  vout: number;
  address: string;
  wallet_id: string;
  amount_sat: number;
  confirmations: number;
  state: "pending" | "confirmed" | "dropped";
  version: number;
  delivered_version: number;
  attempts: number;
  next_attempt_at: number | null;
  seen_at: number;
}

/** What a wallet acknowledges a deposit's state with. */
type DepositAck = { ok: true; transaction_id: string; status: string };

/**
 * Deposits to the wallets' addresses (docs/decisions/0023): the address → wallet registry, the
 * consumer of LND's transaction stream, and a sweep of GetTransactions that catches up on what the
 * stream missed, counts confirmations (the stream reports only the first) and notices deposits a
 * re-org took away. One row per output (`txid:vout`): `pending` until ONCHAIN_CONFIRMATIONS, then
 * `confirmed` for good; `dropped` when LND no longer lists it before that (back to pending if it
 * returns). Each change is a new `version`, delivered to the wallet by the kit's outbox over the row's
 * columns (redelivered after a crash; the wallet credits once per outpoint).
 */
export class OnchainDeposits implements Part {
  readonly name = "onchain-deposits";
  readonly migrations = [
    `CREATE TABLE onchain_addresses (address TEXT PRIMARY KEY, wallet_id TEXT NOT NULL, created_at INTEGER NOT NULL) WITHOUT ROWID;
     CREATE TABLE onchain_deposits (
       outpoint TEXT PRIMARY KEY, txid TEXT NOT NULL, vout INTEGER NOT NULL, address TEXT NOT NULL, wallet_id TEXT NOT NULL,
       amount_sat INTEGER NOT NULL, confirmations INTEGER NOT NULL, state TEXT NOT NULL CHECK (state IN ('pending', 'confirmed', 'dropped')),
       version INTEGER NOT NULL, delivered_version INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER,
       seen_at INTEGER NOT NULL) WITHOUT ROWID;
     CREATE INDEX onchain_deposits_pending ON onchain_deposits (state) WHERE state = 'pending';
     CREATE INDEX onchain_deposits_undelivered ON onchain_deposits (next_attempt_at) WHERE next_attempt_at IS NOT NULL;`,
  ];
  readonly outbox: Outbox<DepositAck, true>;
  readonly tasks: readonly Task[];
  /** When the sweep last ran in this instance (0: not since wake-up, so it is due). */
  private sweptAt = 0;
  /** A SubscribeTransactions stream is open in this instance. */
  private watching = false;

  /**
   * @param lnd the LND client for a call with this timeout (0: none, for streams).
   * @param confirmations ONCHAIN_CONFIRMATIONS.
   */
  constructor(
    private readonly kit: ActorKit,
    public lnd: (timeoutMs?: number) => LndRestClient,
    wallets: (wallet_id: string) => DurableObjectStub<WalletPort>,
    private readonly confirmations: () => number,
  ) {
    this.outbox = new Outbox("onchain-deposits", kit, new DepositColumns(kit), {
      send: (item) => wallets(item.destination).receiveOnchainDeposit(JSON.parse(item.payload) as OnchainDepositUpdate) as Promise<DepositAck | Refusal>,
      settle: (item, delivery) => this.settle(item, delivery),
    });
    this.tasks = [
      ...this.outbox.tasks,
      {
        name: "onchain-deposits:sweep",
        nextDueAt: () => {
          if (this.kit.sql`SELECT 1 FROM onchain_deposits WHERE state = 'pending' LIMIT 1`.length) return this.sweptAt + CHAIN_SWEEP_INTERVAL_MS;
          return this.kit.sql`SELECT 1 FROM onchain_addresses LIMIT 1`.length ? this.sweptAt + CHAIN_IDLE_SWEEP_INTERVAL_MS : null;
        },
        run: async () => void (await this.sweep()),
      },
    ];
  }

  onStart(): void {
    if (this.kit.sql`SELECT 1 FROM onchain_addresses LIMIT 1`.length) this.watch();
  }

  /** A new receive address of LND's wallet, registered to the wallet. */
  async newAddress(wallet_id: string): Promise<{ ok: true; address: string } | Refusal> {
    let address: string;
    try {
      ({ address } = await this.lnd().newAddress());
    } catch (error) {
      return refuse("lightning_unavailable", `the Lightning node did not give an address: ${(error as Error).message}`);
    }
    this.kit.sql`INSERT INTO onchain_addresses (address, wallet_id, created_at) VALUES (${address}, ${wallet_id}, ${Date.now()})`;
    this.watch();
    this.kit.scheduler.arm(Date.now() + CHAIN_IDLE_SWEEP_INTERVAL_MS);
    return { ok: true, address };
  }

  /** The wallet an address was given to, or null. */
  walletOf(address: string): string | null {
    return this.kit.sql<{ wallet_id: string }>`SELECT wallet_id FROM onchain_addresses WHERE address = ${address}`[0]?.wallet_id ?? null;
  }

  /** Applies one of LND's transactions (stream or sweep; any number of times): the outputs to our addresses, delivered to their wallets. */
  async apply(tx: OnchainTransaction, seenAt = Date.now()): Promise<number> {
    const changed = this.record(tx, seenAt);
    await Promise.all(changed.map((outpoint) => this.outbox.deliverById(outpoint)));
    return changed.length;
  }

  /** One unit of work: each output to a registered address upserted; the outpoints whose state changed (to deliver). */
  private record(tx: OnchainTransaction, seenAt: number): string[] {
    const threshold = this.confirmations();
    const target = tx.num_confirmations >= threshold ? "confirmed" : "pending";
    return this.kit.unitOfWork.run(() => {
      const changed: string[] = [];
      for (const output of tx.output_details) {
        const wallet_id = this.walletOf(output.address);
        if (!wallet_id || output.amount <= 0) continue;
        const outpoint = outpointOf(tx.tx_hash, output.output_index);
        const row = this.kit.sql<DepositRow>`SELECT * FROM onchain_deposits WHERE outpoint = ${outpoint}`[0];
        if (!row) {
          this.kit.sql`INSERT INTO onchain_deposits (outpoint, txid, vout, address, wallet_id, amount_sat, confirmations, state, version, next_attempt_at, seen_at)
                       VALUES (${outpoint}, ${tx.tx_hash}, ${output.output_index}, ${output.address}, ${wallet_id}, ${output.amount},
                               ${tx.num_confirmations}, ${target}, 1, ${Date.now()}, ${seenAt})`;
          changed.push(outpoint);
        } else if (row.state === "confirmed") {
          continue; // final: credited at the threshold, whatever LND says later
        } else if (row.state === "dropped" || target === "confirmed") {
          this.kit.sql`UPDATE onchain_deposits SET state = ${target}, confirmations = ${tx.num_confirmations}, version = version + 1,
                         next_attempt_at = ${Date.now()}, seen_at = ${seenAt} WHERE outpoint = ${outpoint}`;
          changed.push(outpoint);
        } else {
          this.kit.sql`UPDATE onchain_deposits SET confirmations = ${tx.num_confirmations}, seen_at = MAX(seen_at, ${seenAt}) WHERE outpoint = ${outpoint}`;
        }
      }
      if (changed.length) this.outbox.enqueued();
      return changed;
    });
  }

  /**
   * The sweep: every transaction LND lists applied (what the stream missed, and confirmations, which
   * the stream reports only once), and pending deposits it no longer lists — seen before this listing
   * began — dropped (a re-org took them away). Resubscribes a lost stream.
   */
  async sweep(): Promise<number> {
    const startedAt = Date.now();
    this.sweptAt = startedAt;
    if (!this.kit.sql`SELECT 1 FROM onchain_addresses LIMIT 1`.length) return 0;
    this.watch();
    const { transactions } = await this.lnd(30_000).getTransactions({ end_height: -1 });
    let changed = 0;
    const listed = new Set<string>();
    for (const tx of transactions) {
      for (const o of tx.output_details) listed.add(outpointOf(tx.tx_hash, o.output_index));
      changed += await this.apply(tx, startedAt);
    }
    const dropped = this.kit.unitOfWork.run(() => {
      const gone = this.kit.sql<DepositRow>`SELECT * FROM onchain_deposits WHERE state = 'pending' AND seen_at < ${startedAt}`.filter((r) => !listed.has(r.outpoint));
      for (const r of gone) {
        this.kit.sql`UPDATE onchain_deposits SET state = 'dropped', confirmations = 0, version = version + 1, next_attempt_at = ${Date.now()} WHERE outpoint = ${r.outpoint}`;
      }
      if (gone.length) this.outbox.enqueued();
      return gone.map((r) => r.outpoint);
    });
    await Promise.all(dropped.map((outpoint) => this.outbox.deliverById(outpoint)));
    return changed + dropped.length;
  }

  /** Follows LND's transaction stream in this instance (the sweep resubscribes when it breaks). */
  private watch(): void {
    if (this.watching) return;
    this.watching = true;
    const follow = async () => {
      try {
        for await (const tx of this.lnd(0).subscribeTransactions()) await this.apply(tx).catch(() => undefined);
      } catch {
        // The stream broke (LND restarted, the tunnel dropped): the sweep catches up and resubscribes.
      } finally {
        this.watching = false;
      }
    };
    void follow();
  }

  /** The wallet acknowledged a version (or refused it for good): delivered up to it; a newer version stays due. */
  private settle(item: OutboxItem, delivery: Delivery<DepositAck>): true | null {
    const { version } = JSON.parse(item.payload) as OnchainDepositUpdate;
    if (delivery.outcome === "returned") console.warn(`deposit ${item.id}: the wallet refused it for good: ${delivery.reason}`);
    const settled = this.kit.sqlWrite`
      UPDATE onchain_deposits SET delivered_version = ${version}, attempts = 0,
             next_attempt_at = CASE WHEN version > ${version} THEN ${Date.now()} ELSE NULL END
      WHERE outpoint = ${item.id} AND delivered_version < ${version}`;
    return settled ? true : null;
  }
}

const toUpdate = (r: DepositRow): OnchainDepositUpdate => ({
  outpoint: r.outpoint,
  txid: r.txid,
  vout: r.vout,
  address: r.address,
  amount_msat: satMsat(r.amount_sat),
  confirmations: r.confirmations,
  state: r.state === "pending" ? "seen" : r.state,
  version: r.version,
});

const toItem = (r: DepositRow): OutboxItem => ({
  id: r.outpoint,
  destination: r.wallet_id,
  payload: JSON.stringify(toUpdate(r)),
  attempts: r.attempts,
  delivered: r.delivered_version >= r.version,
});

/** The deposits' outbox over their rows' columns: a row is due while the wallet has not acknowledged its version. */
class DepositColumns implements OutboxStore {
  constructor(private readonly kit: ActorKit) {}

  find(id: string): OutboxItem | null {
    const row = this.kit.sql<DepositRow>`SELECT * FROM onchain_deposits WHERE outpoint = ${id}`[0];
    return row ? toItem(row) : null;
  }

  undelivered(limit: number): OutboxItem[] {
    return this.kit.sql<DepositRow>`SELECT * FROM onchain_deposits WHERE next_attempt_at IS NOT NULL AND delivered_version < version ORDER BY next_attempt_at LIMIT ${limit}`.map(toItem);
  }

  nextAttemptAt(): number | null {
    return this.kit.sql<{ at: number | null }>`SELECT MIN(next_attempt_at) AS at FROM onchain_deposits WHERE next_attempt_at IS NOT NULL AND delivered_version < version`[0]?.at ?? null;
  }

  recordFailedAttempt(id: string, nextAttemptAt: number): void {
    this.kit.sql`UPDATE onchain_deposits SET attempts = attempts + 1, next_attempt_at = ${nextAttemptAt} WHERE outpoint = ${id}`;
  }
}
