import { env, exports } from "cloudflare:workers";
import { expect } from "vitest";
import { walletActor, type Env } from "../workers/env";
import { checkBooks, checkConservation, type BooksReport, type WalletBooks } from "../src/books";
import { createLndClient } from "../src/lightning";
import { LIGHTNING_NODE_NAME } from "../durable/env";
import type { LightningNodeActor } from "../durable/lightning-node-actor";

export const testEnv = env as unknown as Env;

export interface Call {
  body?: unknown;
  raw?: string;
  token?: string;
  key?: string;
  headers?: Record<string, string>;
}

export interface Reply<T = any> {
  status: number;
  json: T;
  headers: Headers;
}

/** Calls the hub's own fetch handler, as a client over HTTP would. */
export async function api<T = any>(method: string, path: string, call: Call = {}): Promise<Reply<T>> {
  const headers: Record<string, string> = { ...call.headers };
  if (call.token) headers.authorization = `Bearer ${call.token}`;
  if (call.body !== undefined || call.raw !== undefined) headers["content-type"] ??= "application/json";
  if (call.key) headers["idempotency-key"] = call.key;
  const res = await (exports as any).default.fetch(`http://hub.test${path}`, {
    method,
    headers,
    body: call.raw ?? (call.body === undefined ? undefined : JSON.stringify(call.body)),
  });
  const text = await res.text();
  let json: any = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = { _text: text };
  }
  return { status: res.status, json, headers: res.headers };
}

let counter = 0;
export const uniqueName = (prefix = "u") => `${prefix}_${Date.now().toString(36)}${(counter++).toString(36)}${Math.random().toString(36).slice(2, 6)}`;
export const newKey = () => crypto.randomUUID();

export interface TestAccount {
  account_id: string;
  wallet_id: string;
  username: string;
  access_token: string;
  refresh_token: string;
}

export const PASSWORD = "correct horse battery staple";

export async function createAccount(prefix = "u"): Promise<TestAccount> {
  const username = uniqueName(prefix);
  const r = await api("POST", "/v1/accounts", { body: { username, password: PASSWORD } });
  expect(r.status, JSON.stringify(r.json)).toBe(201);
  return r.json;
}

export async function fund(a: TestAccount, sat: number): Promise<void> {
  const r = await api("POST", "/dev/faucet", { body: { amount_sat: sat }, token: a.access_token, key: newKey() });
  expect(r.status, JSON.stringify(r.json)).toBe(200);
}

export async function balanceOf(a: TestAccount): Promise<number> {
  const r = await api("GET", "/v1/wallet", { token: a.access_token });
  expect(r.status).toBe(200);
  return r.json.balance_msat;
}

export const walletStub = (walletId: string) => walletActor(testEnv, walletId);

/** A wallet's books report (figures and the invariants they break). */
export async function auditOf(walletId: string): Promise<BooksReport> {
  return walletStub(walletId).books();
}

/** What a wallet has stored, without what its running instance holds in memory (for before/after comparisons). */
export function storedBooks(a: BooksReport): Omit<WalletBooks, "memory_balance_msat"> {
  const { memory_balance_msat: _memory, problems: _problems, ...stored } = a;
  return stored;
}

/** The books of one wallet agree with themselves: ledger, balance cache, history and event log (src/books.ts). */
export function expectConsistentBooks(a: WalletBooks): void {
  expect(checkBooks(a)).toEqual([]);
}

/**
 * Conservation over a set of wallets (all the wallets a test touched):
 * Σ balances + Σ holds + Σ in-flight = faucet + rewards + received − sent − fees (src/books.ts).
 */
export function expectConservation(audits: WalletBooks[]): void {
  expect(checkConservation(audits)).toEqual([]);
}

export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** An open event stream: every frame it has received so far, parsed. */
export interface Stream {
  ws: WebSocket;
  frames: any[];
  events: () => any[];
  closed: Promise<void>;
}

export async function openStream(path: string, headers: Record<string, string> = {}): Promise<Stream> {
  const res = await (exports as any).default.fetch(`http://hub.test${path}`, { headers: { Upgrade: "websocket", ...headers } });
  if (res.status !== 101) throw new Error(`stream not opened: ${res.status} ${await res.text()}`);
  const ws = res.webSocket as WebSocket;
  ws.accept();
  const frames: any[] = [];
  ws.addEventListener("message", (m) => {
    frames.push(typeof m.data === "string" && m.data.startsWith("{") ? JSON.parse(m.data) : m.data);
  });
  const closed = new Promise<void>((resolve) => ws.addEventListener("close", () => resolve()));
  return { ws, frames, events: () => frames.filter((f) => typeof f === "object" && f && "seq" in f), closed };
}

export async function pay(from: TestAccount, to: string, sat: number, key = newKey()) {
  return api("POST", "/v1/payments/intraledger", { body: { to, amount_sat: sat }, token: from.access_token, key });
}

/** The LND simulator's own routes (`/sim/*`, `/dev/*`): a POST with a JSON body, or a GET; the answer's status and JSON (null if none). */
export async function simRequest(path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const r = await testEnv.LND_SIM!.fetch(`http://sim${path}`, body === undefined ? {} : { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: r.status, json: await r.json().catch(() => null) };
}

/** An LND REST client talking to the simulator, as the hub's own client does. */
export const simLnd = createLndClient({ baseUrl: "http://lnd", fetch: (input, init) => testEnv.LND_SIM!.fetch(input, init) });

/** The hub's one LightningNodeActor (for RPC, and typed for runInDurableObject). */
export const lightningNode = () => testEnv.LIGHTNING.get(testEnv.LIGHTNING.idFromName(LIGHTNING_NODE_NAME));
export const lightningNodeActor = () => lightningNode() as unknown as DurableObjectStub<LightningNodeActor>;
