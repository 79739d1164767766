/**
 * What each actor offers the others and the worker over RPC. Actors reach each other only through
 * these (never by importing another actor's class), so no actor file imports another.
 */
import type { BooksReport } from "../src/books";
import type { Refusal } from "../src/errors";
import type { Invoice as LndInvoice } from "../src/lightning";
import type { Msat } from "../src/money";
import type { Scope } from "../src/auth/tokens";
import type { ApiKeyCreated, ApiKeyInfo, EventPage, TransactionPage, TransferResult, Wallet } from "../src/schemas";
import type { ApiAnswer, Counterparty, Invoice, LightningPayment, Transaction, TransferPayload, WalletEvent } from "../src/wallet-types";
import type { CarriedChatMessage, CarriedChatThrough, ChatMember, ChatMessage, Conversation, ConversationSummary, NewMessage } from "../src/chat";
import type { IdempotencyTag } from "./kit/idempotency";
import type { AuditEntry } from "../src/audit";
import type { SnapshotTotals, WalletSnapshot } from "../src/solvency";

export type { IdempotencyTag } from "./kit/idempotency";
export type { BooksReport, WalletBooks } from "../src/books";

// ── Wallet ─────────────────────────────────────────────────────────────────

export interface WalletIdentity {
  wallet_id: string;
  account_id: string;
  username: string;
}

export interface SendTransferRequest {
  idempotency: IdempotencyTag;
  to: Counterparty;
  amount_msat: Msat;
  memo: string | null;
  /** A chat payment message the transfer carries to both wallets (docs/decisions/0007). */
  chat?: CarriedChatMessage;
}

export interface PayLightningRequest {
  idempotency: IdempotencyTag;
  payment_request: string;
  payment_hash: string;
  /** What the payee receives: the invoice's amount, or the caller's for an amountless invoice. */
  amount_msat: Msat;
  amountless: boolean;
  max_fee_msat: Msat;
  memo: string | null;
}

export interface CreateInvoiceRequest {
  amount_msat: Msat | null;
  memo: string | null;
  expiry_s: number;
  /** A partner's data, returned with the invoice and in its events. */
  metadata?: Record<string, string> | null;
  /** The partner's id for it: unique per wallet (a second one is a `conflict`). */
  external_id?: string | null;
  /** Committed to instead of `memo` (LNURL-pay: SHA-256 of the metadata), hex. */
  description_hash?: string | null;
  /** A payer's comment (LNURL-pay, LUD-12). */
  comment?: string | null;
}

export interface InvoicesQuery {
  external_id: string | null;
  limit: number;
  cursor: string | null;
}

/**
 * `failed` only when the receiver turned out not to exist and the money came back. `chat`: for a
 * carried chat message, on the request that settled it, how far each wallet has the conversation.
 */
export type TransferAnswer = ApiAnswer<TransferResult & { chat?: CarriedChatThrough }>;

/** A conversation's events for one member, numbered from `first_n` (see durable/conversation/mailboxes.ts). */
export interface ChatDelivery {
  conversation_id: string;
  first_n: number;
  events: { type: string; data: Record<string, unknown> }[];
}

/** A wallet's events for its account's webhook actor, numbered by their `seq` from `first_seq`. */
export interface WebhookFeedDelivery {
  account_id: string;
  first_seq: number;
  events: WalletEvent[];
}

/** A withdrawal the gateway checked (address of the hub's network, amount): the wallet holds amount + `max_fee_msat`. */
export interface PayOnchainRequest {
  idempotency: IdempotencyTag;
  address: string;
  amount_msat: Msat;
  /** The caller's fee rate, or null for LND's estimate at WITHDRAWAL_TARGET_CONF. */
  fee_rate_sat_vb: number | null;
  /** What is held for the miners' fee until LND reports the real one (src/onchain.ts `feeHoldSat`). */
  max_fee_msat: Msat;
}

/**
 * Where a deposit stands, as the node actor delivers it (its outbox, redelivered until acknowledged):
 * `seen` (in the mempool or below the threshold), `confirmed` (at ONCHAIN_CONFIRMATIONS: credit once),
 * `dropped` (a re-org took it away before the threshold). `version` grows with every change.
 */
