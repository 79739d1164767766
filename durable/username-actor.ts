import { Actor } from "./actor";
import { refuse, type Refusal } from "../src/errors";

export interface UsernameClaim {
  account_id: string;
  wallet_id: string;
  username: string;
}

const SCHEMA = [
  `CREATE TABLE claim (
     id INTEGER PRIMARY KEY CHECK (id = 1),
     username TEXT NOT NULL, account_id TEXT NOT NULL, wallet_id TEXT NOT NULL, claimed_at TEXT NOT NULL);`,
];

/**
 * One per lower-cased username (`username:<name>`): owning the name is owning this actor's one
 * row, so uniqueness needs no global table.
 */
export class UsernameActor extends Actor {
  protected readonly schema = SCHEMA;

  /** Claims the name for an account; the same account claiming again is a no-op. */
  async claim(claim: UsernameClaim): Promise<{ ok: true; claim: UsernameClaim } | Refusal> {
    const existing = this.current();
    if (existing) {
      return existing.account_id === claim.account_id ? { ok: true, claim: existing } : refuse("username_taken", "that username is taken");
    }
    this.sql`INSERT INTO claim (id, username, account_id, wallet_id, claimed_at)
             VALUES (1, ${claim.username}, ${claim.account_id}, ${claim.wallet_id}, ${new Date().toISOString()})`;
    return { ok: true, claim };
  }

  /** The account that owns this name, or null. */
  async lookup(): Promise<UsernameClaim | null> {
    return this.current();
  }

  private current(): UsernameClaim | null {
    return this.sql<UsernameClaim>`SELECT username, account_id, wallet_id FROM claim`[0] ?? null;
  }
}
