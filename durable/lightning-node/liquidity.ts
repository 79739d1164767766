import { refuse, type Refusal } from "../../src/errors";
import { LndError, type LndRestClient } from "../../src/lightning";
import { evaluateLiquidity, type LiquidityEvaluation, type LiquidityPolicy } from "../../src/liquidity";
import { newId } from "../../src/ids";
import type { ActorKit, Part, Task } from "../kit/part";

/**
 * An open whose OpenChannel has no known outcome (the answer was lost, or this actor died during
 * the call) is looked for among LND's pending channels; given up after this long without one (LND
 * never got it), and only then may another be opened.
 */
export const OPEN_LOOKUP_AFTER_MS = 60_000;
/** After a wake-up, the first evaluation waits this long (not every start of the node's actor calls LND). */
const FIRST_EVALUATION_AFTER_MS = 60_000;

export interface ChannelOpenRow {
  open_id: string;
  peer_pubkey: string;
  amount_sat: number;
  state: "opening" | "pending" | "failed" | "abandoned";
  funding_txid: string | null;
  failure_reason: string | null;
  created_at: number;
  updated_at: number;
}

/** What GET /v1/admin/liquidity answers: the last evaluation, the policy it was made with, the recent opens. */
export interface LiquidityReport {
  policy: LiquidityPolicy | null;
  evaluated_at: number | null;
  evaluation: LiquidityEvaluation | null;
  opens: ChannelOpenRow[];
}

/**
 * The liquidity policy (docs/decisions/0025): on a schedule, the seed's channelStrategy evaluated
 * against LND's channels (src/liquidity.ts), the last evaluation kept; with autoOpenChannels, the
 * recommended channel to a preferred peer opened through LND — at most one being opened at a time, and
 * never twice after a crash: the intent is recorded before OpenChannel, and an intent without a known
 * outcome is found again among LND's pending channels (to that peer, of that size) before anything else
 * is opened. Channels are never closed here.
 */
export class Liquidity implements Part {
  readonly name = "liquidity";
  readonly migrations = [
    `CREATE TABLE liquidity_evaluation (id INTEGER PRIMARY KEY CHECK (id = 1), evaluated_at INTEGER NOT NULL, evaluation TEXT NOT NULL);
     CREATE TABLE channel_opens (
       open_id TEXT PRIMARY KEY, peer_pubkey TEXT NOT NULL, amount_sat INTEGER NOT NULL,
       state TEXT NOT NULL CHECK (state IN ('opening', 'pending', 'failed', 'abandoned')), funding_txid TEXT, failure_reason TEXT,
       created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL) WITHOUT ROWID;
     CREATE INDEX channel_opens_opening ON channel_opens (state) WHERE state = 'opening';`,
  ];
  readonly tasks: readonly Task[];
  /** Opens whose OpenChannel this instance is waiting on. */
  private readonly calling = new Set<string>();
  /** When this instance woke up (the first evaluation is due a minute after). */
  private readonly wokeAt = Date.now();
  /** Set by tests to evaluate with another policy than the configured one. */
  policyOverride: LiquidityPolicy | null = null;

  /** @param configured the configured policy (LIQUIDITY_POLICY), null for none; throws on a malformed one. */
  constructor(
    private readonly kit: ActorKit,
    public lnd: (timeoutMs?: number) => LndRestClient,
    private readonly configured: () => LiquidityPolicy | null,
  ) {
    this.tasks = [
      {
        name: "liquidity:evaluate",
        nextDueAt: () => {
          const policy = this.policySafe();
          if (!policy) return null;
          const last = this.lastEvaluatedAt();
          return last === null ? this.wokeAt + FIRST_EVALUATION_AFTER_MS : last + policy.evaluate_every_s * 1000;
        },
        run: async () => void (await this.evaluate()),
      },
    ];
  }

  onStart(): void {
    const due = this.tasks[0]!.nextDueAt();
    if (due !== null) this.kit.scheduler.arm(due);
  }

  /** The policy in force (a test's override, else the configuration). */
  policy(): LiquidityPolicy | null {
    return this.policyOverride ?? this.configured();
  }

  private policySafe(): LiquidityPolicy | null {
    try {
      return this.policy();
    } catch {
      return null;
    }
  }

  private lastEvaluatedAt(): number | null {
    return this.kit.sql<{ evaluated_at: number }>`SELECT evaluated_at FROM liquidity_evaluation WHERE id = 1`[0]?.evaluated_at ?? null;
  }

  /** The last evaluation and the recent opens. */
  report(): LiquidityReport | Refusal {
    let policy: LiquidityPolicy | null;
    try {
      policy = this.policy();
    } catch (error) {
      return refuse("internal", (error as Error).message);
    }
    const row = this.kit.sql<{ evaluated_at: number; evaluation: string }>`SELECT evaluated_at, evaluation FROM liquidity_evaluation WHERE id = 1`[0];
    return {
      policy,
      evaluated_at: row?.evaluated_at ?? null,
      evaluation: row ? (JSON.parse(row.evaluation) as LiquidityEvaluation) : null,
      opens: this.kit.sql<ChannelOpenRow>`SELECT * FROM channel_opens ORDER BY created_at DESC LIMIT 20`,
    };
  }

