import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../workers/app";
import worker from "../workers/index";
import { api, createAccount, testEnv, type TestAccount } from "./helpers";

/**
 * The OpenAPI document (issue 13, point 4) against the app's own route table (Hono's `app.routes`,
 * the table test/authz-matrix.test.ts walks): every route is documented with an operationId, every
 * input is bounded, and every status the gateway answered to a battery of bad requests is one the
 * document lists for that operation. The probes stop before the handlers' work (a credential, a
 * scope, a rate limit, a body or parameter refused), so they change nothing.
 */

type Op = { operationId?: string; security?: unknown[]; parameters?: { in: string; name: string; schema: unknown }[]; requestBody?: { content: Record<string, { schema: unknown }> }; responses: Record<string, unknown> };
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
    const resolve = (s: any): any => (s?.$ref ? doc.components.schemas[s.$ref.split("/").pop()] : s);
    const walk = (raw: unknown, where: string, seen = new Set<unknown>()): void => {
      const s = resolve(raw);
      if (!s || typeof s !== "object" || seen.has(s)) return;
      seen.add(s);
      const types = ([] as string[]).concat(s.type ?? []);
      const fixed = s.enum !== undefined || s.const !== undefined;
      if (types.includes("string") && !fixed && s.maxLength === undefined && s.format !== "binary") problems.push(`${where}: a string without maxLength`);
      if ((types.includes("integer") || types.includes("number")) && !fixed && s.maximum === undefined && s.exclusiveMaximum === undefined) problems.push(`${where}: a number without maximum`);
      for (const [k, v] of Object.entries(s.properties ?? {})) walk(v, `${where}.${k}`, seen);
      if (s.items) walk(s.items, `${where}[]`, seen);
      if (s.additionalProperties && typeof s.additionalProperties === "object") walk(s.additionalProperties, `${where}{}`, seen);
      if (s.propertyNames) walk(s.propertyNames, `${where} (keys)`, seen);
      for (const k of ["anyOf", "oneOf", "allOf"]) for (const sub of s[k] ?? []) walk(sub, where, seen);
    };
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        for (const p of op.parameters ?? []) walk(p.schema, `${method.toUpperCase()} ${path} ${p.in} ${p.name}`);
        for (const [type, c] of Object.entries(op.requestBody?.content ?? {})) walk(c.schema, `${method.toUpperCase()} ${path} body (${type})`);
      }
    }
    expect(problems).toEqual([]);
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