export interface OnchainDepositUpdate {
  outpoint: string;
  txid: string;
  vout: number;
  address: string;
  amount_msat: Msat;
  confirmations: number;
  state: "seen" | "confirmed" | "dropped";
  version: number;
}

export interface WalletPort extends Rpc.DurableObjectBranded {
  open(identity: WalletIdentity): Promise<WalletIdentity>;
  describe(): Promise<WalletIdentity | null>;
  getWallet(): Promise<Wallet>;
  listTransactions(limit: number, cursor: string | null): Promise<TransactionPage>;
  listEvents(after: number, limit: number): Promise<EventPage>;
  creditFromFaucet(amount_msat: Msat, idempotency: IdempotencyTag | null): Promise<ApiAnswer | Refusal>;
  sendTransfer(request: SendTransferRequest): Promise<TransferAnswer | Refusal>;
  /** `chat_through`: for a carried chat message, how far the receiver has the conversation's mailbox. */
  receiveTransfer(payload: TransferPayload): Promise<{ ok: true; transaction_id: string; duplicate: boolean; chat_through?: number } | Refusal>;
  createInvoice(request: CreateInvoiceRequest): Promise<ApiAnswer<Invoice> | Refusal>;
  getInvoice(payment_hash: string): Promise<ApiAnswer<Invoice> | Refusal>;
  /** LUD-21 verify: whether an invoice was paid, its preimage once it was, and its payment request; null if unknown. */
  verifyInvoice(payment_hash: string): Promise<{ settled: boolean; preimage: string | null; pr: string } | null>;
  /** This wallet's invoices, newest first (or the one with an `external_id`). */
  listInvoices(query: InvoicesQuery): Promise<{ invoices: Invoice[]; next_cursor: string | null }>;
  creditInvoice(payment_hash: string, amount_msat: Msat): Promise<{ ok: true; preimage: string } | Refusal>;
  payLightning(request: PayLightningRequest): Promise<ApiAnswer<LightningPayment> | Refusal>;
  /** What a money-moving call with this key answered (a replay), a conflict for another request, or null if none. */
  storedAnswer(tag: IdempotencyTag): Promise<ApiAnswer | Refusal | null>;
  lightningPaymentState(payment_id: string): Promise<LightningPayment["status"] | "unknown">;
  /** This wallet's payment of a payment hash (the live attempt, else the latest failed one), or not_found. */
  getLightningPayment(payment_hash: string): Promise<ApiAnswer<LightningPayment> | Refusal>;
  receiveInvoicePayment(payload: TransferPayload): Promise<{ ok: true; preimage: string } | Refusal>;
  books(): Promise<BooksReport>;
  fetch(request: Request): Promise<Response>;
  /** Where one of this wallet's transactions stands, or null if there is none. */
  transactionStatus(transaction_id: string): Promise<Transaction["status"] | null>;
  /** Appends a conversation's events for this member, exactly once and in order. */
  receiveChatEvents(delivery: ChatDelivery): Promise<{ ok: true; through: number } | Refusal>;
  /** Starts forwarding this wallet's events to its account's webhook actor (idempotent). */
  enableWebhooks(): Promise<void>;
  /** The conversations this member is in, most recent activity first. */
  listConversations(limit: number, cursor: string | null): Promise<{ conversation_ids: string[]; next_cursor: string | null }>;
  /** The account's level and its rolling 24 h limits with what was used (GET /v1/account/limits adds the TOTP threshold). */
  limits(): Promise<import("../src/limits").LimitsReport>;
  /** Operator: sets the account's level (0, 1 or 2); `invalid_request` for another value. */
  setLevel(level: number): Promise<import("../src/limits").LimitsReport | Refusal>;
  /**
   * Closes the event sockets `match` names (a credential's, or those of sessions issued before an
   * epoch) with a close code of `SOCKET_CLOSE` (durable/kit/sockets.ts), and refuses upgrades they authorised just before.
   */
  closeSockets(match: import("./kit/sockets").SocketMatch, code: number, reason: string): Promise<{ closed: number }>;
  /** Operator: freezes or unfreezes the account (no payment out while frozen: `account_frozen`); audited when it changes. */
  setFrozen(frozen: boolean, reason: string | null): Promise<{ frozen: boolean; changed: boolean }>;
  /** The wallet chain of the account's audit trail (level, freezes): the newest entries below seq `before` (null: from the newest), newest first. */
  auditEntries(before: number | null, limit: number): Promise<AuditEntry[]>;
  /** Credits a reward program's claim once per `claim_id` (a `reward` transaction); a repeat only acknowledges. Frozen accounts receive too. */
  receiveReward(payload: import("../src/rewards").RewardPayload): Promise<{ ok: true; transaction_id: string; duplicate: boolean } | Refusal>;
  /** Whether the operator froze the account (a frozen account may not claim rewards). */
  frozen(): Promise<boolean>;
  /** Pushes this wallet's solvency snapshot to its shard now instead of after the debounce (tests, operators); what the shard did with it. */
  pushSolvency(): Promise<SolvencyPush>;
  /** A deposit to one of this wallet's addresses changed (the node actor's outbox): `onchain.pending`, then credited once at the threshold. */
  receiveOnchainDeposit(update: OnchainDepositUpdate): Promise<{ ok: true; transaction_id: string; status: string } | Refusal>;
  /** Withdraws to an address through LND's wallet: amount + fee held, SendCoins, settled at the real fee once LND confirms it. */
  payOnchain(request: PayOnchainRequest): Promise<ApiAnswer<import("../src/onchain-schemas").OnchainPayment> | Refusal>;
}

