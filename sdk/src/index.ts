/**
 * @flash-hub/sdk: a client of Flash Hub for browsers, Node 22 and Workers.
 *
 * `hub.api` is the whole API, typed from the hub's OpenAPI document (src/schema.d.ts is generated
 * from `GET /openapi.json`); the methods beside it are what most apps do, with the care the hub
 * asks for built in: an `Idempotency-Key` per money call (kept across retries of that call), the
 * session's access token refreshed once when due, an event stream that resumes where it stopped,
 * end-to-end encrypted chat (NIP-44 v2) and Lightning Address payments.
 */
import createClient, { type Client } from "openapi-fetch";
import { utils } from "@noble/secp256k1";
import { bytesToHex } from "@noble/hashes/utils.js";
import type { components, paths } from "./schema";
import { encrypt, decrypt, getConversationKey, getPublicKeyXOnly } from "../../src/nip44.ts";
import { authorizedFetch, Credentials, DEFAULT_RETRY, type RetryPolicy, type Session } from "./transport.ts";
import { EventStream, viaFetchUpgrade, viaWebSocket, type EventStreamOptions, type SocketConnector } from "./events.ts";

export type { components, operations, paths } from "./schema";
export { SessionEnded, type RetryPolicy, type Session } from "./transport.ts";
export { EventStream, StreamRefused, viaFetchUpgrade, viaWebSocket, type EventStreamOptions, type HubEvent, type SocketConnector, type SocketLike } from "./events.ts";

type Schemas = components["schemas"];
export type Wallet = Schemas["Wallet"];
export type Transaction = Schemas["Transaction"];
export type TransferResult = Schemas["TransferResult"];
export type LightningPayment = Schemas["LightningPayment"];
export type Invoice = Schemas["Invoice"];
export type Conversation = Schemas["Conversation"];
export type ChatMessage = Schemas["ChatMessage"];
export type UserProfile = Schemas["UserProfile"];
export type AccountCreated = Schemas["AccountCreated"];

/** The hub answered a call with an error: its status and the contract's `{error: {code, message}}`. */
export class HubError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(`${status} ${code}: ${message}`);
    this.name = "HubError";
  }
}

export interface FlashHubOptions {
  /** The hub, e.g. `http://127.0.0.1:8787` (`npm start`). */
  baseUrl: string;
  /** A session saved from an earlier sign-up or login (see `onSession`). */
  session?: Session;
  /** Or an API key (`fhk_…`), used as it is (no refresh). */
  apiKey?: string;
  /** Told every new session (after login, each refresh) and `null` when it ends: persist it here. */
  onSession?: (session: Session | null) => void;
  /** The `fetch` to use (default: the global one), e.g. a Worker's service binding's. */
  fetch?: typeof fetch;
  /** How the event stream connects: `viaWebSocket` (default) or `viaFetchUpgrade(fetch)` in a Worker. */
  connectSocket?: SocketConnector;
  retry?: Partial<RetryPolicy>;
}

/** Options of every money call. */
export interface MoneyCallOptions {
  /**
   * The call's `Idempotency-Key`. Each call makes its own and keeps it across its retries; pass one
   * (and keep it, e.g. with the order it pays) to make a call that may be repeated after a crash or
   * a reload safe as well: the hub answers a repeat with the first answer and moves nothing twice.
   */
  idempotencyKey?: string;
  /** The TOTP code, when TOTP is on and the amount is over the account's threshold. */
  totpCode?: string;
}

const newIdempotencyKey = () => crypto.randomUUID();

/** The call's data, or a `HubError`. */
function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.error !== undefined || result.data === undefined) {
    const body = result.error as { error?: { code?: string; message?: string }; reason?: string } | undefined;
    throw new HubError(result.response.status, body?.error?.code ?? "error", body?.error?.message ?? body?.reason ?? result.response.statusText);
  }
  return result.data;
}

const LIGHTNING_ADDRESS = /^[a-z0-9\-_.+]{1,64}@[a-z0-9.-]+(:\d+)?$/i;

export class FlashHub {
  /** Every route, typed: `hub.api.GET("/v1/wallet")`, `hub.api.POST("/v1/invoices", {body})`. */
  readonly api: Client<paths>;
  private readonly credentials: Credentials;
  private readonly baseUrl: string;
  private readonly retry: RetryPolicy;
  private readonly connect: SocketConnector;
  private readonly keys = new Map<string, Promise<string | null>>();

