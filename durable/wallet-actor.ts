import { Actor } from "./kit/actor";
import { AuditTrail } from "./kit/audit-trail";
import { Idempotency, type IdempotencyTag } from "./kit/idempotency";
import { Sockets, type SocketMatch } from "./kit/sockets";
import { lightningNode, limitsOff, solvencyShardFor, walletActor, webhookActor, type Env } from "./env";
import { lndClient } from "./lnd";
import type { AmpPaymentReceipt, ChatDelivery, CreateInvoiceRequest, InvoicesQuery, OnchainDepositUpdate, PayLightningRequest, PayOnchainRequest, SendTransferRequest, SolvencyPush, TransferAnswer, WalletIdentity, WalletPort } from "./ports";
import { Books } from "./wallet/books";
import { ChatInbox } from "./wallet/chat-inbox";
import { WebhookFeed } from "./wallet/webhook-feed";
import { EventLog } from "./wallet/event-log";
import { History, newTransaction } from "./wallet/history";
import { Identity } from "./wallet/identity";
import { Invoices } from "./wallet/invoices";
import { AmpReceipts } from "./wallet/amp-receipts";
import { Ledger } from "./wallet/ledger";
import { WALLET_LEGACY_SCHEMA } from "./wallet/legacy-schema";
import { LightningPayments } from "./wallet/lightning-payments";
import { Limits } from "./wallet/limits";
import { SolvencyFeed } from "./wallet/solvency-feed";
import { PaymentMetrics } from "./wallet/payment-metrics";
import { flushSoon, isolateMetrics } from "./metrics/isolate";
import { Transfers } from "./wallet/transfers";
import { RewardCredits } from "./wallet/rewards";
import { OnchainWallet } from "./wallet/onchain";
import type { AuditEntry } from "../src/audit";
import type { BooksReport } from "../src/books";
import type { LimitsReport } from "../src/limits";
import { refuse, type Refusal } from "../src/errors";
import { journals } from "../src/ledger";
import type { RewardPayload } from "../src/rewards";
import { MAX_FAUCET_SAT, isPaymentAmount, type Msat } from "../src/money";
import { PAY_WAIT_MS } from "../src/payment-rules";
import type { EventPage, TransactionPage, Wallet } from "../src/schemas";
import type { OnchainPayment } from "../src/onchain-schemas";
import type { ApiAnswer, Invoice, LightningPayment, Transaction, TransferPayload } from "../src/wallet-types";

/**
 * One per account: the only writer of that account's money. Every change of money posts a
 * balanced journal and appends its event in one unit of work; committed events are pushed to the
 * account's WebSockets. The work is done by the parts in durable/wallet/; this file is the RPC
 * surface and the wiring.
 */
export class WalletActor extends Actor<Env> implements WalletPort {
  protected override readonly legacySchema = WALLET_LEGACY_SCHEMA;

