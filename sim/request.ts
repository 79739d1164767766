// How LND's REST gateway (grpc-gateway v2 with protojson) reads a request before LND sees it:
// the JSON body (Go's encoding/json first, then protojson against the request message), query
// parameters and `bytes` path segments. Its errors are the gateway's own (code 3, HTTP 400) and
// come back as a unary error body even on streaming routes: the call never started.

import { Code, GrpcError, type JsonObject } from "./wire";

/** An error of the gateway itself, raised before LND is called. */
export class GatewayError extends GrpcError {
  constructor(message: string) {
    super(Code.INVALID_ARGUMENT, message);
  }
}

/** Proto field types, as far as request parsing needs them. */
export type Kind = "int64" | "uint64" | "int32" | "uint32" | "double" | "bool" | "string" | "bytes" | "repeated" | "message" | "map";

/** A request message: proto field name → type. */
export type Schema = Readonly<Record<string, Kind>>;

// ---- JSON, as Go's encoding/json scanner reads it (its error texts), with token offsets ----

interface Member {
  key: string;
  keyAt: number;
  valueAt: number;
  value: unknown;
  /** the value's text as written (scalars), or "{" / "[" for composites. */
  token: string;
}

class JsonSyntaxError extends Error {}

/** Go's quoteChar: how encoding/json names the offending character. */
function quoteChar(c: string): string {
  if (c === "'") return `'\\''`;
  if (c === '"') return `'"'`;
  const code = c.codePointAt(0) ?? 0;
  if (code >= 0x20 && code !== 0x7f) return `'${c}'`;
  return JSON.stringify(c); // strconv.Quote-like for control characters
}

class Scanner {
  i = 0;
  constructor(readonly s: string) {}

  fail(context: string): never {
    if (this.i >= this.s.length) throw new JsonSyntaxError("unexpected EOF");
    throw new JsonSyntaxError(`invalid character ${quoteChar(this.s[this.i]!)} ${context}`);
  }

  ws(): void {
    while (this.i < this.s.length && " \t\r\n".includes(this.s[this.i]!)) this.i++;
  }

  /** One value; `top` members are recorded for the request object. */
  value(members?: Member[]): unknown {
    this.ws();
    const c = this.s[this.i];
    if (c === "{") return this.object(members);
    if (c === "[") return this.array();
    if (c === '"') return this.string("in string literal");
    if (c === "-" || (c !== undefined && c >= "0" && c <= "9")) return this.number();
    if (c === "t") return this.literal("true", true);
    if (c === "f") return this.literal("false", false);
    if (c === "n") return this.literal("null", null);
    return this.fail("looking for beginning of value");
  }

  private object(members?: Member[]): JsonObject {
    this.i++; // {
    const out: JsonObject = {};
    this.ws();
    if (this.s[this.i] === "}") {
      this.i++;
      return out;
    }
    for (;;) {
      this.ws();
      if (this.s[this.i] !== '"') this.fail("looking for beginning of object key string");
      const keyAt = this.i;
      const key = this.string("in string literal");
      this.ws();
      if (this.s[this.i] !== ":") this.fail("after object key");
      this.i++;
      this.ws();
      const valueAt = this.i;
      const value = this.value();
      const raw = this.s.slice(valueAt, this.i);
      members?.push({ key, keyAt, valueAt, value, token: raw.startsWith("{") ? "{" : raw.startsWith("[") ? "[" : raw });
      out[key] = value;
      this.ws();
      const next = this.s[this.i];
      if (next === ",") {
        this.i++;
        continue;
      }
      if (next === "}") {
        this.i++;
        return out;
      }
      this.fail("after object key:value pair");
    }
  }

  private array(): unknown[] {
    this.i++; // [
    const out: unknown[] = [];
    this.ws();
    if (this.s[this.i] === "]") {
      this.i++;
      return out;
    }
    for (;;) {
      out.push(this.value());
      this.ws();
      const next = this.s[this.i];
      if (next === ",") {
        this.i++;
        continue;
      }
      if (next === "]") {
        this.i++;
        return out;
      }
      this.fail("after array element");
    }
  }

  private string(context: string): string {
    const start = this.i;
    this.i++; // "
    for (;;) {
      const c = this.s[this.i];
      if (c === undefined) this.fail(context);
      if (c === '"') break;
      if (c === "\\") {
        this.i++;
        const e = this.s[this.i];
        if (e === "u") {
          for (let k = 1; k <= 4; k++) {
            this.i++;
            if (!/[0-9a-fA-F]/.test(this.s[this.i] ?? "")) this.fail("in \\u hexadecimal character escape");
          }
        } else if (e === undefined || !'"\\/bfnrt'.includes(e)) {
          this.fail("in string escape code");
        }
      } else if (c < " ") {
        this.fail(context);
      }
      this.i++;
    }
    this.i++;
    return JSON.parse(this.s.slice(start, this.i)) as string;
  }