  constructor(options: FlashHubOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    const fetcher = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init));
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.credentials = new Credentials(this.baseUrl, fetcher, options.session ?? null, options.apiKey ?? null, options.onSession ?? (() => {}));
    this.api = createClient<paths>({ baseUrl: this.baseUrl, fetch: authorizedFetch(this.credentials, fetcher, this.retry) });
    this.connect = options.connectSocket ?? (options.fetch ? viaFetchUpgrade(fetcher) : viaWebSocket);
  }

  /** The session in use (to persist it), or null. */
  get session(): Session | null {
    return this.credentials.current;
  }

  // ── Accounts ──

  /** Creates an account and starts its session. */
  async signUp(username: string, password: string): Promise<AccountCreated> {
    const created = unwrap(await this.api.POST("/v1/accounts", { body: { username, password } }));
    this.credentials.use({ access_token: created.access_token, refresh_token: created.refresh_token });
    return created;
  }

  /** Logs in (with the TOTP code when TOTP is on) and starts the session. */
  async logIn(username: string, password: string, totpCode?: string): Promise<void> {
    const tokens = unwrap(await this.api.POST("/v1/auth/login", { body: { username, password, ...(totpCode ? { totp_code: totpCode } : {}) } }));
    this.credentials.use({ access_token: tokens.access_token, refresh_token: tokens.refresh_token });
  }

  /** Ends the session at the hub (its refresh tokens revoked) and here. */
  async logOut(): Promise<void> {
    const session = this.credentials.current;
    if (!session) return;
    this.credentials.use(null);
    unwrap(await this.api.POST("/v1/auth/logout", { body: { refresh_token: session.refresh_token } }));
  }

  // ── Wallet ──

  async wallet(): Promise<Wallet> {
    return unwrap(await this.api.GET("/v1/wallet"));
  }

  async transactions(query: { limit?: number; cursor?: string } = {}) {
    return unwrap(await this.api.GET("/v1/wallet/transactions", { params: { query } }));
  }

  // ── Money (each call idempotent: see MoneyCallOptions) ──

  private moneyHeaders(options: MoneyCallOptions) {
    return { "idempotency-key": options.idempotencyKey ?? newIdempotencyKey(), ...(options.totpCode ? { "x-totp-code": options.totpCode } : {}) };
  }

  /** Pays a user of this hub (username or wallet id). */
  async pay(to: string, amountSat: number, options: MoneyCallOptions & { memo?: string } = {}): Promise<TransferResult> {
    return unwrap(
      await this.api.POST("/v1/payments/intraledger", {
        params: { header: this.moneyHeaders(options) },
        body: { to, amount_sat: amountSat, ...(options.memo ? { memo: options.memo } : {}) },
      }),
    );
  }

  /** Pays a BOLT 11 invoice (`amountSat` only for an invoice without an amount). */
  async payInvoice(paymentRequest: string, options: MoneyCallOptions & { amountSat?: number; maxFeeSat?: number } = {}): Promise<LightningPayment> {
    return unwrap(
      await this.api.POST("/v1/payments/lightning", {
        params: { header: this.moneyHeaders(options) },
        body: { payment_request: paymentRequest, ...(options.amountSat ? { amount_sat: options.amountSat } : {}), ...(options.maxFeeSat !== undefined ? { max_fee_sat: options.maxFeeSat } : {}) },
      }),
    );
  }

  /** Pays a Lightning Address (`name@host`) or an `lnurl1…` (LNURL-pay); an address of this hub is paid inside it. */
  async payAddress(destination: string, amountSat: number, options: MoneyCallOptions & { comment?: string } = {}): Promise<LightningPayment> {
    return unwrap(
      await this.api.POST("/v1/payments/lnurl", {
        params: { header: this.moneyHeaders(options) },
        body: { destination, amount_sat: amountSat, ...(options.comment ? { comment: options.comment } : {}) },
      }),
    );
  }

  /** An invoice to be paid (no amount: the payer chooses). */
  async createInvoice(options: { amountSat?: number; memo?: string; expiryS?: number } = {}): Promise<Invoice> {
    return unwrap(
      await this.api.POST("/v1/invoices", {
        body: { ...(options.amountSat ? { amount_sat: options.amountSat } : {}), ...(options.memo ? { memo: options.memo } : {}), ...(options.expiryS ? { expiry_s: options.expiryS } : {}) },
      }),
    );
  }

  /** Development only (`npm start`): credits the account from the faucet. */
  async faucet(amountSat: number, options: Pick<MoneyCallOptions, "idempotencyKey"> = {}) {
    return unwrap(await this.api.POST("/dev/faucet", { params: { header: { "idempotency-key": options.idempotencyKey ?? newIdempotencyKey() } }, body: { amount_sat: amountSat } }));
  }

  // ── Lightning Address ──

  /** Whether `text` looks like a Lightning Address (`name@host`). */
  static isLightningAddress(text: string): boolean {
    return LIGHTNING_ADDRESS.test(text.trim());
  }

  /** A user's Lightning Address on this hub, as the hub publishes it. */
  async lightningAddressOf(username: string): Promise<string> {
    return (await this.user(username)).lightning_address;
  }

  // ── Events ──

  /** Follows the account's events (see EventStream): resumes after the last one delivered on any loss. */
  events(options: EventStreamOptions): EventStream {
    return new EventStream(
      {
        streamUrl: (after) => `${this.baseUrl}/v1/events/stream?after=${after}`,
        bearer: () => this.credentials.bearer(),
        refresh: (stale) => this.credentials.refresh(stale),
        connect: this.connect,
        retry: this.retry,
      },
      options,
    );
  }

  // ── Users, chat and end-to-end encryption ──

  async user(username: string): Promise<UserProfile> {
    return unwrap(await this.api.GET("/v1/users/{username}", { params: { path: { username } } }));
  }

  /**
   * Publishes the public half of `privateKeyHex` (a secp256k1 key the app made and keeps, e.g. in
   * IndexedDB: it never leaves the device) as the account's encryption key.
   */
  async publishEncryptionKey(privateKeyHex: string): Promise<string> {
    const public_key = getPublicKeyXOnly(privateKeyHex);
    unwrap(await this.api.PUT("/v1/account/encryption-key", { body: { public_key } }));
    return public_key;
  }

  /** A member's published encryption key (null if none), asked once per username and remembered. */
  async encryptionKeyOf(username: string): Promise<string | null> {
    const name = username.toLowerCase();
    let known = this.keys.get(name);
    if (!known) {
      known = this.user(name).then((u) => u.encryption_public_key);
      known.catch(() => this.keys.delete(name));
      this.keys.set(name, known);
    }
    const key = await known;
    if (key === null) this.keys.delete(name); // they may publish one later
    return key;
  }

  /** Forgets the keys remembered (e.g. after a member says they changed theirs). */
  forgetEncryptionKeys(): void {
    this.keys.clear();
  }

  async openConversation(members: string[], title?: string): Promise<Conversation> {
    return unwrap(await this.api.POST("/v1/conversations", { body: { members, ...(title ? { title } : {}) } }));
  }

  async sendText(conversationId: string, text: string, options: Pick<MoneyCallOptions, "idempotencyKey"> = {}): Promise<ChatMessage> {
    return unwrap(
      await this.api.POST("/v1/conversations/{id}/messages", {
        params: { path: { id: conversationId }, header: { "idempotency-key": options.idempotencyKey ?? newIdempotencyKey() } },
        body: { text },
      }),
    ).message;
  }

  /**
   * Sends `text` encrypted (NIP-44 v2) for the other member of a direct conversation: only the two
   * of them can read it (the hub stores and relays the ciphertext). NIP-44 is between two keys, so
   * groups take plain text here.
   */
  async sendEncrypted(conversationId: string, to: string, text: string, privateKeyHex: string, options: Pick<MoneyCallOptions, "idempotencyKey"> = {}): Promise<ChatMessage> {
    const theirs = await this.encryptionKeyOf(to);
    if (!theirs) throw new Error(`${to} has published no encryption key`);
    const ciphertext = encrypt(text, getConversationKey(privateKeyHex, theirs));
    return unwrap(
      await this.api.POST("/v1/conversations/{id}/messages", {
        params: { path: { id: conversationId }, header: { "idempotency-key": options.idempotencyKey ?? newIdempotencyKey() } },
        body: { ciphertext },
      }),
    ).message;
  }

  /**
   * The clear text of a message: its text, or its ciphertext decrypted with `privateKeyHex` and the
   * key of `counterparty` (the other member of the direct conversation, whoever sent it: the
   * conversation key is the same both ways). Throws if the ciphertext was not made for this pair.
   */
  async readMessage(message: ChatMessage, counterparty: string, privateKeyHex: string): Promise<string | null> {
    if (message.ciphertext === null) return message.text;
    const theirs = await this.encryptionKeyOf(counterparty);
    if (!theirs) throw new Error(`${counterparty} has published no encryption key`);
    return decrypt(message.ciphertext, getConversationKey(privateKeyHex, theirs));
  }

  /** Pays a member in a conversation: the payment and its message are one fact (decision 0007). */
  async payInChat(conversationId: string, amountSat: number, options: MoneyCallOptions & { to?: string; text?: string } = {}): Promise<ChatMessage> {
    return unwrap(
      await this.api.POST("/v1/conversations/{id}/messages", {
        params: { path: { id: conversationId }, header: this.moneyHeaders(options) },
        body: { payment: { amount_sat: amountSat, ...(options.to ? { to: options.to } : {}), ...(options.text ? { text: options.text } : {}) } },
      }),
    ).message;
  }
}

export { getPublicKeyXOnly };

/**
 * A new secp256k1 private key (hex) for end-to-end encryption. Keep it on the device (IndexedDB, a
 * keychain): whoever holds it reads the account's encrypted messages, and the hub never sees it.
 */
export const newEncryptionKey = (): string => bytesToHex(utils.randomSecretKey());
