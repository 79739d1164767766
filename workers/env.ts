import type { AccountActor } from "../durable/account-actor";
import type { LightningNodeActor } from "../durable/lightning-node-actor";
import type { LndEnv } from "../durable/lnd";
import type { UsernameActor } from "../durable/username-actor";
import type { WalletActor } from "../durable/wallet-actor";
import type { Principal } from "../src/auth/tokens";

export interface Env extends LndEnv {
  LIGHTNING: DurableObjectNamespace<LightningNodeActor>;
  /** The chain the LND node runs on; invoices for another network are refused. */
  BITCOIN_NETWORK?: string;
  WALLET: DurableObjectNamespace<WalletActor>;
  ACCOUNT: DurableObjectNamespace<AccountActor>;
  USERNAME: DurableObjectNamespace<UsernameActor>;
  /** "development" enables /dev/*; anything else is production. */
  ENVIRONMENT: string;
  /** Ed25519 private JWK (JSON) that signs access tokens: a Worker secret, `.dev.vars` locally. */
  JWT_PRIVATE_JWK: string;
}

export interface AppEnv {
  Bindings: Env;
  Variables: { principal: Principal };
}

export const isDevelopment = (env: Env) => env.ENVIRONMENT === "development";

export const walletActor = (env: Env, walletId: string) => env.WALLET.get(env.WALLET.idFromName(walletId));
export const accountActor = (env: Env, accountId: string) => env.ACCOUNT.get(env.ACCOUNT.idFromName(accountId));
/** Usernames are unique case-insensitively: the actor is named by the lower-cased name. */
export const usernameActor = (env: Env, username: string) => env.USERNAME.get(env.USERNAME.idFromName(`username:${username.toLowerCase()}`));
/** The actor of the hub's LND node (one node today: "default"). */
export const lightningNode = (env: Env) => env.LIGHTNING.get(env.LIGHTNING.idFromName("default"));
