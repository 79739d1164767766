// Two kinds of failure, because callers must treat them differently:
//
// - LndError: LND itself answered with a gRPC status. The call did not
//   succeed and LND told us why; the outcome is known.
// - LndUnreachableError: we have no usable answer from LND (network failure,
//   timeout, a proxy or tunnel answering instead of LND, a body we cannot
//   read). The request may or may not have taken effect; callers must treat
//   the outcome as unknown and reconcile later (e.g. track the payment).

/** gRPC status codes, as carried in grpc-gateway error bodies. */
export const GrpcCode = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

export class LndError extends Error {
  override readonly name = "LndError";
  /** gRPC status code (see GrpcCode). Plain Go errors in LND surface as 2 (UNKNOWN). */
  readonly code: number;
  /** HTTP status of the response. For errors inside an open stream this is the stream's 200. */
  readonly httpStatus: number;
  readonly details: unknown[];

  constructor(code: number, message: string, httpStatus: number, details: unknown[] = []) {
    super(message);
    this.code = code;
    this.httpStatus = httpStatus;
    this.details = details;
  }
}

export type UnreachableReason =
  /** fetch rejected or the body stream broke. */
  | "network"
  /** no complete answer within the allotted time. */
  | "timeout"
  /** an HTTP error that is not a grpc-gateway status (tunnel/proxy/Access page). */
  | "bad_gateway"
  /** a 2xx body that is not the JSON LND documents. */
  | "bad_response";

export class LndUnreachableError extends Error {
  override readonly name = "LndUnreachableError";
  readonly reason: UnreachableReason;
  readonly httpStatus: number | undefined;

  constructor(reason: UnreachableReason, message: string, options: { httpStatus?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.reason = reason;
    this.httpStatus = options.httpStatus;
  }
}

/** A grpc-gateway status object: `{code, message, details}`. */
export function asGrpcStatus(value: unknown): { code: number; message: string; details: unknown[] } | null {
  if (typeof value !== "object" || value === null) return null;
  const v = value as Record<string, unknown>;
  if (typeof v.code !== "number" || typeof v.message !== "string") return null;
  return { code: v.code, message: v.message, details: Array.isArray(v.details) ? v.details : [] };
}

/**
 * Maps a non-2xx response body to an error. Unary calls carry the status at
 * the top level; a stream that fails before its first message carries it
 * under "error". Anything else did not come from LND's gateway.
 */
export function errorFromHttpBody(httpStatus: number, bodyText: string): LndError | LndUnreachableError {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bodyText);
  } catch {
    parsed = undefined;
  }
  const status =
    asGrpcStatus(parsed) ??
    (typeof parsed === "object" && parsed !== null ? asGrpcStatus((parsed as Record<string, unknown>).error) : null);
  if (status) return new LndError(status.code, status.message, httpStatus, status.details);
  return new LndUnreachableError("bad_gateway", `HTTP ${httpStatus} not from LND: ${bodyText.slice(0, 200)}`, {
    httpStatus,
  });
}
