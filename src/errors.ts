/** The contract's error codes and the HTTP status each one maps to. */
export const errorStatus = {
  invalid_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  username_taken: 409,
  idempotency_conflict: 409,
  conflict: 409,
  payload_too_large: 413,
  insufficient_balance: 422,
  limit_exceeded: 422,
  invalid_payment_request: 400,
  invoice_expired: 422,
  already_paid: 409,
  no_route: 422,
  lightning_unavailable: 503,
  self_payment: 422,
  unknown_recipient: 404,
  rate_limited: 429,
  internal: 500,
  /** TOTP is on and this needs a code (a send above the threshold, a new credential, a setting); 401 at login (`LoginRefusal`). */
  totp_required: 403,
  /** The TOTP code is wrong, outside ±1 step, or already used; 401 at login (`LoginRefusal`). */
  invalid_totp: 403,
  /** The operator froze the account: it can read, not move money. */
  account_frozen: 403,
  /** This account has claimed this reward program already (once per account and program; docs/decisions/0021). */
  already_claimed: 409,
  /** The reward program's budget cannot pay another claim. */
  budget_spent: 422,
  /** The reward program's end date has passed. */
  program_ended: 410,
  /** Not a Bitcoin address the hub can pay, or one of another network (docs/decisions/0023). */
  invalid_address: 400,
} as const;

export type ErrorCode = keyof typeof errorStatus;

/**
 * The longest message an error answer carries (`{error: {code, message}}`, LndHub's and the LUDs'
 * errors, a Lightning payment's failure_reason). The hub's own words are far shorter; what could be
 * longer echoes the request (the unknown fields of a 64 KiB body) or a node's text, and is cut.
 */
export const ERROR_MESSAGE_MAX_LENGTH = 1024;

/** `message`, cut to ERROR_MESSAGE_MAX_LENGTH characters (never inside a surrogate pair) with "…" where it was cut. */
export function boundedMessage(message: string): string {
  if (message.length <= ERROR_MESSAGE_MAX_LENGTH) return message;
  let end = ERROR_MESSAGE_MAX_LENGTH - 1;
  const last = message.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${message.slice(0, end)}…`;
}

/** A failure the API reports to the caller as `{error:{code,message}}`. */
export class ApiError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
  get status(): number {
    return errorStatus[this.code];
  }
  toJSON() {
    return { error: { code: this.code, message: this.message } };
  }
}

/**
 * A refused login. TOTP's codes answer 401 there (no session exists yet, as for a wrong password)
 * and 403 everywhere else (the credential is good; the second factor is missing or wrong).
 */
export class LoginRefusal extends ApiError {
  override get status(): number {
    return this.code === "totp_required" || this.code === "invalid_totp" ? 401 : super.status;
  }
}

/** How an actor reports a refusal across RPC (exceptions lose their class there). */
export type Refusal = { ok: false; code: ErrorCode; message: string };
export const refuse = (code: ErrorCode, message: string): Refusal => ({ ok: false, code, message });
export const isRefusal = (x: unknown): x is Refusal =>
  typeof x === "object" && x !== null && (x as Refusal).ok === false && typeof (x as Refusal).code === "string";

/**
 * Refusals by a receiving actor that are final: retrying cannot change them, so the sender undoes
 * (the money goes back). Any other refusal, or no answer at all, is retried with backoff.
 */
const FINAL_REFUSAL_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>(["unknown_recipient", "not_found", "already_paid", "invoice_expired", "invalid_request"]);
export const isFinalRefusal = (code: ErrorCode): boolean => FINAL_REFUSAL_CODES.has(code);