// ── Lightning node ─────────────────────────────────────────────────────────

export interface HoldInvoiceRequest {
  payment_hash: string;
  wallet_id: string;
  amount_msat: Msat | null;
  memo: string | null;
  expiry_s: number;
  /** Committed to instead of the memo, hex (LNURL-pay). */
  description_hash?: string | null;
}

/** A wallet's withdrawal as the node actor sends it (once per `withdrawal_id`, labelled in LND). */
export interface OnchainSendRequest {
  withdrawal_id: string;
  wallet_id: string;
  address: string;
  amount_sat: number;
  fee_rate_sat_vb: number | null;
}

/**
 * Where a withdrawal stands in LND: `pending` (not known to have reached LND yet), `sent` (published,
 * unconfirmed), `confirmed` (in a block, with its real fee), or `failed` (LND refused it: nothing was sent).
 */
export type OnchainSendState =
  | { ok: true; state: "pending" | "sent" | "confirmed"; txid: string | null; fee_sat: number | null; confirmations: number }
  | { ok: true; state: "failed"; reason: string };

/** Where a payment to a hash goes: a hub wallet (paid internally) or out through LND. */
export type PaymentRoute = { route: "internal"; wallet_id: string } | { route: "external" };

export interface LightningNodePort extends Rpc.DurableObjectBranded {
  createHoldInvoice(request: HoldInvoiceRequest): Promise<{ ok: true; payment_request: string } | Refusal>;
  routePayment(payment_hash: string, wallet_id: string, payment_id: string): Promise<PaymentRoute | Refusal>;
  isHubInvoice(payment_hash: string): Promise<boolean>;
  finishPayment(payment_hash: string, payment_id: string, state: "succeeded" | "failed"): Promise<void>;
  invoicePaidInternally(payment_hash: string): Promise<void>;
  applyInvoiceUpdate(update: Pick<LndInvoice, "r_hash" | "state" | "amt_paid_msat">): Promise<string>;
  /** The node's funds (channels and chain, src/solvency.ts `lndBalanceMsat`), or `lightning_unavailable`. */
  balance(): Promise<{ ok: true; balance_msat: Msat } | Refusal>;
  /** A new receive address of LND's wallet, registered to the wallet (deposits to it are the wallet's). */
  newOnchainAddress(wallet_id: string): Promise<{ ok: true; address: string } | Refusal>;
  /** Sends a withdrawal through LND once per withdrawal id (found again by its label after a crash), and says where it stands. */
  sendOnchain(request: OnchainSendRequest): Promise<OnchainSendState | Refusal>;
  /** Looks at LND's wallet now (the sweep): deposits seen, confirmed or dropped since the last look. */
  syncChain(): Promise<{ deposits: number }>;
  /** The liquidity policy's last evaluation against LND's channels and the recent channel opens (docs/decisions/0025). */
  liquidity(): Promise<import("./lightning-node/liquidity").LiquidityReport | Refusal>;
}

// ── Account ────────────────────────────────────────────────────────────────

export interface AccountIdentity {
  account_id: string;
  wallet_id: string;
  username: string;
}

