// What test/regtest/global-setup.mjs provides to the regtest tier (vitest `provide` / `inject`).

export interface RegtestNode {
  name: "hub" | "alice" | "bob";
  pubkey: string;
  /** plain HTTP on 127.0.0.1 (lnd --no-rest-tls). */
  restUrl: string;
  /** admin macaroon, hex: the Grpc-Metadata-macaroon header. */
  macaroonHex: string;
}

export interface RegtestContext {
  hub: RegtestNode;
  alice: RegtestNode;
  bob: RegtestNode;
  /** scripts/regtest/control.mjs: restart lnd, mine, lncli. */
  controlUrl: string;
}

declare module "vitest" {
  interface ProvidedContext {
    regtest: RegtestContext;
  }
}
