import type { LndEnv } from "./lnd";
import type { RewardDirectoryPort, RewardProgramPort } from "./ports";
import type { AccountPort, ConversationPort, LightningNodePort, SolvencyShardPort, UsernamePort, WalletPort, WebhookPort } from "./ports";
import { solvencyShardOf } from "../src/solvency";

/** The hub's bindings (wrangler.toml, secrets, `.dev.vars`): one type for the worker and every actor. */
export interface Env extends LndEnv {
  WALLET: DurableObjectNamespace<WalletPort>;
  ACCOUNT: DurableObjectNamespace<AccountPort>;
  USERNAME: DurableObjectNamespace<UsernamePort>;
  LIGHTNING: DurableObjectNamespace<LightningNodePort>;
  CONVERSATION: DurableObjectNamespace<ConversationPort>;
  WEBHOOKS: DurableObjectNamespace<WebhookPort>;
  /** The solvency aggregate's shards (`solvency:<n>`, n < SOLVENCY_SHARDS; docs/decisions/0020). */
  SOLVENCY: DurableObjectNamespace<SolvencyShardPort>;
  /** The metrics shards (`metrics:<n>`, n < METRICS_SHARDS; docs/decisions/0022). */
  METRICS: DurableObjectNamespace<import("./ports").MetricsPort>;
  /** One per reward program (`rwp_…`): its budget, books and claims (docs/decisions/0021). */
  REWARD_PROGRAMS: DurableObjectNamespace<RewardProgramPort>;
  /** The one directory of reward programs. */
  REWARD_DIRECTORY: DurableObjectNamespace<RewardDirectoryPort>;
  /** Multiplies the webhook retry schedule (tests shorten it); 1 unless set. */
  WEBHOOK_RETRY_SCALE?: string;
  /** How long a webhook receiver may take (ms); 15 s unless set. */
  WEBHOOK_TIMEOUT_MS?: string;
  /** "development" enables /dev/*; anything else is production. */
  ENVIRONMENT: string;
  /** Ed25519 private JWK (JSON) that signs access tokens: a Worker secret, `.dev.vars` locally. */
  JWT_PRIVATE_JWK: string;
  /** During a key rotation only: the previous key's public JWK (no `d`), so its tokens verify until they expire (decision 0003). */
  JWT_PREVIOUS_PUBLIC_JWK?: string;
  /**
   * AES-256-GCM key (32 bytes, base64) sealing accounts' TOTP secrets: a Worker secret, `.dev.vars`
   * locally (decision 0011). Only enrolling and checking codes need it; changing it loses every secret.
   */
  TOTP_ENCRYPTION_KEY?: string;
  /**
   * The operator's bearer for /v1/admin/* (workers/routes/admin.ts): a Worker secret, `.dev.vars`
   * locally. Unset (or shorter than 32 characters): the admin API answers 401 to everything.
   */
  ADMIN_API_KEY?: string;
  /** The chain the LND node runs on; invoices for another network are refused. */
  BITCOIN_NETWORK?: string;
  /** How long a payment request waits on LND before answering `pending` (tests shorten it). */
  LND_PAY_WAIT_MS?: string;
  /** Confirmations at which an on-chain deposit is credited (3 unless set; 1 to 100; docs/decisions/0023). */
  ONCHAIN_CONFIRMATIONS?: string;
  /**
   * The liquidity policy (the seed's channelStrategy) as JSON: minChannelSize, maxChannelSize (sat),
   * targetUtilization, rebalanceThreshold, autoOpenChannels, preferredPeers ("pubkey@host:port"),
   * evaluateEveryS; unset: no evaluation (src/liquidity.ts, docs/decisions/0025).
   */
  LIQUIDITY_POLICY?: string;
  /**
   * How long (ms) each isolate trusts what it last learnt of an account's session epoch (access
   * tokens issued before it are refused: logged out everywhere); 5000 unless set, "0" asks the
   * AccountActor on every request (tests). A logout-all takes effect everywhere within this
   * (docs/decisions/0014).
   */
  SESSION_EPOCH_TTL_MS?: string;
  /** "closed" refuses `POST /lndhub/create` (LndHub's code 11); open otherwise, like `POST /v1/accounts` (decision 0009). */
  LNDHUB_CREATE?: string;
  /**
   * Rate limits (wrangler.toml `[[ratelimits]]`, Cloudflare's rate-limiting binding: a fixed limit per
   * 10 or 60 s window and key; docs/decisions/0015): failed logins per client address, account
   * creations per client address, LNURL-pay callbacks per client address, requests per credential,
   * chat messages per account.
   */
  FAILED_LOGINS_PER_IP: RateLimit;
  ACCOUNT_CREATIONS_PER_IP: RateLimit;
  LNURL_CALLBACKS_PER_IP: RateLimit;
  REQUESTS_PER_TOKEN: RateLimit;
  CHAT_MESSAGES_PER_ACCOUNT: RateLimit;
  /** Failed logins in a row that lock an account's password login (10 unless set, at most 30). */
  LOGIN_LOCKOUT_AFTER?: string;
  /** How long that lock lasts, in seconds (900 unless set). */
  LOGIN_LOCKOUT_S?: string;
  /**
   * "off" switches the rolling 24 h account limits and the rate-limiting bindings off, for the
   * benchmark's limits on/off comparison only: honoured in development, refused anywhere else (`limitsOff`).
   */
  LIMITS?: string;
}