export type { ApiKeyInfo } from "../src/schemas";
/** The account's TOTP state and the threshold above which a send needs a code. */
export type AccountSettings = import("../src/schemas").AccountSettings;
/** A new TOTP secret (base32) and its otpauth:// URI: shown only in the enrolment's answer. */
export type TotpEnrolment = import("../src/schemas").TotpEnrolment;
/** What a TOTP code is asked for: a login, a send (above the threshold), a new credential or a setting. */
export type TotpPurpose = "login" | "send" | "sensitive";

export interface AccountPort extends Rpc.DurableObjectBranded {
  create(identity: AccountIdentity, password_hash: string): Promise<{ refresh_token: string }>;
  /** Whose account this is (its wallet and username), or null if it was never created. */
  describe(): Promise<AccountIdentity | null>;
  /**
   * Checks the password, then (only then) the TOTP code when TOTP is on. `sessions`: sign the access
   * token no earlier than its epoch, and only if no logout-all came meanwhile (docs/decisions/0014).
   * `ip`: the client's (CF-Connecting-IP), for the audit trail. While too many failed logins in a row
   * lock the account, refused before any check: `rate_limited` with `retry_after_s` (`LockedOut`, docs/decisions/0015).
   */
  login(password: string, totp_code?: string | null, ip?: string | null): Promise<{ ok: true; identity: AccountIdentity; refresh_token: string; sessions: import("./account/sessions").SessionsState } | Refusal>;
  /** `ip`: the client's, audited if the token was already spent (a reuse revokes its family). */
  rotateRefreshToken(token: string, ip?: string | null): Promise<{ ok: true; identity: AccountIdentity; refresh_token: string; sessions: import("./account/sessions").SessionsState } | Refusal>;
  /** Revokes the refresh token's family; false if the token is not this account's (nothing to revoke). */
  logout(refresh_token: string): Promise<boolean>;
  /** Revokes every refresh-token family, ends every access token issued so far (the epoch) and closes their sockets. */
  logoutAll(): Promise<import("./account/sessions").SessionsState>;
  /** The session epoch (access tokens issued before it are refused) and the count of logout-alls. */
  sessionsState(): Promise<import("./account/sessions").SessionsState>;
  createApiKey(name: string, scopes: Scope[]): Promise<ApiKeyCreated>;
  listApiKeys(): Promise<ApiKeyInfo[]>;
  /** Revokes the key and closes the event sockets it opened (again on a repeat, in case the first closing failed). */
  revokeApiKey(id: string): Promise<boolean>;
  /** The key's id, account and scopes, or null if unknown or revoked (LNDHub logins are a key's id and the key). */
  verifyApiKey(key: string): Promise<{ id: string; identity: AccountIdentity; scopes: Scope[] } | null>;
  /** Starts (or restarts, while pending) a TOTP enrolment; `conflict` while TOTP is on. */
  enrolTotp(): Promise<ApiAnswer<TotpEnrolment> | Refusal>;
  /** The first code of the pending secret turns TOTP on. */
  confirmTotp(code: string): Promise<ApiAnswer<AccountSettings> | Refusal>;
  /** Turns TOTP off (or drops a pending enrolment) with a code of the current secret. */
  disableTotp(code: string | null): Promise<ApiAnswer<AccountSettings> | Refusal>;
  /**
   * Whether a send or a sensitive action may go ahead (`checked`: a code was needed and accepted;
   * `settings`: what it was decided on). A send's amount null means not known beforehand: a code is
   * needed whenever TOTP is on.
   */
  checkTotp(code: string | null, purpose: Exclude<TotpPurpose, "login">, amount_msat?: Msat | null, request?: IdempotencyTag | null): Promise<{ ok: true; checked: boolean; settings: AccountSettings } | Refusal>;
  settings(): Promise<AccountSettings>;
  /** Changes the send threshold; with TOTP on, only with a code. */
  setTotpThreshold(totp_threshold_sat: number, code: string | null): Promise<ApiAnswer<AccountSettings> | Refusal>;
  /** The account chain of the audit trail (logins, sessions, API keys, TOTP): the newest entries below seq `before` (null: from the newest), newest first. */
  auditEntries(before: number | null, limit: number): Promise<AuditEntry[]>;
}

