// LND's REST wire conventions (grpc-gateway v2 with protojson, EmitUnpopulated,
// proto field names): int64/uint64 as decimal strings, `bytes` as padded
// standard base64, enums by name, errors as a gRPC status `{code, message,
// details}` with grpc-gateway's HTTP status for the code.

/** gRPC status codes used by the simulator. */
export const Code = {
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  UNIMPLEMENTED: 12,
} as const;

/** grpc-gateway's runtime.HTTPStatusFromCode. */
const HTTP_STATUS_BY_CODE: Record<number, number> = {
  0: 200, 1: 499, 2: 500, 3: 400, 4: 504, 5: 404, 6: 409, 7: 403,
  8: 429, 9: 400, 10: 409, 11: 400, 12: 501, 13: 500, 14: 503, 15: 500, 16: 401,
};

/** An error LND returns as a gRPC status. Plain Go errors in LND are code 2 (UNKNOWN). */
export class GrpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    /** overrides the mapped HTTP status (grpc-gateway routing errors). */
    readonly httpStatus: number = HTTP_STATUS_BY_CODE[code] ?? 500,
  ) {
    super(message);
  }

  status(): { code: number; message: string; details: unknown[] } {
    return { code: this.code, message: this.message, details: [] };
  }
}

/** An LND error with code UNKNOWN: how LND surfaces most of its own errors. */
export const lndError = (message: string) => new GrpcError(Code.UNKNOWN, message);

const JSON_HEADERS = { "Content-Type": "application/json" };

export function jsonResponse(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: JSON_HEADERS });
}

/** A unary call's error: the status object at the top level. */
export function errorResponse(error: GrpcError): Response {
  return jsonResponse(error.status(), error.httpStatus);
}

/** One stream message line: `{"result": …}` or `{"error": status}`, then the delimiter (grpc-gateway v2.16). */
export const streamLine = (message: unknown): string => JSON.stringify(message) + "\n";

/** A stream that fails before its first message: the mapped status, the error as its only line. */
export function streamErrorResponse(error: GrpcError): Response {
  return new Response(streamLine({ error: error.status() }), {
    status: error.httpStatus,
    headers: { "Content-Type": "application/json" },
  });
}

// ---- values ----

export const int64 = (n: number | bigint): string => String(n);

// One hex codec for the whole repository: the LND client's.
export { bytesToHex, hexToBytes } from "../src/lightning/bytes";
import { hexToBytes } from "../src/lightning/bytes";

/** `bytes` field: padded standard base64 ("" for empty or absent). */
export function b64(hex: string | null | undefined): string {
  if (!hex) return "";
  let bin = "";
  for (const b of hexToBytes(hex)) bin += String.fromCharCode(b);
  return btoa(bin);
}

/** Go's time.Time.String() for a UTC instant given in unix seconds. */
export function goTimeString(unixSeconds: number): string {
  const iso = new Date(unixSeconds * 1000).toISOString(); // 2024-06-08T13:45:16.000Z
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} +0000 UTC`;
}

export type JsonObject = Record<string, unknown>;

/** lntypes.MakeHash / MakePreimage: exactly 32 bytes. */
export function hash32(hex: string, what: "hash" | "preimage" = "hash"): string {
  if (hex.length !== 64) throw lndError(`invalid ${what} length of ${hex.length / 2}, want 32`);
  return hex;
}