  readonly identity = new Identity(this.kit);
  readonly ledger = new Ledger(this.kit);
  readonly history = new History(this.kit);
  readonly sockets = new Sockets(this.kit, (after, limit) => this.events.frames(after, limit));
  readonly events: EventLog = new EventLog(this.kit, this.sockets);
  /** A record stored with a null body replays the payment as it stands now. */
  readonly idempotency = new Idempotency(this.kit, (transaction_id) => this.answerFor(transaction_id));
  /** The wallet chain of the account's audit trail: level changes and freezes (docs/decisions/0016). */
  readonly audit = new AuditTrail(this.kit, "wallet");
  /** Account level and rolling 24 h limits, checked and recorded in every outgoing payment's unit of work (`limits()` is the RPC). */
  readonly spendLimits = new Limits(this.kit, this.audit);
  readonly transfers: Transfers = new Transfers(this.kit, this.identity, this.ledger, this.events, this.idempotency, this.spendLimits, {
    wallets: (wallet_id) => walletActor(this.env, wallet_id),
    invoicePaymentSettled: (transaction_id, delivery, now) => ({ ...this.lightning.transferSettled(transaction_id, delivery, now) }),
    carryChatMessage: (conversation_id, n, message, now) => this.chatInbox.carry(conversation_id, n, message, now),
  });
  /** The payments of this wallet's AMP invoices, one row per set (docs/decisions/0025). */
  readonly ampReceipts = new AmpReceipts(this.kit);
  readonly invoices = new Invoices(this.kit, this.identity, this.ledger, this.history, this.events, this.transfers, () => lightningNode(this.env), this.ampReceipts);
  readonly lightning: LightningPayments = new LightningPayments(this.kit, this.identity, this.ledger, this.history, this.events, this.idempotency, this.spendLimits, this.transfers, {
    node: () => lightningNode(this.env),
    wallets: (wallet_id) => walletActor(this.env, wallet_id),
    lnd: () => lndClient(this.env),
    payWaitMs: Number(this.env.LND_PAY_WAIT_MS) || PAY_WAIT_MS,
  });
  /** On-chain deposits (credited once per output at ONCHAIN_CONFIRMATIONS) and withdrawals (docs/decisions/0023). */
  readonly onchain: OnchainWallet = new OnchainWallet(this.kit, this.identity, this.ledger, this.history, this.events, this.idempotency, this.spendLimits, () => lightningNode(this.env));
  readonly booksReport = new Books(this.ledger, this.history, this.events, this.transfers, this.lightning, this.onchain);
  readonly chatInbox = new ChatInbox(this.kit, this.identity, this.events);
  /** Rewards of operator programs, credited once per claim (docs/decisions/0021). */
  readonly rewards = new RewardCredits(this.kit, this.identity, this.ledger, this.events, this.transfers);
  readonly webhookFeed = new WebhookFeed(this.kit, this.identity, this.events, (account_id) => webhookActor(this.env, account_id));
  /** Snapshots of the books for the solvency aggregate, pushed to the wallet's shard at most once per SOLVENCY_PUSH_DELAY_MS after money moved (docs/decisions/0020). */
  readonly solvency = new SolvencyFeed(this.kit, this.identity, this.ledger, this.events, (wallet_id) => solvencyShardFor(this.env, wallet_id));
  /** Payments by kind and status and their amounts, from the events, counted in the isolate's memory after commit (docs/decisions/0022). */
  readonly paymentMetrics = new PaymentMetrics(this.events, isolateMetrics, () => flushSoon(this.env, (promise) => this.ctx.waitUntil(promise)));

  /** Migration order: transfers extends the history's table. */
  protected readonly parts = [this.identity, this.ledger, this.history, this.transfers, this.events, this.sockets, this.idempotency, this.invoices, this.lightning, this.booksReport, this.chatInbox, this.webhookFeed, this.spendLimits, this.audit, this.paymentMetrics, this.rewards, this.solvency, this.onchain, this.ampReceipts];

  /** The benchmark's limits on/off comparison: `LIMITS=off` switches the rolling limits off (development only, `limitsOff`). */
  protected override onStart(): void {
    this.spendLimits.switchedOff = limitsOff(this.env);
  }

  // ── Identity ───────────────────────────────────────────────────────────────

  /** Opens the wallet for an account (idempotent); a wallet that was never opened receives nothing. */
  async open(identity: WalletIdentity): Promise<WalletIdentity> {
    return this.identity.open(identity);
  }

  /** Who owns this wallet, or null if it was never opened. */
  async describe(): Promise<WalletIdentity | null> {
    return this.identity.get();
  }

  // ── Reading ────────────────────────────────────────────────────────────────

  /** Balance and funds reserved for payments not yet final. */
  async getWallet(): Promise<Wallet> {
    return {
      wallet_id: this.identity.get()?.wallet_id ?? "",
      balance_msat: this.ledger.balanceOf("wallet"),
      pending_out_msat: this.ledger.balanceOf("in_flight") + this.ledger.balanceOf("holds"),
    };
  }

  /** Payment history, newest first; `cursor` is the `next_cursor` of the previous page. */
  async listTransactions(limit: number, cursor: string | null): Promise<TransactionPage> {
    return this.history.page(limit, cursor);
  }

  /** Events with `seq > after`, oldest first. */
  async listEvents(after: number, limit: number): Promise<EventPage> {
    return { events: this.events.after(after, limit) };
  }

  /** The books report: ledger, history and event log figures, and the invariants they break. */
  async books(): Promise<BooksReport> {
    return this.booksReport.report();
  }

  // ── Limits ─────────────────────────────────────────────────────────────────

  /** The account's level and its rolling 24 h limits with what was used (GET /v1/account/limits adds the TOTP threshold). */
  async limits(): Promise<LimitsReport> {
    return this.spendLimits.report(Date.now());
  }

  /** Operator: sets the account's level (0, 1 or 2); its limits apply at once, to what was spent in the window. */
  async setLevel(level: number): Promise<LimitsReport | Refusal> {
    return this.spendLimits.setLevel(level, Date.now());
  }

  /** Operator: freezes or unfreezes the account (no payment out while frozen: `account_frozen`); audited when it changes. */
  async setFrozen(frozen: boolean, reason: string | null): Promise<{ frozen: boolean; changed: boolean }> {
    return this.spendLimits.setFrozen(frozen, reason, Date.now());
  }

