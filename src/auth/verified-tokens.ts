import type { Principal } from "./tokens";

/**
 * Access tokens already verified, by their exact text, until their `exp`. Verifying an Ed25519 JWT
 * is the costliest step of an authenticated request, and a client sends the same token for up to
 * 15 minutes. Only tokens that passed verification are stored, a hit is re-checked against the
 * clock, and the map is bounded (oldest first out).
 */
export class VerifiedTokens {
  private readonly byToken = new Map<string, Principal & { expiresAtMs: number }>();

  constructor(private readonly capacity: number) {}

  /** The principal of a token verified before and not yet expired at `nowMs`. */
  get(token: string, nowMs: number): Principal | undefined {
    const principal = this.byToken.get(token);
    if (!principal) return undefined;
    if (principal.expiresAtMs <= nowMs) {
      this.byToken.delete(token);
      return undefined;
    }
    return principal;
  }

  /** Remembers a verified token; credentials without an expiry (API keys) are not kept. */
  set(token: string, principal: Principal): void {
    if (principal.expiresAtMs === undefined) return;
    if (this.byToken.size >= this.capacity) this.byToken.delete(this.byToken.keys().next().value!);
    this.byToken.set(token, { ...principal, expiresAtMs: principal.expiresAtMs });
  }

  get size(): number {
    return this.byToken.size;
  }
}
