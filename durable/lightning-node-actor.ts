import { Actor } from "./kit/actor";
import { walletActor, type Env } from "./env";
import { lndClient } from "./lnd";
import type { AmpInvoiceRequest, HoldInvoiceRequest, LightningNodePort, OnchainSendRequest, OnchainSendState, PaymentRoute } from "./ports";
import { AmpInvoices } from "./lightning-node/amp-invoices";
import { AmpSends } from "./lightning-node/amp-sends";
import { HubInvoices } from "./lightning-node/hub-invoices";
import { OnchainDeposits } from "./lightning-node/onchain-deposits";
import { OnchainSends } from "./lightning-node/onchain-sends";
import { Liquidity, type LiquidityReport } from "./lightning-node/liquidity";
import { PaymentClaims } from "./lightning-node/payment-claims";
import { onchainConfirmations } from "../src/onchain";
import { parseLiquidityPolicy } from "../src/liquidity";
import { refuse, type Refusal } from "../src/errors";
import type { Invoice } from "../src/lightning";
import type { Msat } from "../src/money";
import { lndBalanceMsat } from "../src/solvency";

/**
 * One per LND node: the payment-hash → wallet registry, the consumer of the node's invoice
 * events, and the guard that makes the hub pay any payment hash at most once. A singleton per
 * node is fine: the node itself is the bottleneck of everything that goes through here.
 */
export class LightningNodeActor extends Actor<Env> implements LightningNodePort {
  protected override readonly legacySchema = {
    // The schema before the actor kit: one step with both tables.
    steps: [
      `CREATE TABLE invoices (
         payment_hash TEXT PRIMARY KEY, wallet_id TEXT NOT NULL,
         state TEXT NOT NULL,           -- open | credited (wallet credited, LND not yet settled) | settled | canceled | expired
         expires_at INTEGER NOT NULL, created_at INTEGER NOT NULL);
       CREATE INDEX invoices_pending ON invoices (state) WHERE state IN ('open', 'credited');
       CREATE TABLE payments (
         payment_hash TEXT PRIMARY KEY, wallet_id TEXT NOT NULL, payment_id TEXT NOT NULL,
         state TEXT NOT NULL,           -- in_flight | succeeded | failed
         updated_at INTEGER NOT NULL);`,
    ],
    adopts: { "hub-invoices": 1, "payment-claims": 1 },
  };
  readonly invoices = new HubInvoices(this.kit, (timeoutMs = 10_000) => lndClient(this.env, timeoutMs || undefined), (id) => walletActor(this.env, id));
  readonly claims = new PaymentClaims(this.kit, (id) => walletActor(this.env, id));
  /** Deposits to the wallets' on-chain addresses: the registry, LND's transaction stream, the sweep (docs/decisions/0023). */
  readonly deposits = new OnchainDeposits(
    this.kit,
    (timeoutMs = 10_000) => lndClient(this.env, timeoutMs || undefined),
    (id) => walletActor(this.env, id),
    () => onchainConfirmations(this.env.ONCHAIN_CONFIRMATIONS),
  );
  /** Withdrawals, each sent through LND's wallet at most once. */
  readonly sends = new OnchainSends(this.kit, (timeoutMs = 10_000) => lndClient(this.env, timeoutMs || undefined));
  /** The liquidity policy: evaluated on a schedule, channels to preferred peers opened once each (docs/decisions/0025). */
  readonly liquidityPolicy = new Liquidity(this.kit, (timeoutMs = 10_000) => lndClient(this.env, timeoutMs || undefined), () => parseLiquidityPolicy(this.env.LIQUIDITY_POLICY));
  /** AMP invoices of the hub's wallets: each set LND settles credited once, through the outbox (docs/decisions/0025). */
  readonly ampInvoices = new AmpInvoices(this.kit, (timeoutMs = 10_000) => lndClient(this.env, timeoutMs || undefined), (id) => walletActor(this.env, id));
  /** Sends to outside AMP invoices: one unresolved send per payment address at a time. */
  readonly ampSends = new AmpSends(this.kit, (id) => walletActor(this.env, id));
  protected readonly parts = [this.invoices, this.claims, this.deposits, this.sends, this.liquidityPolicy, this.ampInvoices, this.ampSends];

  /** Creates a hold invoice in LND for a wallet (which keeps the preimage) and watches it. */
  async createHoldInvoice(request: HoldInvoiceRequest): Promise<{ ok: true; payment_request: string } | Refusal> {
    return this.invoices.create(request);
  }