  private number(): number {
    const start = this.i;
    const digits = () => {
      while (this.s[this.i] !== undefined && this.s[this.i]! >= "0" && this.s[this.i]! <= "9") this.i++;
    };
    if (this.s[this.i] === "-") {
      this.i++;
      if (!(this.s[this.i]! >= "0" && this.s[this.i]! <= "9")) this.fail("in numeric literal");
    }
    if (this.s[this.i] === "0") this.i++;
    else digits();
    if (this.s[this.i] === ".") {
      this.i++;
      if (!(this.s[this.i]! >= "0" && this.s[this.i]! <= "9")) this.fail("after decimal point in numeric literal");
      digits();
    }
    if (this.s[this.i] === "e" || this.s[this.i] === "E") {
      this.i++;
      if (this.s[this.i] === "+" || this.s[this.i] === "-") this.i++;
      if (!(this.s[this.i]! >= "0" && this.s[this.i]! <= "9")) this.fail("in exponent of numeric literal");
      digits();
    }
    return Number(this.s.slice(start, this.i));
  }

  private literal(word: string, value: unknown): unknown {
    for (let k = 0; k < word.length; k++, this.i++) {
      if (this.s[this.i] !== word[k]) this.fail(`in literal ${word} (expecting ${quoteChar(word[k]!)})`);
    }
    return value;
  }
}

/** A JSON request body's text; an empty body is an empty message. */
export interface JsonBody {
  text: string;
  value: JsonObject;
  members: Member[];
  /** where the message starts in `text` (json.Decoder skips leading space). */
  start: number;
}

/** json.Decoder.Decode into a RawMessage, then protojson's first look at the message. */
export function parseJsonBody(text: string): JsonBody {
  const scanner = new Scanner(text);
  scanner.ws();
  if (scanner.i >= text.length) return { text, value: {}, members: [], start: 0 }; // io.EOF: an empty message
  const start = scanner.i;
  const members: Member[] = [];
  let value: unknown;
  try {
    value = scanner.value(members); // only the first value: Decode ignores what follows
  } catch (e) {
    if (e instanceof JsonSyntaxError) throw new GatewayError(e.message);
    throw e;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    const token = text[start] === "[" ? "[" : text[start] === "{" ? "{" : text.slice(start, scanner.i);
    throw new GatewayError(`proto: syntax error (line 1:1): unexpected token ${token}`);
  }
  return { text, value: value as JsonObject, members, start };
}

export async function readJsonBody(request: Request): Promise<JsonBody> {
  return parseJsonBody(await request.text());
}

/** protojson's "(line L:C)" of an offset in the message. */
function position(body: JsonBody, offset: number): string {
  const before = body.text.slice(body.start, offset);
  const line = before.split("\n").length;
  const column = offset - body.start - (before.lastIndexOf("\n") + 1) + 1;
  return `(line ${line}:${column})`;
}

/** protojson's JSON name of a field: lowerCamelCase of the proto name. */
const jsonName = (protoName: string) => protoName.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

const INT_RANGES: Record<string, [bigint, bigint]> = {
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  uint32: [0n, 2n ** 32n - 1n],
};

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

/** Whether protojson takes `value` for a field of this kind. */
function acceptable(kind: Kind, value: unknown): boolean {
  if (value === null) return true; // null: the field stays unset
  switch (kind) {
    case "int64":
    case "uint64":
    case "int32":
    case "uint32": {
      let text: string;
      if (typeof value === "number") text = Number.isInteger(value) ? String(value) : "x";
      else if (typeof value === "string") text = value;
      else return false;
      if (!/^-?\d+$/.test(text)) return false;
      const n = BigInt(text);
      const [min, max] = INT_RANGES[kind]!;
      return n >= min && n <= max;
    }
    case "double":
      return typeof value === "number" || (typeof value === "string" && value.trim() !== "" && !Number.isNaN(Number(value)));
    case "bool":
      return typeof value === "boolean";
    case "string":
      return typeof value === "string";
    case "bytes":
      return typeof value === "string" && bodyBytesToHex(value) !== null;
    case "repeated":
      return Array.isArray(value);
    case "message":
    case "map":
      return typeof value === "object" && !Array.isArray(value);
  }
}

/**
 * One request message read as LND's REST proxy does (protojson without DiscardUnknown): proto
 * or JSON names; an unknown field, a repeated field or a value of the wrong type is an error,
 * found in the order the body is written.
 */
export class Fields {
  private readonly o: JsonObject = {};