// ── Username ───────────────────────────────────────────────────────────────

export interface UsernameClaim {
  account_id: string;
  wallet_id: string;
  username: string;
}

/** What anyone signed in may learn about a user: whom to pay, and the key to encrypt to. */
export interface UserProfile {
  username: string;
  wallet_id: string;
  /** 32-byte x-only secp256k1 public key (hex) for NIP-44 messages, or null if none was set. */
  encryption_public_key: string | null;
}

export interface UsernamePort extends Rpc.DurableObjectBranded {
  claim(claim: UsernameClaim): Promise<{ ok: true; claim: UsernameClaim } | Refusal>;
  lookup(): Promise<UsernameClaim | null>;
  /** The public profile of the name's owner, or null if the name is not claimed. */
  profile(): Promise<UserProfile | null>;
  /** Sets the owner's encryption public key; only the owning account may (forbidden otherwise). */
  setEncryptionKey(account_id: string, public_key: string): Promise<{ ok: true } | Refusal>;
}

// ── Conversation ───────────────────────────────────────────────────────────

export interface CreateConversationRequest {
  conversation_id: string;
  kind: Conversation["kind"];
  title: string | null;
  /** Every member, the creator first. */
  members: ChatMember[];
}

export interface MessagesQuery {
  before: number | null;
  after: number | null;
  limit: number;
}

/** Every call names the calling member by wallet; a caller who is not a member gets `not_found`. */
export interface ConversationPort extends Rpc.DurableObjectBranded {
  create(request: CreateConversationRequest): Promise<ApiAnswer<Conversation>>;
  summary(member: string): Promise<ConversationSummary | null>;
  postMessage(member: string, message: NewMessage, idempotency: IdempotencyTag | null): Promise<ApiAnswer<{ message: ChatMessage }> | Refusal>;
  payRequest(member: string, message_id: string, idempotency: IdempotencyTag | null): Promise<ApiAnswer<{ message: ChatMessage }> | Refusal>;
  cancelRequest(member: string, message_id: string): Promise<ApiAnswer<{ message: ChatMessage }> | Refusal>;
  messages(member: string, query: MessagesQuery): Promise<ApiAnswer<{ messages: ChatMessage[]; next_cursor: string | null }> | Refusal>;
  markRead(member: string, seq: number): Promise<ApiAnswer<{ conversation_id: string; seq: number }> | Refusal>;
  leave(member: string): Promise<ApiAnswer<{ conversation_id: string; left: true }> | Refusal>;
}

// ── Webhooks ───────────────────────────────────────────────────────────────

export interface WebhookEndpoint {
  id: string;
  url: string;
  events: string[];
  description: string | null;
  created_at: string;
  /** Set when the receiver answered 410 Gone: nothing more is sent to it. */
  disabled_at: string | null;
}

export interface WebhookDelivery {
  id: string;
  event_id: string;
  type: string;
  status: "pending" | "delivered" | "failed";
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  next_attempt_at: string | null;
  created_at: string;
}

/** One per account that has webhook endpoints: the endpoints, their secrets, deliveries and their log. */
export interface WebhookPort extends Rpc.DurableObjectBranded {
  createEndpoint(request: { account_id: string; url: string; events: string[]; description: string | null }): Promise<ApiAnswer<WebhookEndpoint & { secret: string }> | Refusal>;
  listEndpoints(): Promise<{ webhooks: WebhookEndpoint[] }>;
  deleteEndpoint(id: string): Promise<ApiAnswer<{ id: string; deleted: true }> | Refusal>;
  rotateSecret(id: string): Promise<ApiAnswer<{ secret: string }> | Refusal>;
  sendTest(id: string): Promise<ApiAnswer<{ delivery: WebhookDelivery }> | Refusal>;
  listDeliveries(id: string, query: { status: WebhookDelivery["status"] | null; limit: number; cursor: string | null }): Promise<ApiAnswer<{ deliveries: WebhookDelivery[]; next_cursor: string | null }> | Refusal>;
  retryDelivery(id: string, delivery_id: string): Promise<ApiAnswer<{ delivery: WebhookDelivery }> | Refusal>;
  /** The account's wallet events, in order from `first_seq`: turned into deliveries once. */
  receiveEvents(delivery: WebhookFeedDelivery): Promise<{ ok: true; through: number } | Refusal>;
  /** The webhooks chain of the account's audit trail (endpoints): the newest entries below seq `before` (null: from the newest), newest first. */
  auditEntries(before: number | null, limit: number): Promise<AuditEntry[]>;
}

