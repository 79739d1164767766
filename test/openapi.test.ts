import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../workers/app";
import worker from "../workers/index";
import { ERROR_MESSAGE_MAX_LENGTH } from "../src/errors";
import { NODE_INFO_TEXT_MAX } from "../src/lndhub";
import { COMMENT_ALLOWED } from "../src/lnurl";
import { api, createAccount, fund, newKey, testEnv, type TestAccount } from "./helpers";

/**
 * The OpenAPI document (issue 13, point 4) against the app's own route table (Hono's `app.routes`,
 * the table test/authz-matrix.test.ts walks): every route is documented with an operationId, every
 * input and every field of an answer is bounded (and a session's real answers keep to those bounds),
 * and every status the gateway answered to a battery of bad requests is one the
 * document lists for that operation. The probes stop before the handlers' work (a credential, a
 * scope, a rate limit, a body or parameter refused), so they change nothing.
 */

type Op = {
  operationId?: string;
  security?: unknown[];
  parameters?: { in: string; name: string; schema: unknown }[];
  requestBody?: { content: Record<string, { schema: unknown }> };
  responses: Record<string, { content?: Record<string, { schema: unknown }>; headers?: Record<string, { schema: unknown }> }>;
};
type Doc = { paths: Record<string, Record<string, Op>>; components: { schemas: Record<string, unknown> }; servers?: { url: string }[] };

let doc: Doc;
let subject: TestAccount;
let readKey: string;
let receiveKey: string;

/** The routes the app serves, once each; `ALL` rows are middleware and catch-alls (404s), not operations. */
function appOperations(): { method: string; path: string; docPath: string }[] {
  const seen = new Map<string, { method: string; path: string; docPath: string }>();
  for (const r of createApp().routes) {
    if (r.method === "ALL") continue;
    seen.set(`${r.method} ${r.path}`, { method: r.method, path: r.path, docPath: r.path.replace(/:(\w+)/g, "{$1}") });
  }
  return [...seen.values()];
}

const opOf = (method: string, docPath: string): Op | undefined => doc.paths[docPath]?.[method.toLowerCase()];

const resolve = (s: any): any => (s?.$ref ? doc.components.schemas[s.$ref.split("/").pop()] : s);

/**
 * Every string without maxLength and every number without maximum (and, with `minimum`, without a
 * minimum) in a schema, named from `where`. A value fixed by `enum` or `const` is bounded already.
 */
function unbounded(raw: unknown, where: string, { minimum = false } = {}): string[] {
  const problems: string[] = [];
  const seen = new Set<unknown>();
  const walk = (raw: unknown, where: string): void => {
    const s = resolve(raw);
    if (!s || typeof s !== "object" || seen.has(s)) return;
    seen.add(s);
    const types = ([] as string[]).concat(s.type ?? []);
    const fixed = s.enum !== undefined || s.const !== undefined;
    if (types.includes("string") && !fixed && s.maxLength === undefined && s.format !== "binary") problems.push(`${where}: a string without maxLength`);
    if ((types.includes("integer") || types.includes("number")) && !fixed) {
      if (s.maximum === undefined && s.exclusiveMaximum === undefined) problems.push(`${where}: a number without maximum`);
      if (minimum && s.minimum === undefined && s.exclusiveMinimum === undefined) problems.push(`${where}: a number without minimum`);
    }
    for (const [k, v] of Object.entries(s.properties ?? {})) walk(v, `${where}.${k}`);
    if (s.items) walk(s.items, `${where}[]`);
    if (s.additionalProperties && typeof s.additionalProperties === "object") walk(s.additionalProperties, `${where}{}`);
    if (s.propertyNames) walk(s.propertyNames, `${where} (keys)`);
    for (const k of ["anyOf", "oneOf", "allOf"]) for (const sub of s[k] ?? []) walk(sub, where);
  };
  walk(raw, where);
  return problems;
}