  constructor(body: JsonBody, schema: Schema) {
    const byName = new Map<string, string>();
    for (const name of Object.keys(schema)) {
      byName.set(name, name);
      byName.set(jsonName(name), name);
    }
    const seen = new Set<string>();
    for (const m of body.members) {
      const name = byName.get(m.key);
      if (name === undefined) throw new GatewayError(`proto: ${position(body, m.keyAt)}: unknown field ${JSON.stringify(m.key)}`);
      if (seen.has(name)) throw new GatewayError(`proto: ${position(body, m.keyAt)}: duplicate field ${JSON.stringify(m.key)}`);
      seen.add(name);
      const kind = schema[name]!;
      if (!acceptable(kind, m.value)) {
        const type = kind === "repeated" ? "list" : kind === "message" || kind === "map" ? "object" : kind;
        throw new GatewayError(`proto: ${position(body, m.valueAt)}: invalid value for ${type} type: ${m.token}`);
      }
      this.o[name] = m.value;
    }
  }

  /** Any integer field (validated by type already); 0 when unset. */
  int(field: string): number {
    const v = this.o[field];
    return v === undefined || v === null ? 0 : Number(v);
  }

  str(field: string): string {
    const v = this.o[field];
    return typeof v === "string" ? v : "";
  }

  bool(field: string): boolean {
    return this.o[field] === true;
  }

  /** A `bytes` field as hex ("" when empty). */
  bytes(field: string): string {
    const v = this.o[field];
    return typeof v === "string" ? (bodyBytesToHex(v) ?? "") : "";
  }

  list(field: string): unknown[] {
    const v = this.o[field];
    return Array.isArray(v) ? v : [];
  }
  /** A `message` field as its JSON object ({} when unset). */
  object(field: string): JsonObject {
    const v = this.o[field];
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as JsonObject) : {};
  }
}

// ---- query parameters and path segments ----

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

/** Query parameters mapped onto request fields, as grpc-gateway does: `parsing field "x": …`. */
export class Query {
  constructor(private readonly params: URLSearchParams) {}

  private fail(field: string, message: string): never {
    throw new GatewayError(`parsing field ${JSON.stringify(field)}: ${message}`);
  }

  /** A uint64 field (every integer query parameter the simulator serves is one): strconv.ParseUint. */
  uint(field: string): number {
    const v = this.params.get(field);
    if (v === null || v === "") return 0;
    if (!/^\d+$/.test(v)) this.fail(field, `strconv.ParseUint: parsing ${JSON.stringify(v)}: invalid syntax`);
    if (BigInt(v) > 2n ** 64n - 1n) this.fail(field, `strconv.ParseUint: parsing ${JSON.stringify(v)}: value out of range`);
    return Number(v);
  }

  /** A signed integer field (int32/int64): strconv.ParseInt. */
  int(field: string): number {
    const v = this.params.get(field);
    if (v === null || v === "") return 0;
    if (!/^-?\d+$/.test(v)) this.fail(field, `strconv.ParseInt: parsing ${JSON.stringify(v)}: invalid syntax`);
    if (BigInt(v) > 2n ** 63n - 1n || BigInt(v) < -(2n ** 63n)) this.fail(field, `strconv.ParseInt: parsing ${JSON.stringify(v)}: value out of range`);
    return Number(v);
  }

  /** A string field as given ("" when absent). */
  raw(field: string): string {
    return this.params.get(field) ?? "";
  }

  /** A map field as grpc-gateway reads it from a query: `field[key]=value`, every value as given. */
  map(field: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [name, value] of this.params) {
      const m = /^([^[]+)\[(.+)\]$/.exec(name);
      if (m && m[1] === field) out[m[2]!] = value;
    }
    return out;
  }

  /** strconv.ParseBool. */
  bool(field: string): boolean {
    const v = this.params.get(field);
    if (v === null || v === "") return false;
    if (["1", "t", "T", "TRUE", "true", "True"].includes(v)) return true;
    if (["0", "f", "F", "FALSE", "false", "False"].includes(v)) return false;
    return this.fail(field, `strconv.ParseBool: parsing ${JSON.stringify(v)}: invalid syntax`);
  }

  /** A `bytes` field as hex ("" when absent). */
  bytes(field: string): string {
    const v = this.params.get(field);
    if (v === null || v === "") return "";
    try {
      return urlBytesToHex(v);
    } catch (e) {
      return this.fail(field, (e as Error).message);
    }
  }
}

/** A `bytes` path segment (e.g. /v2/invoices/subscribe/{r_hash}) as hex. */
export function pathBytes(segment: string, parameter: string): string {
  try {
    return urlBytesToHex(decodeURIComponent(segment));
  } catch (e) {
    throw new GatewayError(`type mismatch, parameter: ${parameter}, error: ${(e as Error).message}`);
  }
}