  /**
   * Claims a payment hash for one payment of one wallet. A hub invoice routes internally; an
   * outside one is claimed so that no second payment of the hub can send to it.
   */
  async routePayment(payment_hash: string, wallet_id: string, payment_id: string): Promise<PaymentRoute | Refusal> {
    const payee = this.invoices.walletOf(payment_hash) ?? this.ampInvoices.walletOf(payment_hash);
    if (payee) return { route: "internal", wallet_id: payee };
    return this.claims.claim(payment_hash, wallet_id, payment_id);
  }

  /** True when the hash belongs to an invoice this hub issued. */
  async isHubInvoice(payment_hash: string): Promise<boolean> {
    return this.invoices.walletOf(payment_hash) !== null || this.ampInvoices.walletOf(payment_hash) !== null;
  }

  /** Creates an AMP invoice in LND for a wallet and registers it (docs/decisions/0025). */
  async createAmpInvoice(request: AmpInvoiceRequest): Promise<{ ok: true; payment_hash: string; payment_request: string } | Refusal> {
    return this.ampInvoices.create(request);
  }

  /** Applies LND's view of a hub AMP invoice; safe to deliver any number of times. */
  async applyAmpInvoice(invoice: Pick<Invoice, "r_hash" | "state" | "amp_invoice_state">): Promise<number> {
    return this.ampInvoices.apply(invoice);
  }

  /** A payment of an AMP invoice: inside the hub for a hub invoice, else one unresolved send per payment address. */
  async routeAmpPayment(payment_hash: string, payment_addr: string, wallet_id: string, payment_id: string): Promise<PaymentRoute | Refusal> {
    const payee = this.invoices.walletOf(payment_hash) ?? this.ampInvoices.walletOf(payment_hash);
    if (payee) return { route: "internal", wallet_id: payee };
    return this.ampSends.claim(payment_addr, wallet_id, payment_id);
  }

  /** An AMP send's set id is known (or it ended before LND): the next send of the invoice may start. */
  async resolveAmpSend(payment_addr: string, payment_id: string, set_id: string | null): Promise<void> {
    this.ampSends.resolve(payment_addr, payment_id, set_id);
  }

  /** The set ids of the hub's other sends to this payment address. */
  async ampSendSetIds(payment_addr: string, payment_id: string): Promise<string[]> {
    return this.ampSends.setIds(payment_addr, payment_id);
  }

  /** Records how an outside payment ended; a failed one frees its hash for another try. */
  async finishPayment(payment_hash: string, payment_id: string, state: "succeeded" | "failed"): Promise<void> {
    this.claims.finish(payment_hash, payment_id, state);
  }

  /** A hub invoice was paid inside the hub: cancel it in LND so no outside HTLC can pay it too. */
  async invoicePaidInternally(payment_hash: string): Promise<void> {
    await this.invoices.paidInternally(payment_hash);
  }

  /** Applies one invoice update from LND (stream or sweep); safe to deliver any number of times. */
  async applyInvoiceUpdate(update: Pick<Invoice, "r_hash" | "state" | "amt_paid_msat">): Promise<string> {
    return this.invoices.apply(update);
  }

  /** A new receive address of LND's wallet, registered to the wallet (deposits to it are the wallet's). */
  async newOnchainAddress(wallet_id: string): Promise<{ ok: true; address: string } | Refusal> {
    return this.deposits.newAddress(wallet_id);
  }

  /** Sends a withdrawal through LND once per withdrawal id (found again by its label after a crash), and says where it stands. */
  async sendOnchain(request: OnchainSendRequest): Promise<OnchainSendState | Refusal> {
    return this.sends.send(request);
  }

  /** Looks at LND's wallet now (the sweep): deposits seen, confirmed or dropped since the last look. */
  async syncChain(): Promise<{ deposits: number }> {
    return { deposits: await this.deposits.sweep() };
  }

  /** The liquidity policy's last evaluation against LND's channels and the recent channel opens (docs/decisions/0025). */
  async liquidity(): Promise<LiquidityReport | Refusal> {
    return this.liquidityPolicy.report();
  }

  /** The node's funds (channels and chain, src/solvency.ts `lndBalanceMsat`), or `lightning_unavailable`. */
  async balance(): Promise<{ ok: true; balance_msat: Msat } | Refusal> {
    const lnd = lndClient(this.env);
    try {
      const [channels, onchain] = await Promise.all([lnd.channelBalance(), lnd.walletBalance()]);
      return { ok: true, balance_msat: lndBalanceMsat(channels, onchain) };
    } catch (error) {
      return refuse("lightning_unavailable", `LND's balance could not be read: ${(error as Error)?.message ?? String(error)}`);
    }
  }
}