/** The hub runs one LND node today; its actor has this name. */
export const LIGHTNING_NODE_NAME = "default";

export const isDevelopment = (env: Pick<Env, "ENVIRONMENT">) => env.ENVIRONMENT === "development";

let refusedLimitsOff = false;

/**
 * Whether the account limits and rate limits are switched off (`LIMITS=off`): only in development,
 * for the benchmark's comparison. Anywhere else the switch is refused: the limits stay on (and the
 * refusal is logged once per isolate; scripts/check-config.mjs fails a production config that sets it).
 */
export function limitsOff(env: Pick<Env, "ENVIRONMENT" | "LIMITS">): boolean {
  if (env.LIMITS !== "off") return false;
  if (isDevelopment(env)) return true;
  if (!refusedLimitsOff) console.error(`LIMITS=off refused: ENVIRONMENT is "${env.ENVIRONMENT}", not development; every limit stays on`);
  refusedLimitsOff = true;
  return false;
}

/** The stub of each actor, by the name that identifies it. */
export const walletActor = (env: Pick<Env, "WALLET">, walletId: string) => env.WALLET.get(env.WALLET.idFromName(walletId));
export const accountActor = (env: Pick<Env, "ACCOUNT">, accountId: string) => env.ACCOUNT.get(env.ACCOUNT.idFromName(accountId));
/** Usernames are unique case-insensitively: the actor is named by the lower-cased name. */
export const usernameActor = (env: Pick<Env, "USERNAME">, username: string) => env.USERNAME.get(env.USERNAME.idFromName(`username:${username.toLowerCase()}`));
export const conversationActor = (env: Pick<Env, "CONVERSATION">, conversationId: string) => env.CONVERSATION.get(env.CONVERSATION.idFromName(conversationId));
/** One webhook actor per account: its endpoints and deliveries. */
export const webhookActor = (env: Pick<Env, "WEBHOOKS">, accountId: string) => env.WEBHOOKS.get(env.WEBHOOKS.idFromName(`webhooks:${accountId}`));
export const lightningNode = (env: Pick<Env, "LIGHTNING">) => env.LIGHTNING.get(env.LIGHTNING.idFromName(LIGHTNING_NODE_NAME));
/** One shard of the solvency aggregate, by its number; `solvencyShardFor` names a wallet's. */
export const solvencyShard = (env: Pick<Env, "SOLVENCY">, shard: number) => env.SOLVENCY.get(env.SOLVENCY.idFromName(`solvency:${shard}`));
export const solvencyShardFor = (env: Pick<Env, "SOLVENCY">, walletId: string) => solvencyShard(env, solvencyShardOf(walletId));
/** One metrics shard, by its number (n < METRICS_SHARDS). */
export const metricsShard = (env: Pick<Env, "METRICS">, shard: number) => env.METRICS.get(env.METRICS.idFromName(`metrics:${shard}`));
/** A reward program's actor, by the program's id; the directory of programs is one actor. */
export const rewardProgramActor = (env: Pick<Env, "REWARD_PROGRAMS">, programId: string) => env.REWARD_PROGRAMS.get(env.REWARD_PROGRAMS.idFromName(programId));
export const rewardDirectory = (env: Pick<Env, "REWARD_DIRECTORY">) => env.REWARD_DIRECTORY.get(env.REWARD_DIRECTORY.idFromName("rewards"));