  /** Whether the operator froze the account (no payment out, no reward claimed; receiving goes on). */
  async frozen(): Promise<boolean> {
    return this.spendLimits.isFrozen();
  }

  /** The wallet chain of the account's audit trail: the newest entries below seq `before` (null: from the newest), newest first. */
  async auditEntries(before: number | null, limit: number): Promise<AuditEntry[]> {
    return this.audit.entries(before, limit);
  }

  // ── Solvency ───────────────────────────────────────────────────────────────

  /** Pushes this wallet's solvency snapshot to its shard now instead of after the debounce (tests, operators); what the shard did with it. */
  async pushSolvency(): Promise<SolvencyPush> {
    return this.solvency.pushNow();
  }

  // ── Moving money inside the hub ────────────────────────────────────────────

  /** Development faucet: credits this wallet from the faucet account. */
  async creditFromFaucet(amount_msat: Msat, idempotency: IdempotencyTag | null): Promise<ApiAnswer | Refusal> {
    if (!isPaymentAmount(amount_msat, MAX_FAUCET_SAT)) return refuse("invalid_request", "amount out of range");
    return this.idempotency.once(idempotency, async () => {
      const now = new Date().toISOString();
      return this.transaction(() => {
        const transaction = newTransaction({ kind: "faucet", direction: "in", amount_msat, status: "succeeded", counterparty: null, memo: null }, now);
        this.history.insert(transaction);
        this.ledger.post(`${transaction.id}:faucet`, journals.faucetCredit(amount_msat), now);
        const balance_msat = this.ledger.balanceOf("wallet");
        this.events.append("faucet.credited", { transaction, balance_msat }, now);
        return this.idempotency.claim(idempotency, transaction.id, { ok: true, status: 200, body: { status: "succeeded", transaction, balance_msat } });
      });
    });
  }

  /** Pays another wallet of the hub: debit and outbox now, delivery exactly once (retried by alarm). */
  async sendTransfer(request: SendTransferRequest): Promise<TransferAnswer | Refusal> {
    return this.transfers.send(request);
  }

  /** Credits a reward program's claim once per `claim_id` (a `reward` transaction, `reward.credited`); a repeat only acknowledges. */
  async receiveReward(payload: RewardPayload): Promise<{ ok: true; transaction_id: string; duplicate: boolean } | Refusal> {
    return this.rewards.receive(payload);
  }

  /** Credits a transfer from another wallet; a repeat of the same `transfer_id` only acknowledges. */
  async receiveTransfer(payload: TransferPayload): Promise<{ ok: true; transaction_id: string; duplicate: boolean } | Refusal> {
    return this.transfers.receive(payload);
  }

  // ── Lightning ──────────────────────────────────────────────────────────────

  /** Creates a hold invoice: the wallet keeps the preimage, LND holds the HTLC until we credit. */
  async createInvoice(request: CreateInvoiceRequest): Promise<ApiAnswer<Invoice> | Refusal> {
    return this.invoices.create(request);
  }

  /** One of this wallet's invoices, with its current status. */
  async getInvoice(payment_hash: string): Promise<ApiAnswer<Invoice> | Refusal> {
    const invoice = this.invoices.byHash(payment_hash);
    return invoice ? { ok: true, status: 200, body: invoice } : refuse("not_found", "no such invoice");
  }

  /** LUD-21 verify: whether an invoice was paid, its preimage once it was, and its payment request; null if unknown. */
  async verifyInvoice(payment_hash: string): Promise<{ settled: boolean; preimage: string | null; pr: string } | null> {
    return this.invoices.verification(payment_hash);
  }

  /** This wallet's invoices, newest first (or the one with an `external_id`). */
  async listInvoices(query: InvoicesQuery): Promise<{ invoices: Invoice[]; next_cursor: string | null }> {
    return this.invoices.page(query);
  }

  /** Called by the node actor when LND holds an HTLC for one of our invoices: credits once, returns the preimage. */
  async creditInvoice(payment_hash: string, amount_msat: Msat): Promise<{ ok: true; preimage: string } | Refusal> {
    return this.invoices.creditFromLnd(payment_hash, amount_msat);
  }

  /** Credits an internal payment of one of our invoices; the same transfer again only acknowledges. */
  async receiveInvoicePayment(payload: TransferPayload): Promise<{ ok: true; preimage: string } | Refusal> {
    return this.invoices.creditFromWallet(payload);
  }