/** Where `value` breaks the bounds its schema gives (maxLength and pattern, format date-time, minimum and maximum), walking into objects, arrays and unions. */
function outOfBounds(value: unknown, raw: unknown, where: string): string[] {
  const s = resolve(raw);
  if (!s || typeof s !== "object") return [];
  const alternatives = [...(s.anyOf ?? []), ...(s.oneOf ?? [])];
  if (alternatives.length) return alternatives.some((a) => outOfBounds(value, a, where).length === 0) ? [] : [`${where}: ${JSON.stringify(value)?.slice(0, 80)} fits none of its alternatives`];
  const problems: string[] = [];
  if (typeof value === "string") {
    const length = [...value].length; // JSON Schema counts code points
    if (s.maxLength !== undefined && length > s.maxLength) problems.push(`${where}: ${length} characters, maxLength ${s.maxLength}`);
    if (s.pattern !== undefined && !new RegExp(s.pattern, "u").test(value)) problems.push(`${where}: ${JSON.stringify(value.slice(0, 80))} does not match ${s.pattern}`);
    if (s.format === "date-time" && !(new Date(value).toISOString() === value)) problems.push(`${where}: ${value} is not an ISO instant`);
  } else if (typeof value === "number") {
    if (s.maximum !== undefined && value > s.maximum) problems.push(`${where}: ${value} > maximum ${s.maximum}`);
    if (s.minimum !== undefined && value < s.minimum) problems.push(`${where}: ${value} < minimum ${s.minimum}`);
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => problems.push(...outOfBounds(v, s.items, `${where}[${i}]`)));
  } else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      const property = s.properties?.[k] ?? (typeof s.additionalProperties === "object" ? s.additionalProperties : undefined);
      if (property) problems.push(...outOfBounds(v, property, `${where}.${k}`));
    }
  }
  return problems;
}

/** The JSON schema the document gives an operation's answer of `status`. */
const answerSchema = (method: string, docPath: string, status: number): unknown => opOf(method, docPath)?.responses[String(status)]?.content?.["application/json"]?.schema;

beforeAll(async () => {
  doc = (await api("GET", "/openapi.json")).json;
  subject = await createAccount("openapi");
  const keyOf = async (scopes: string[]) => (await api("POST", "/v1/api-keys", { body: { name: `openapi ${scopes}`, scopes }, token: subject.access_token })).json.key as string;
  [readKey, receiveKey] = await Promise.all([keyOf(["read"]), keyOf(["receive"])]);
});