  /**
   * Evaluates the policy against LND now (the scheduled task, or the admin route asking for a fresh
   * look), keeps the evaluation, and with autoOpenChannels opens the recommended channel. `lightning_unavailable` when LND cannot be read.
   */
  async evaluate(): Promise<LiquidityReport | Refusal> {
    const policy = this.policy();
    if (!policy) return this.report();
    const lnd = this.lnd(15_000);
    let evaluation: LiquidityEvaluation;
    try {
      await this.resolveOpening(lnd);
      const [channels, pending, wallet] = await Promise.all([lnd.listChannels(), lnd.pendingChannels(), lnd.walletBalance()]);
      evaluation = evaluateLiquidity(
        policy,
        channels,
        pending.pending_open_channels.filter((p) => p.initiator || p.local_balance > 0).map((p) => ({ ...p, remote_pubkey: p.remote_node_pub })),
        wallet.confirmed_balance,
      );
    } catch (error) {
      // Tried again at the next evaluation (the scheduler's retry for a task that throws is for bugs).
      this.kit.sql`INSERT INTO liquidity_evaluation (id, evaluated_at, evaluation) VALUES (1, ${Date.now()}, ${JSON.stringify(null)})
                   ON CONFLICT (id) DO UPDATE SET evaluated_at = excluded.evaluated_at, evaluation = excluded.evaluation`;
      return refuse("lightning_unavailable", `LND's channels could not be read: ${(error as Error)?.message ?? String(error)}`);
    }
    this.kit.sql`INSERT INTO liquidity_evaluation (id, evaluated_at, evaluation) VALUES (1, ${Date.now()}, ${JSON.stringify(evaluation)})
                 ON CONFLICT (id) DO UPDATE SET evaluated_at = excluded.evaluated_at, evaluation = excluded.evaluation`;
    const open = evaluation.recommendations.find((r) => r.kind === "open");
    if (policy.auto_open_channels && open?.kind === "open" && open.fundable && open.peer !== null && !this.opening()) {
      const host = policy.preferred_peers.find((p) => p.pubkey === open.peer)?.host ?? null;
      await this.open(lnd, open.peer, host, open.amount_sat);
    }
    return this.report();
  }

  /** An open still without a known outcome (no other is started meanwhile). */
  private opening(): boolean {
    return this.kit.sql`SELECT 1 FROM channel_opens WHERE state = 'opening' LIMIT 1`.length > 0;
  }

  /**
   * Opens not followed through by this instance (a crash, a lost answer): pending in LND to that peer
   * with that capacity → pending; none after OPEN_LOOKUP_AFTER_MS → abandoned (LND never got it).
   */
  private async resolveOpening(lnd: LndRestClient): Promise<void> {
    const rows = this.kit.sql<ChannelOpenRow>`SELECT * FROM channel_opens WHERE state = 'opening'`.filter((r) => !this.calling.has(r.open_id));
    if (!rows.length) return;
    const [pending, channels] = await Promise.all([lnd.pendingChannels(), lnd.listChannels()]);
    const known = new Set(this.kit.sql<{ funding_txid: string }>`SELECT funding_txid FROM channel_opens WHERE funding_txid IS NOT NULL`.map((r) => r.funding_txid));
    const candidates = [
      ...pending.pending_open_channels.map((p) => ({ pubkey: p.remote_node_pub, capacity: p.capacity, point: p.channel_point })),
      ...channels.filter((c) => c.initiator).map((c) => ({ pubkey: c.remote_pubkey, capacity: c.capacity, point: c.channel_point })),
    ];
    for (const row of rows) {
      const found = candidates.find((c) => c.pubkey === row.peer_pubkey && c.capacity === row.amount_sat && !known.has(c.point.split(":")[0]!));
      if (found) {
        const txid = found.point.split(":")[0]!;
        known.add(txid);
        this.kit.sql`UPDATE channel_opens SET state = 'pending', funding_txid = ${txid}, updated_at = ${Date.now()} WHERE open_id = ${row.open_id}`;
      } else if (Date.now() - row.updated_at >= OPEN_LOOKUP_AFTER_MS) {
        this.kit.sql`UPDATE channel_opens SET state = 'abandoned', failure_reason = ${"no pending channel found: LND never opened it"}, updated_at = ${Date.now()}
                     WHERE open_id = ${row.open_id}`;
      }
    }
  }

  /** The intent first, then ConnectPeer (when the peer has a host) and OpenChannel. */
  private async open(lnd: LndRestClient, peer: string, host: string | null, amount_sat: number): Promise<void> {
    const open_id = newId("open");
    const now = Date.now();
    this.kit.sql`INSERT INTO channel_opens (open_id, peer_pubkey, amount_sat, state, created_at, updated_at)
                 VALUES (${open_id}, ${peer}, ${amount_sat}, 'opening', ${now}, ${now})`;
    this.calling.add(open_id);
    try {
      if (host) {
        try {
          await lnd.connectPeer(peer, host);
        } catch (error) {
          if (!(error instanceof LndError && /already connected/.test(error.message))) throw error;
        }
      }
      const point = await this.lnd(60_000).openChannel({ node_pubkey: peer, local_funding_amount: amount_sat });
      this.kit.sql`UPDATE channel_opens SET state = 'pending', funding_txid = ${point.funding_txid}, updated_at = ${Date.now()} WHERE open_id = ${open_id}`;
    } catch (error) {
      if (error instanceof LndError) {
        this.kit.sql`UPDATE channel_opens SET state = 'failed', failure_reason = ${`LND refused: ${error.message}`.slice(0, 300)}, updated_at = ${Date.now()}
                     WHERE open_id = ${open_id}`;
      } else {
        // No answer: LND may have opened it; the next evaluation looks for it among the pending channels.
        this.kit.sql`UPDATE channel_opens SET updated_at = ${Date.now()} WHERE open_id = ${open_id}`;
      }
    } finally {
      this.calling.delete(open_id);
    }
  }
}
