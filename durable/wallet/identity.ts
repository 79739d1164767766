import type { Counterparty } from "../../src/wallet-types";
import type { ActorKit, Part } from "../kit/part";
import type { WalletIdentity } from "../ports";

/** Whose wallet this is: written once when the account opens it, kept in memory. */
export class Identity implements Part {
  readonly name = "identity";
  readonly migrations = [
    `CREATE TABLE wallet (
       id INTEGER PRIMARY KEY CHECK (id = 1),
       wallet_id TEXT NOT NULL, account_id TEXT NOT NULL, username TEXT NOT NULL, opened_at TEXT NOT NULL);`,
  ];
  private current: WalletIdentity | null = null;

  constructor(private readonly kit: ActorKit) {}

  onStart(): void {
    this.current = this.kit.sql<WalletIdentity>`SELECT wallet_id, account_id, username FROM wallet`[0] ?? null;
  }

  /** Who owns the wallet, or null if it was never opened (such a wallet receives nothing). */
  get(): WalletIdentity | null {
    return this.current;
  }

  /** Opens the wallet once; later calls return the first identity. */
  open(identity: WalletIdentity): WalletIdentity {
    if (!this.current) {
      this.kit.sql`INSERT INTO wallet (id, wallet_id, account_id, username, opened_at)
                   VALUES (1, ${identity.wallet_id}, ${identity.account_id}, ${identity.username}, ${new Date().toISOString()})`;
      this.current = { ...identity };
    }
    return this.current;
  }

  /** This wallet as the other side of a payment sees it. */
  counterparty(): Counterparty {
    const { wallet_id, username } = this.current!;
    return { wallet_id, username };
  }
}