describe("the OpenAPI document", () => {
  it("documents every route of the app, each with a unique operationId and a summary", () => {
    const problems: string[] = [];
    const ids = new Map<string, string>();
    for (const { method, path, docPath } of appOperations()) {
      const op = opOf(method, docPath);
      if (!op) {
        problems.push(`${method} ${path}: served, not documented`);
        continue;
      }
      if (!op.operationId) problems.push(`${method} ${path}: no operationId`);
      else if (ids.has(op.operationId)) problems.push(`${method} ${path}: operationId ${op.operationId} is also ${ids.get(op.operationId)}'s`);
      else ids.set(op.operationId, `${method} ${path}`);
      if (!(op as { summary?: string }).summary) problems.push(`${method} ${path}: no summary`);
    }
    const served = new Set(appOperations().map((o) => `${o.method.toLowerCase()} ${o.docPath}`));
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const method of Object.keys(item)) if (!served.has(`${method} ${path}`)) problems.push(`${method.toUpperCase()} ${path}: documented, not served`);
    }
    expect(problems).toEqual([]);
  });

  it("names its server and says on every operation whether it is public (`security: []`) or which credential it takes", () => {
    expect(doc.servers).toEqual([{ url: "http://hub.test", description: "this hub" }]);
    const undeclared = Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).filter(([, op]) => !Array.isArray(op.security)).map(([m]) => `${m} ${path}`));
    expect(undeclared).toEqual([]);
  });

  it("declares no component nullable as a whole (a `.nullable()` that took the component's name)", () => {
    const nullable = Object.entries(doc.components.schemas).filter(([, s]) => ([] as unknown[]).concat((s as { type?: unknown }).type ?? []).includes("null"));
    expect(nullable.map(([name]) => name)).toEqual([]);
  });

  it("bounds every string (maxLength) and number (maximum) a request can carry", () => {
    const problems: string[] = [];
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        for (const p of op.parameters ?? []) problems.push(...unbounded(p.schema, `${method.toUpperCase()} ${path} ${p.in} ${p.name}`));
        for (const [type, c] of Object.entries(op.requestBody?.content ?? {})) problems.push(...unbounded(c.schema, `${method.toUpperCase()} ${path} body (${type})`));
      }
    }
    expect(problems).toEqual([]);
  });

  it("bounds every string (maxLength) and number (minimum and maximum) an answer can carry", () => {
    const problems: string[] = [];
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        for (const [status, response] of Object.entries(op.responses)) {
          const where = `${method.toUpperCase()} ${path} ${status}`;
          // JSON answers, field by field; a file (the CSV export) is as long as the history it holds.
          for (const [type, c] of Object.entries(response.content ?? {})) if (type.includes("json")) problems.push(...unbounded(c.schema, `${where} (${type})`, { minimum: true }));
          for (const [name, h] of Object.entries(response.headers ?? {})) problems.push(...unbounded(h.schema, `${where} header ${name}`, { minimum: true }));
        }
      }
    }
    expect(problems).toEqual([]);
    // The bounds are the hub's own constants where one exists.
    const schemas = doc.components.schemas as Record<string, any>;
    expect(schemas.Error.properties.error.properties.message.maxLength).toBe(ERROR_MESSAGE_MAX_LENGTH);
    expect(schemas.Invoice.properties.comment.maxLength).toBe(COMMENT_ALLOWED);
    const node = schemas.LndhubInfo.properties;
    expect({
      identity_pubkey: node.identity_pubkey.maxLength,
      alias: node.alias.maxLength,
      version: node.version.maxLength,
      block_hash: node.block_hash.maxLength,
      chain: node.chains.items.properties.chain.maxLength,
      network: node.chains.items.properties.network.maxLength,
      uri: node.uris.items.maxLength,
    }).toEqual(NODE_INFO_TEXT_MAX);
  });

  it("answers within the bounds it documents (a session's calls, each answer checked against its schema)", async () => {
    const a = await createAccount("bounds");
    const b = await createAccount("bounds");
    await fund(a, 5000);
    const problems: string[] = [];
    let answered = 0;
    const call = async (method: string, url: string, docPath: string, body?: object) => {
      const r = await api(method, url, { token: a.access_token, body, key: method === "POST" ? newKey() : undefined });
      const schema = answerSchema(method, docPath, r.status);
      if (!schema) problems.push(`${method} ${url}: answered ${r.status}, not documented`);
      else {
        answered++;
        problems.push(...outOfBounds(r.json, schema, `${method} ${url} ${r.status}`));
      }
      return r.json;
    };
    await call("POST", "/v1/auth/refresh", "/v1/auth/refresh", { refresh_token: a.refresh_token });
    await call("POST", "/v1/api-keys", "/v1/api-keys", { name: "bounds", scopes: ["read"] });
    await call("GET", "/v1/api-keys", "/v1/api-keys");
    await call("GET", "/v1/wallet", "/v1/wallet");
    await call("POST", "/v1/payments/intraledger", "/v1/payments/intraledger", { to: b.username, amount_sat: 7, memo: "bounds ✓" });
    await call("POST", "/v1/payments/intraledger", "/v1/payments/intraledger", { to: b.username, amount_sat: 7, tip: 1 }); // 400, the Error shape
    await call("GET", "/v1/wallet/transactions?limit=1", "/v1/wallet/transactions");
    await call("GET", "/v1/events", "/v1/events");
    const invoice = await call("POST", "/v1/invoices", "/v1/invoices", { amount_sat: 21, memo: "bounds", metadata: { order: "A-1" }, external_id: "bounds-1" });
    await call("GET", "/v1/invoices?limit=1", "/v1/invoices");
    await call("POST", "/v1/lightning/decode", "/v1/lightning/decode", { payment_request: invoice.payment_request });
    await call("GET", `/v1/users/${b.username}`, "/v1/users/{username}");
    await call("GET", "/v1/account/limits", "/v1/account/limits");
    await call("GET", "/v1/account/settings", "/v1/account/settings");
    await call("POST", "/v1/account/totp", "/v1/account/totp");
    await call("GET", "/v1/account/audit?limit=2", "/v1/account/audit");
    const conversation = await call("POST", "/v1/conversations", "/v1/conversations", { members: [b.username] });
    await call("POST", `/v1/conversations/${conversation.conversation_id}/messages`, "/v1/conversations/{id}/messages", { payment: { amount_sat: 3, text: "for lunch" } });
    await call("GET", `/v1/conversations/${conversation.conversation_id}/messages`, "/v1/conversations/{id}/messages");
    await call("GET", "/v1/conversations", "/v1/conversations");
    await call("GET", `/.well-known/lnurlp/${b.username}`, "/.well-known/lnurlp/{username}");
    expect(problems).toEqual([]);
    expect(answered).toBe(21);
  });
});