  /** A payment of one of this wallet's AMP invoices (the node actor's outbox): credited once per (invoice, set id). */
  async receiveAmpPayment(receipt: AmpPaymentReceipt): Promise<{ ok: true; transaction_id: string; duplicate: boolean } | Refusal> {
    return this.invoices.creditAmpFromLnd(receipt);
  }

  /** Where one of this wallet's AMP sends stands (the node actor asks before it frees the invoice for another send). */
  async ampSendState(payment_id: string): Promise<{ status: LightningPayment["status"] | "unknown"; set_id: string | null }> {
    return this.lightning.ampSendState(payment_id);
  }

  /** Pays a BOLT 11 invoice: hub invoices inside the hub, others through LND with a fee-capped hold. */
  async payLightning(request: PayLightningRequest): Promise<ApiAnswer<LightningPayment> | Refusal> {
    return this.lightning.pay(request);
  }

  /** What a money-moving call with this key answered (a replay), a conflict for another request, or null if none. */
  async storedAnswer(tag: IdempotencyTag): Promise<ApiAnswer | Refusal | null> {
    return this.idempotency.stored(tag);
  }

  /**
   * This wallet's payment of a payment hash, as the API shows it: the live attempt (pending or
   * succeeded), else the latest failed one; a refusal `not_found` if it never paid that hash.
   */
  async getLightningPayment(payment_hash: string): Promise<ApiAnswer<LightningPayment> | Refusal> {
    const payment = this.lightning.byHash(payment_hash);
    return payment ? { ok: true, status: 200, body: payment } : refuse("not_found", "no payment of this hash from this wallet");
  }

  /** Where one of this wallet's Lightning payments stands; `unknown` if it was never held. */
  async lightningPaymentState(payment_id: string): Promise<LightningPayment["status"] | "unknown"> {
    return this.lightning.state(payment_id);
  }

  // ── On-chain ───────────────────────────────────────────────────────────────

  /** A deposit to one of this wallet's addresses changed (the node actor's outbox): `onchain.pending`, then credited once at the threshold. */
  async receiveOnchainDeposit(update: OnchainDepositUpdate): Promise<{ ok: true; transaction_id: string; status: string } | Refusal> {
    return this.onchain.receiveDeposit(update);
  }

  /** Withdraws to an address through LND's wallet: amount + fee held, SendCoins, settled at the real fee once LND confirms it. */
  async payOnchain(request: PayOnchainRequest): Promise<ApiAnswer<OnchainPayment> | Refusal> {
    return this.onchain.pay(request);
  }

  // ── Chat ───────────────────────────────────────────────────────────────────

  /** Appends a conversation's events for this member, exactly once and in order. */
  async receiveChatEvents(delivery: ChatDelivery): Promise<{ ok: true; through: number } | Refusal> {
    return this.chatInbox.receive(delivery);
  }

  /** Starts forwarding this wallet's events to its account's webhook actor (idempotent). */
  async enableWebhooks(): Promise<void> {
    this.webhookFeed.enable();
  }

  /** The conversations this member is in, most recent activity first. */
  async listConversations(limit: number, cursor: string | null): Promise<{ conversation_ids: string[]; next_cursor: string | null }> {
    return this.chatInbox.page(limit, cursor);
  }

  /** Where one of this wallet's transactions stands, or null if there is none. */
  async transactionStatus(transaction_id: string): Promise<Transaction["status"] | null> {
    return this.history.byId(transaction_id)?.status ?? null;
  }

  // ── Live events ────────────────────────────────────────────────────────────

  /** WebSocket upgrade (the worker has authenticated it and names its credential): replays `seq > after`, then pushes live until the credential ends. */
  override async fetch(request: Request): Promise<Response> {
    return this.sockets.accept(request);
  }

  /**
   * Closes the event sockets of a credential that ended (an API key deleted: `credential`; the
   * account logged out everywhere: `before_epoch`) and refuses upgrades it authorised just before.
   */
  async closeSockets(match: SocketMatch, code: number, reason: string): Promise<{ closed: number }> {
    return { closed: this.sockets.close(match, code, reason) };
  }

  override async webSocketMessage(ws: WebSocket): Promise<void> {
    this.sockets.onMessage(ws);
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    this.sockets.onClose(ws, code, reason);
  }

  /** The API's answer for a money movement as it stands now: a Lightning payment or a transfer. */
  private answerFor(transaction_id: string): Record<string, unknown> {
    const payment = this.lightning.byTransaction(transaction_id) ?? this.onchain.byTransaction(transaction_id);
    return payment ? { ...payment } : this.transfers.answer(transaction_id);
  }
}
