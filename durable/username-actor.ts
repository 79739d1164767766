import { Actor } from "./kit/actor";
import type { LegacySchema } from "./kit/migrations";
import type { Part } from "./kit/part";
import type { UserProfile, UsernameClaim, UsernamePort } from "./ports";
import { isEncryptionPublicKey } from "../src/encryption-key";
import { refuse, type Refusal } from "../src/errors";

/** The schema before the actor kit: frozen, its one step is the claim part's first. */
export const USERNAME_LEGACY_SCHEMA: LegacySchema = {
  steps: [
    `CREATE TABLE claim (
     id INTEGER PRIMARY KEY CHECK (id = 1),
     username TEXT NOT NULL, account_id TEXT NOT NULL, wallet_id TEXT NOT NULL, claimed_at TEXT NOT NULL);`,
  ],
  adopts: { claim: 1 },
};

/** The claim part's steps, append-only: the pre-kit table, then the owner's encryption key (chat). */
const CLAIM_MIGRATIONS = [...USERNAME_LEGACY_SCHEMA.steps, `ALTER TABLE claim ADD COLUMN encryption_public_key TEXT`];

/**
 * One per lower-cased username (`username:<name>`): owning the name is owning this actor's one
 * row, so uniqueness needs no global table. The row also holds what others look the owner up by
 * name for: the owner's public profile and encryption key.
 */
export class UsernameActor extends Actor implements UsernamePort {
  private readonly claimTable: Part = { name: "claim", migrations: CLAIM_MIGRATIONS };
  protected readonly parts = [this.claimTable];
  protected override readonly legacySchema = USERNAME_LEGACY_SCHEMA;

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

  /** The owner's public profile (its own spelling of the name), or null if the name is not claimed. */
  async profile(): Promise<UserProfile | null> {
    return this.sql<UserProfile>`SELECT username, wallet_id, encryption_public_key FROM claim`[0] ?? null;
  }

  /** Sets (or replaces) the owner's encryption public key; only the owning account may. */
  async setEncryptionKey(account_id: string, public_key: string): Promise<{ ok: true } | Refusal> {
    if (!isEncryptionPublicKey(public_key)) return refuse("invalid_request", "public_key: not an x-only secp256k1 public key");
    const owner = this.current();
    if (!owner) return refuse("not_found", "no such user");
    if (owner.account_id !== account_id) return refuse("forbidden", "only the owner may set this user's encryption key");
    this.sql`UPDATE claim SET encryption_public_key = ${public_key} WHERE id = 1`;
    return { ok: true };
  }

  private current(): UsernameClaim | null {
    return this.sql<UsernameClaim>`SELECT username, account_id, wallet_id FROM claim`[0] ?? null;
  }
}