// ── Metrics ────────────────────────────────────────────────────────────────

/** One of the metrics shards (`metrics:<n>`, docs/decisions/0022): isolates hand their counts to one at random; a scrape reads them all. */
export interface MetricsPort extends Rpc.DurableObjectBranded {
  /** Adds what one isolate counted since its last hand-over. */
  add(delta: import("../src/metrics/recorder").MetricsDelta): Promise<void>;
  /** The shard's sums; its spans (recent, day, active accounts) end at `now_ms`, the scrape's time. */
  read(now_ms: number): Promise<import("../src/metrics/families").SeriesReading>;
}

// ── Rewards ────────────────────────────────────────────────────────────────

/** What the operator creates (docs/decisions/0021); `fingerprint`: of the admin request, when it carried an Idempotency-Key. */
export interface CreateRewardProgramRequest {
  program_id: string;
  name: string;
  amount_msat: Msat;
  budget_msat: Msat;
  ends_at: string | null;
  fingerprint: string | null;
}

/** One per reward program: its budget, books, claims (one per account) and their delivery to wallets. */
export interface RewardProgramPort extends Rpc.DurableObjectBranded {
  /** Operator: creates and funds the program (once per actor; the same request again answers it as it stands), then lists it. */
  create(request: CreateRewardProgramRequest): Promise<ApiAnswer<import("../src/reward-schemas").RewardProgram> | Refusal>;
  /** The program as an account sees it (what is left, its status, the account's claim), or null if there is none. */
  view(account_id: string): Promise<import("../src/reward-schemas").Reward | null>;
  /** An account's claim: once per account, refused when frozen, claimed before, ended or spent; the wallet credited exactly once. */
  claim(request: import("./reward-program/claims").ClaimRequest): Promise<ApiAnswer<import("../src/reward-schemas").RewardClaim> | Refusal>;
  /** Operator: the program's figures, its books' invariants and its audit trail, or null. */
  details(): Promise<import("../src/reward-schemas").RewardProgramDetail | null>;
  /** The program's books and the invariants they break (src/rewards.ts `checkProgramBooks`), or null. */
  books(): Promise<(import("../src/rewards").ProgramBooks & { problems: string[] }) | null>;
  /** The program's audit trail: the newest entries below seq `before` (null: from the newest), newest first. */
  auditEntries(before: number | null, limit: number): Promise<AuditEntry<"reward_program">[]>;
}

/** The one list of reward programs there are (their ids, newest first). */
export interface RewardDirectoryPort extends Rpc.DurableObjectBranded {
  /** Lists a program (its actor's outbox calls it; a repeat only acknowledges). */
  register(program_id: string, created_at: string): Promise<{ ok: true }>;
  /** Program ids, newest listed first; `cursor` is the previous page's `next_cursor`. */
  page(limit: number, cursor: string | null): Promise<{ program_ids: string[]; next_cursor: string | null }>;
}

// ── Solvency ───────────────────────────────────────────────────────────────

/** What a wallet's push of its snapshot came to: `applied` false when the shard had it (or a newer one) already; null when there was nothing to push. */
export type SolvencyPush = { pushed: WalletSnapshot; applied: boolean } | { pushed: null; applied: false };

/** One of SOLVENCY_SHARDS (src/solvency.ts): the newest snapshot of each of its wallets (docs/decisions/0020). */
export interface SolvencyShardPort extends Rpc.DurableObjectBranded {
  /** Keeps a wallet's snapshot unless the shard has a version as new or newer (redelivered or late snapshots change nothing). */
  record(snapshot: WalletSnapshot): Promise<{ ok: true; applied: boolean } | Refusal>;
  /** The sums over the shard's wallets. */
  totals(): Promise<SnapshotTotals>;
  /** One wallet's snapshot as the shard keeps it, or null. */
  snapshot(wallet_id: string): Promise<WalletSnapshot | null>;
  /** The shard's snapshots by wallet id after `after` (null: from the first), at most `limit`. */
  snapshots(after: string | null, limit: number): Promise<WalletSnapshot[]>;
}