/** Every limiter's answer: over the limit. */
const alwaysOver = { limit: async () => ({ success: false }) };
const LIMITERS = ["FAILED_LOGINS_PER_IP", "ACCOUNT_CREATIONS_PER_IP", "LNURL_CALLBACKS_PER_IP", "REQUESTS_PER_TOKEN", "CHAT_MESSAGES_PER_ACCOUNT"];

interface Probe {
  name: string;
  headers?: Record<string, string>;
  body?: string;
  /** Every rate limit over (the bindings answer "over"). */
  limited?: true;
  /** Only for operations that document a JSON body (with a credential, so the body's validator is reached and refuses; nothing runs). */
  jsonBodyOnly?: true;
  withBody?: true;
}

const PROBES = (): Probe[] => [
  { name: "no credential" },
  { name: "a credential that is none", headers: { authorization: "Bearer not-a-credential" } },
  { name: "an API key with read only", headers: { authorization: `Bearer ${readKey}` }, limited: true },
  { name: "an API key with receive only", headers: { authorization: `Bearer ${receiveKey}` }, limited: true },
  { name: "a session over every rate limit", headers: { authorization: `Bearer ${subject.access_token}` }, limited: true },
  { name: "a body over 64 KiB", headers: { "content-type": "application/json" }, body: JSON.stringify({ memo: "x".repeat(70_000) }), withBody: true },
  { name: "malformed JSON", headers: { "content-type": "application/json" }, body: "{not json", withBody: true },
  { name: "JSON with a lone surrogate", headers: { "content-type": "application/json" }, body: '{"memo":"\\ud800"}', withBody: true },
  { name: "a body that is not JSON, with a session", headers: { authorization: `Bearer ${subject.access_token}`, "content-type": "text/plain" }, body: "hello", withBody: true, jsonBodyOnly: true },
];

/** A concrete path for a route: each parameter given a value of the wrong shape, so nothing is found or done. */
const concrete = (path: string) => path.replace(/:(\w+)/g, "zz");

describe("every status the gateway answers is documented on its operation", () => {
  for (const { method, path, docPath } of appOperations()) {
    it(`${method} ${path}`, async () => {
      const op = opOf(method, docPath);
      expect(op, "documented").toBeDefined();
      const documented = new Set(Object.keys(op!.responses));
      const problems: string[] = [];
      for (const probe of PROBES()) {
        if (probe.withBody && (method === "GET" || method === "HEAD")) continue;
        if (probe.jsonBodyOnly && !op!.requestBody?.content["application/json"]) continue;
        const env = probe.limited ? { ...testEnv, ...Object.fromEntries(LIMITERS.map((name) => [name, alwaysOver])) } : testEnv;
        const ctx = createExecutionContext();
        const res = await worker.fetch(new Request(`http://hub.test${concrete(path)}`, { method, headers: probe.headers, body: probe.body }), env, ctx);
        await waitOnExecutionContext(ctx);
        const text = await res.text();
        const ok = res.status < 300 || res.status === 101;
        if (!ok && !documented.has(String(res.status))) problems.push(`${probe.name}: answered ${res.status} (${text.slice(0, 120)}), documented ${[...documented].join(", ")}`);
        if (res.status === 429 && !res.headers.get("retry-after")) problems.push(`${probe.name}: a 429 without Retry-After`);
      }
      expect(problems).toEqual([]);
    });
  }
});
