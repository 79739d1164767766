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

const STD = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL_SAFE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/**
 * Go's base64 decoding with padding required (StdEncoding / URLEncoding).
 * Returns the bytes as hex, or the input offset Go would report.
 */
function goDecode(text: string, alphabet: string): { hex: string } | { errorAt: number } {
  const padAt = text.indexOf("=");
  const body = padAt < 0 ? text : text.slice(0, padAt);
  for (let i = 0; i < body.length; i++) if (!alphabet.includes(body[i] as string)) return { errorAt: i };
  const pad = text.slice(body.length);
  if (/[^=]/.test(pad)) return { errorAt: padAt };
  if (body.length % 4 === 1 || pad !== "=".repeat((4 - (body.length % 4)) % 4)) {
    return { errorAt: Math.floor(body.length / 4) * 4 };
  }
  const bin = atob(body.replace(/-/g, "+").replace(/_/g, "/") + pad);
  let hex = "";
  for (let i = 0; i < bin.length; i++) hex += bin.charCodeAt(i).toString(16).padStart(2, "0");
  return { hex };
}

/**
 * A `bytes` value in a URL path or query, decoded as grpc-gateway's
 * runtime.Bytes does: standard base64, else URL-safe base64, padding required.
 * Throws the message Go's decoder gives.
 */
export function urlBytesToHex(text: string): string {
  const std = goDecode(text, STD);
  if ("hex" in std) return std.hex;
  const url = goDecode(text, URL_SAFE);
  if ("hex" in url) return url.hex;
  throw new Error(`illegal base64 data at input byte ${url.errorAt}`);
}

/** A `bytes` field of a JSON body: protojson accepts either alphabet, padded or not. */
export function bodyBytesToHex(text: string): string | null {
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(text)) return null;
  let body = text.replace(/=+$/, "");
  if (body.length % 4 === 1) return null;
  body = body.replace(/-/g, "+").replace(/_/g, "/");
  const bin = atob(body + "=".repeat((4 - (body.length % 4)) % 4));
  let hex = "";
  for (let i = 0; i < bin.length; i++) hex += bin.charCodeAt(i).toString(16).padStart(2, "0");
  return hex;
}

/** Go's time.Time.String() for a UTC instant given in unix seconds. */
export function goTimeString(unixSeconds: number): string {
  const iso = new Date(unixSeconds * 1000).toISOString(); // 2024-06-08T13:45:16.000Z
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} +0000 UTC`;
}

// ---- request bodies and queries (protojson / grpc-gateway parsing) ----

export type JsonObject = Record<string, unknown>;

/** A JSON request body's text; an empty body is an empty message. */
export interface JsonBody {
  text: string;
  value: JsonObject;
}

export async function readJsonBody(request: Request): Promise<JsonBody> {
  const text = await request.text();
  if (text.trim() === "") return { text, value: {} };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new GrpcError(Code.INVALID_ARGUMENT, "proto: syntax error (line 1:1): invalid value");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new GrpcError(Code.INVALID_ARGUMENT, "proto: syntax error (line 1:1): unexpected token");
  }
  return { text, value: parsed as JsonObject };
}

const invalid = (field: string, kind: string, value: unknown) =>
  new GrpcError(Code.INVALID_ARGUMENT, `proto: invalid value for ${kind} field ${field}: ${JSON.stringify(value)}`);

/** protojson's JSON name of a field: lowerCamelCase of the proto name. */
const jsonName = (protoName: string) => protoName.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/**
 * Reads the fields of one request message as LND's REST proxy does
 * (protojson without DiscardUnknown): proto or JSON names, and an unknown
 * field is an error.
 */
export class Fields {
  private readonly o: JsonObject = {};

  constructor(body: JsonBody, known: readonly string[]) {
    const byName = new Map<string, string>();
    for (const name of known) {
      byName.set(name, name);
      byName.set(jsonName(name), name);
    }
    for (const [key, value] of Object.entries(body.value)) {
      const name = byName.get(key);
      if (name === undefined) {
        const column = body.text.indexOf(JSON.stringify(key)) + 1;
        throw new GrpcError(Code.INVALID_ARGUMENT, `proto: (line 1:${column}): unknown field ${JSON.stringify(key)}`);
      }
      this.o[name] = value;
    }
  }

  /** int64/uint64 (string or number) and int32 (number or string) alike. */
  int(field: string): number {
    const v = this.o[field];
    if (v === undefined || v === null) return 0;
    if (typeof v === "number" && Number.isSafeInteger(v)) return v;
    if (typeof v === "string" && /^-?\d+$/.test(v) && Number.isSafeInteger(Number(v))) return Number(v);
    throw invalid(field, "integer", v);
  }

  str(field: string): string {
    const v = this.o[field];
    if (v === undefined || v === null) return "";
    if (typeof v !== "string") throw invalid(field, "string", v);
    return v;
  }

  bool(field: string): boolean {
    const v = this.o[field];
    if (v === undefined || v === null) return false;
    if (typeof v !== "boolean") throw invalid(field, "bool", v);
    return v;
  }

  /** A `bytes` field as hex ("" when empty). */
  bytes(field: string): string {
    const v = this.str(field);
    const hex = bodyBytesToHex(v);
    if (hex === null) throw invalid(field, "bytes", v);
    return hex;
  }

  list(field: string): unknown[] {
    const v = this.o[field];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) throw invalid(field, "repeated", v);
    return v;
  }
}

/** Query parameters mapped onto request fields, as grpc-gateway does. */
export class Query {
  constructor(private readonly params: URLSearchParams) {}

  int(field: string): number {
    const v = this.params.get(field);
    if (v === null || v === "") return 0;
    if (!/^-?\d+$/.test(v) || !Number.isSafeInteger(Number(v))) {
      throw new GrpcError(Code.INVALID_ARGUMENT, `strconv.ParseInt: parsing ${JSON.stringify(v)}: invalid syntax`);
    }
    return Number(v);
  }

  /** strconv.ParseBool. */
  bool(field: string): boolean {
    const v = this.params.get(field);
    if (v === null || v === "") return false;
    if (["1", "t", "T", "TRUE", "true", "True"].includes(v)) return true;
    if (["0", "f", "F", "FALSE", "false", "False"].includes(v)) return false;
    throw new GrpcError(Code.INVALID_ARGUMENT, `strconv.ParseBool: parsing ${JSON.stringify(v)}: invalid syntax`);
  }

  /** A `bytes` field as hex ("" when absent). */
  bytes(field: string): string {
    const v = this.params.get(field);
    if (v === null || v === "") return "";
    try {
      return urlBytesToHex(v);
    } catch (e) {
      throw new GrpcError(Code.INVALID_ARGUMENT, (e as Error).message);
    }
  }
}

/** A `bytes` path segment (e.g. /v2/invoices/subscribe/{r_hash}) as hex. */
export function pathBytes(segment: string, parameter: string): string {
  try {
    return urlBytesToHex(decodeURIComponent(segment));
  } catch (e) {
    throw new GrpcError(Code.INVALID_ARGUMENT, `type mismatch, parameter: ${parameter}, error: ${(e as Error).message}`);
  }
}

/** lntypes.MakeHash / MakePreimage: exactly 32 bytes. */
export function hash32(hex: string, what: "hash" | "preimage" = "hash"): string {
  if (hex.length !== 64) throw lndError(`invalid ${what} length of ${hex.length / 2}, want 32`);
  return hex;
}
