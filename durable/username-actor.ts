import { Actor } from "./kit/actor";
import type { Part } from "./kit/part";
import type { UsernameClaim, UsernamePort } from "./ports";
import { refuse, type Refusal } from "../src/errors";

/** The schema before the actor kit; its one step is the claim part's first. */
const CLAIM_SCHEMA = [
  `CREATE TABLE claim (
     id INTEGER PRIMARY KEY CHECK (id = 1),
     username TEXT NOT NULL, account_id TEXT NOT NULL, wallet_id TEXT NOT NULL, claimed_at TEXT NOT NULL);`,
];

/**
 * One per lower-cased username (`username:<name>`): owning the name is owning this actor's one
 * row, so uniqueness needs no global table.
 */
export class UsernameActor extends Actor implements UsernamePort {
  private readonly claimTable: Part = { name: "claim", migrations: CLAIM_SCHEMA };
  protected readonly parts = [this.claimTable];
  protected override readonly legacySchema = { steps: CLAIM_SCHEMA, adopts: { claim: 1 } };

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
