import { runInDurableObject } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { beforeAll, describe, expect, it } from "vitest";
import { metricsShard } from "../durable/env";
import type { MetricsActor } from "../durable/metrics-actor";
import { FLUSH_INTERVAL_MS } from "../durable/metrics/isolate";
import { LATENCY_BOUNDS_S, M, METRICS_SHARDS, W, minuteOf } from "../src/metrics/catalog";
import { EXPOSITION_CONTENT_TYPE, bucketIndex, escapeHelp, escapeLabelValue, formatValue, renderExposition, type Family } from "../src/metrics/exposition";
import { buildFamilies, channelFigures, channelUtilization, emptyReading, mergeReadings, recentSpanSeconds } from "../src/metrics/families";
import { addPoints, emptySketch, estimateDistinct, hllPoint, mergeSketch } from "../src/metrics/hll";
import { paymentFactOf } from "../src/metrics/payments";
import { MetricsRecorder } from "../src/metrics/recorder";
import { api, createAccount, fund, newKey, pay, testEnv, type TestAccount } from "./helpers";
import { parsePrometheusText, valueOf, type ParsedFamily } from "./prometheus-text";

/**
 * GET /metrics (issue 14, point 3; docs/decisions/0022, docs/operations.md): the operator's key only,
 * the Prometheus text format read back by a strict reader of the format (test/prometheus-text.ts) and
 * by the `parse-prometheus-text-format` package, and counts that say exactly what was done.
 */

const ADMIN = (testEnv as unknown as { ADMIN_API_KEY: string }).ADMIN_API_KEY;

async function scrape(token = ADMIN): Promise<{ status: number; text: string; contentType: string | null }> {
  const res = await (exports as any).default.fetch("http://hub.test/metrics", { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, text: await res.text(), contentType: res.headers.get("content-type") };
}

/** A scrape, read by both parsers (each throws on what it cannot read). */
async function metrics(): Promise<Map<string, ParsedFamily>> {
  const r = await scrape();
  expect(r.status, r.text.slice(0, 300)).toBe(200);
  expect(r.contentType).toBe("text/plain; version=0.0.4; charset=utf-8");
  const families = parsePrometheusText(r.text);
  const theirs = parsePrometheusTextFormat(r.text) as { name: string; type: string }[];
  expect(theirs.map((f) => `${f.name} ${f.type}`)).toEqual([...families.values()].map((f) => `${f.name} ${f.type.toUpperCase()}`));
  return families;
}

const requests = (f: Map<string, ParsedFamily>, method: string, route: string, status: number) => valueOf(f, M.httpRequests, { method, route, status: String(status) }) ?? 0;
const counter = (f: Map<string, ParsedFamily>, name: string, labels: Record<string, string>) => valueOf(f, name, labels) ?? 0;
const gauge = (f: Map<string, ParsedFamily>, name: string, labels: Record<string, string> = {}) => valueOf(f, name, labels);

// ── The pure parts ───────────────────────────────────────────────────────────

describe("the exposition format (src/metrics/exposition.ts)", () => {
  it("escapes label values and help text as the format says", () => {
    expect(escapeLabelValue('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd');
    expect(escapeLabelValue("/v1/invoices/{payment_hash}")).toBe("/v1/invoices/{payment_hash}");
    expect(escapeHelp('back\\slash "quoted"\nnext')).toBe('back\\\\slash "quoted"\\nnext');
    expect([1, 0.25, Infinity, -Infinity, NaN, 1e21].map(formatValue)).toEqual(["1", "0.25", "+Inf", "-Inf", "NaN", "1e+21"]);
  });

  it("renders HELP and TYPE once per family, cumulative buckets ending at +Inf, _sum and _count; both parsers read it back", () => {
    const families: Family[] = [
      { name: "t_total", type: "counter", help: 'with "quotes", a \\ and\na line feed', samples: [{ labels: { path: 'a"b\\c\nd' }, value: 3 }, { labels: { path: "plain" }, value: 0 }] },
      { name: "t_seconds", type: "histogram", help: "h", bounds: [0.1, 1], samples: [{ labels: { route: "/x" }, buckets: [2, 0, 1], sum: 3.5 }] },
      { name: "t_empty", type: "gauge", help: "no samples", samples: [] },
      { name: "t_gauge", type: "gauge", help: "g", samples: [{ labels: {}, value: 0.5 }] },
    ];
    const text = renderExposition(families);
    expect(text).toContain('# HELP t_total with "quotes", a \\\\ and\\na line feed\n');
    expect(text).toContain('t_total{path="a\\"b\\\\c\\nd"} 3\n');
    expect(text).toContain(['t_seconds_bucket{route="/x",le="0.1"} 2', 't_seconds_bucket{route="/x",le="1"} 2', 't_seconds_bucket{route="/x",le="+Inf"} 3', 't_seconds_sum{route="/x"} 3.5', 't_seconds_count{route="/x"} 3'].join("\n"));
    expect(text.endsWith("\n")).toBe(true);
    const parsed = parsePrometheusText(text);
    expect(parsed.get("t_total")!.help).toBe('with "quotes", a \\ and\na line feed');
    expect(valueOf(parsed, "t_total", { path: 'a"b\\c\nd' })).toBe(3);
    expect(valueOf(parsed, "t_seconds_count", { route: "/x" }, "t_seconds")).toBe(3);
    expect(valueOf(parsed, "t_gauge")).toBe(0.5);
    const theirs = parsePrometheusTextFormat(text) as any[];
    expect(theirs.map((f) => [f.name, f.type])).toEqual([
      ["t_total", "COUNTER"],
      ["t_seconds", "HISTOGRAM"],
      ["t_empty", "GAUGE"],
      ["t_gauge", "GAUGE"],
    ]);
    expect(theirs[0].metrics).toContainEqual({ labels: { path: 'a"b\\c\nd' }, value: "3" });
  });

  it("refuses what the format cannot say", () => {
    expect(() => renderExposition([{ name: "bad-name", type: "gauge", help: "", samples: [] }])).toThrow();
    expect(() => renderExposition([{ name: "g", type: "gauge", help: "", samples: [{ labels: { "bad-label": "x" }, value: 1 }] }])).toThrow();
    expect(() => renderExposition([{ name: "h", type: "histogram", help: "", bounds: [1], samples: [{ labels: { le: "1" }, buckets: [0, 0], sum: 0 }] }])).toThrow();
    expect(() => renderExposition([{ name: "h", type: "histogram", help: "", bounds: [2, 1], samples: [] }])).toThrow();
    expect(() => renderExposition([{ name: "g", type: "gauge", help: "", samples: [] }, { name: "g", type: "gauge", help: "", samples: [] }])).toThrow();
  });

  it("puts an observation in the first bucket whose bound it does not exceed", () => {
    const bounds = [0.1, 1, 10];
    expect([0, 0.1, 0.10001, 1, 9.9, 10, 10.1, Infinity].map((v) => bucketIndex(bounds, v))).toEqual([0, 0, 1, 1, 2, 2, 3, 3]);
  });

  it("the strict reader refuses broken expositions", () => {
    for (const bad of [
      "x 1", // no final line feed
      "x{a=\"1\"} one\n",
      'x{a="1} 1\n',
      "x{a=\"\\t\"} 1\n",
      "# TYPE x counter\n# TYPE x gauge\nx 1\n",
      "x 1\ny 1\nx 2\n",
      'x{a="1"} 1\nx{a="1"} 2\n',
      '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n',
      '# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n',
      '# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 1\n',
    ]) {
      expect(() => parsePrometheusText(bad), bad).toThrow();
    }
  });
});

describe("HyperLogLog (src/metrics/hll.ts)", () => {
  const sketchOf = (ids: string[]) => {
    const s = emptySketch();
    for (const id of ids) {
      const { index, rank } = hllPoint(id);
      addPoints(s, [index, rank]);
    }
    return s;
  };
  const ids = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `acc_${(i + from).toString(16).padStart(32, "0")}`);

  it("counts small sets exactly enough and large ones within a few per cent; a repeat changes nothing", () => {
    expect(estimateDistinct(emptySketch())).toBe(0);
    expect(estimateDistinct(sketchOf(ids(3)))).toBe(3);
    expect(estimateDistinct(sketchOf([...ids(3), ...ids(3)]))).toBe(3);
    for (const n of [1_000, 20_000, 100_000]) {
      const estimate = estimateDistinct(sketchOf(ids(n)));
      expect(Math.abs(estimate - n) / n, `${n}: ${estimate}`).toBeLessThan(0.05);
    }
  });

  it("merging sketches counts the union", () => {
    const a = sketchOf(ids(10_000));
    const b = sketchOf(ids(10_000, 5_000));
    const union = estimateDistinct(mergeSketch(Uint8Array.from(a), b));
    expect(Math.abs(union - 15_000) / 15_000).toBeLessThan(0.05);
  });
});

describe("the recorder and the shards' sums (src/metrics/recorder.ts, families.ts)", () => {
  it("takes everything counted and starts again; a delta put back is counted again", () => {
    const r = new MetricsRecorder();
    const t = Date.UTC(2026, 0, 1, 12, 0, 30);
    r.request("GET", "/v1/wallet", 200, 0.003, t);
    r.request("GET", "/v1/wallet", 200, 0.02, t);
    r.request("POST", "/v1/payments/intraledger", 422, 0.004, t);
    r.count(M.payments, { kind: "intraledger", status: "succeeded" }, 2);
    r.active("acc_1", t);
    r.active("acc_1", t);
    const delta = r.take()!;
    expect(r.take()).toBeNull();
    const wallet = delta.histograms.find((h) => JSON.parse(h.labels).route === "/v1/wallet")!;
    expect(JSON.parse(wallet.labels)).toEqual({ method: "GET", route: "/v1/wallet", status: "200" });
    expect(wallet.buckets.reduce((a, b) => a + b, 0)).toBe(2);
    expect(wallet.buckets[bucketIndex(LATENCY_BOUNDS_S, 0.003)]).toBe(1);
    expect(wallet.sum).toBeCloseTo(0.023);
    expect(delta.windows).toContainEqual({ name: W.requests, minute: minuteOf(t), value: 3 });
    expect(delta.sketches).toHaveLength(1);
    expect(delta.sketches[0]!.points).toHaveLength(2);
    r.restore(delta, t);
    r.request("GET", "/v1/wallet", 200, 0.003, t);
    const again = r.take()!;
    expect(again.histograms.find((h) => JSON.parse(h.labels).route === "/v1/wallet")!.buckets.reduce((a, b) => a + b, 0)).toBe(3);
    expect(again.counters).toEqual([{ name: M.payments, labels: JSON.stringify({ kind: "intraledger", status: "succeeded" }), value: 2 }]);
    // Minutes older than the shards keep are not put back.
    r.restore(again, t + 3 * 24 * 3_600_000);
    expect(r.take()!.windows).toEqual([]);
  });

  it("sums readings by series, span and register, and derives the seed's figures", () => {
    const now = Date.UTC(2026, 0, 1, 12, 0, 30);
    const a = new MetricsRecorder();
    const b = new MetricsRecorder();
    a.request("GET", "/x", 200, 0.002, now);
    b.request("GET", "/x", 200, 0.2, now);
    b.request("GET", "/x", 500, 1, now);
    const readingOf = (r: MetricsRecorder) => {
      const d = r.take()!;
      return { ...emptyReading(), counters: d.counters, histograms: d.histograms, recent: { [W.requests]: d.windows.filter((w) => w.name === W.requests).reduce((s, w) => s + w.value, 0) } };
    };
    const merged = mergeReadings([readingOf(a), readingOf(b), { ...emptyReading(), recent: { [W.requestSeconds]: 1.202, [W.paymentsSucceeded]: 9 }, day: { [W.volumeMsat]: 5_000, [W.lndProbes]: 4, [W.lndProbesUp]: 3 } }]);
    const families = parsePrometheusText(renderExposition(buildFamilies(merged, { up: true, seconds: 0.01, channels: channelFigures([{ active: true, capacity: 1000, local_balance: 600, remote_balance: 300 }]) }, { nowMs: now })));
    expect(valueOf(families, M.httpRequests, { method: "GET", route: "/x", status: "200" })).toBe(2);
    expect(valueOf(families, `${M.httpDuration}_count`, { method: "GET", route: "/x", status: "200" }, M.httpDuration)).toBe(2);
    expect(valueOf(families, M.averageLatency)).toBeCloseTo(1.202 / 3);
    expect(valueOf(families, M.transactionsPerSecond)).toBeCloseTo(9 / recentSpanSeconds(now));
    expect(recentSpanSeconds(now)).toBe(4 * 60 + 30);
    expect(valueOf(families, M.dailyVolume)).toBe(5_000);
    expect(valueOf(families, M.nodeUptime)).toBe(0.75);
    expect(valueOf(families, M.channelUtilization)).toBeCloseTo(1 / 3);
    // Every kind of payment is there from the start, at zero.
    expect(valueOf(families, M.payments, { kind: "lightning_send", status: "failed" })).toBe(0);
    expect(valueOf(families, M.payments, { kind: "lightning_receive", status: "failed" })).toBeUndefined();
  });

  it("utilisation is the peers' share of the channels' balance; none without channels", () => {
    expect(channelUtilization(channelFigures([]))).toBeNull();
    expect(channelUtilization(channelFigures([{ active: true, capacity: 10, local_balance: 10, remote_balance: 0 }]))).toBe(0);
    expect(channelUtilization(channelFigures([{ active: true, capacity: 10, local_balance: 0, remote_balance: 10 }]))).toBe(1);
    // Inactive channels count in the balances, not in the utilisation (as the liquidity policy computes it).
    const mixed = channelFigures([
      { active: true, capacity: 10, local_balance: 6, remote_balance: 2 },
      { active: false, capacity: 10, local_balance: 0, remote_balance: 10 },
    ]);
    expect(mixed).toMatchObject({ active: 1, inactive: 1, local_sat: 6, remote_sat: 12 });
    expect(channelUtilization(mixed)).toBe(0.25);
    expect(channelUtilization(channelFigures([{ active: false, capacity: 10, local_balance: 5, remote_balance: 5 }]))).toBeNull();
  });

  it("a wallet event says which payment started or ended, from the payer's side", () => {
    const tx = (amount_msat: number, counterparty: unknown = null) => ({ transaction: { amount_msat, counterparty } });
    expect(paymentFactOf("transfer.sent", tx(5))).toEqual({ kind: "intraledger", started: true });
    expect(paymentFactOf("transfer.delivered", tx(5))).toEqual({ kind: "intraledger", status: "succeeded", amount_msat: 5 });
    expect(paymentFactOf("transfer.failed", tx(5))).toEqual({ kind: "intraledger", status: "failed", amount_msat: 5 });
    expect(paymentFactOf("transfer.received", tx(5))).toBeNull();
    expect(paymentFactOf("payment.pending", { amount_msat: 7 })).toEqual({ kind: "lightning_send", started: true });
    expect(paymentFactOf("payment.succeeded", { amount_msat: 7 })).toEqual({ kind: "lightning_send", status: "succeeded", amount_msat: 7 });
    expect(paymentFactOf("payment.failed", { amount_msat: 7 })).toEqual({ kind: "lightning_send", status: "failed", amount_msat: 7 });
    expect(paymentFactOf("invoice.paid", tx(9))).toEqual({ kind: "lightning_receive", status: "succeeded", amount_msat: 9 });
    expect(paymentFactOf("invoice.paid", tx(9, { wallet_id: "w", username: "u" }))).toBeNull(); // the payer's lightning_send
    expect(paymentFactOf("reward.credited", { ...tx(4), program_id: "rwp_1", claim_id: "rwc_1" })).toEqual({ kind: "reward", status: "succeeded", amount_msat: 4 });
    expect(paymentFactOf("onchain.withdrawal.pending", { amount_msat: 3 })).toEqual({ kind: "onchain_send", started: true });
    expect(paymentFactOf("onchain.withdrawal.succeeded", { amount_msat: 3 })).toEqual({ kind: "onchain_send", status: "succeeded", amount_msat: 3 });
    expect(paymentFactOf("onchain.withdrawal.failed", { amount_msat: 3 })).toEqual({ kind: "onchain_send", status: "failed", amount_msat: 3 });
    expect(paymentFactOf("onchain.received", { ...tx(8), txid: "t", vout: 0 })).toEqual({ kind: "onchain_receive", status: "succeeded", amount_msat: 8 });
    expect(paymentFactOf("onchain.pending", { ...tx(8), txid: "t", vout: 0 })).toBeNull();
    expect(paymentFactOf("onchain.dropped", { ...tx(8), txid: "t", vout: 0 })).toBeNull();
    expect(paymentFactOf("faucet.credited", tx(9))).toBeNull();
  });
});

// ── GET /metrics ───────────────────────────────────────────────────────────

describe("GET /metrics", () => {
  let alice: TestAccount;
  let bob: TestAccount;

  beforeAll(async () => {
    [alice, bob] = await Promise.all([createAccount("metrics_a"), createAccount("metrics_b")]);
    await fund(alice, 100_000);
  });

  it("takes the admin key only: none, garbage, an account's token or API key, the key's prefix → 401", async () => {
    const none = await api("GET", "/metrics");
    expect(none.status).toBe(401);
    expect(none.json.error.code).toBe("unauthorized");
    const key = await api("POST", "/v1/api-keys", { body: { name: "metrics", scopes: ["read", "receive", "send"] }, token: alice.access_token });
    for (const token of ["garbage", alice.access_token, key.json.key, ADMIN.slice(0, -1), `${ADMIN}x`]) {
      const r = await scrape(token);
      expect(r.status, token).toBe(401);
      expect(r.text).not.toContain("flash_");
    }
    const ok = await scrape();
    expect(ok.status).toBe(200);
    expect(ok.contentType).toBe(EXPOSITION_CONTENT_TYPE);
  });

  it("counts requests by route pattern and status, exactly, with histograms whose _count is the request count", async () => {
    const before = await metrics();
    const N = 7;
    for (let i = 0; i < N; i++) expect((await api("GET", "/v1/wallet", { token: alice.access_token })).status).toBe(200);
    expect((await api("GET", "/v1/wallet")).status).toBe(401);
    const hash = "ab".repeat(32);
    expect((await api("GET", `/v1/invoices/${hash}`, { token: alice.access_token })).status).toBe(404);
    expect((await api("GET", `/v1/no/such/${newKey()}`)).status).toBe(404);
    const after = await metrics();

    expect(requests(after, "GET", "/v1/wallet", 200) - requests(before, "GET", "/v1/wallet", 200)).toBe(N);
    expect(requests(after, "GET", "/v1/wallet", 401) - requests(before, "GET", "/v1/wallet", 401)).toBe(1);
    // The route's pattern, never the raw path (bounded label values): the hash is in no label.
    expect(requests(after, "GET", "/v1/invoices/{payment_hash}", 404) - requests(before, "GET", "/v1/invoices/{payment_hash}", 404)).toBe(1);
    expect(requests(after, "GET", "unmatched", 404) - requests(before, "GET", "unmatched", 404)).toBe(1);
    const scrape200 = requests(after, "GET", "/metrics", 200) - requests(before, "GET", "/metrics", 200);
    expect(scrape200).toBe(1); // the scrape before this one (a scrape is counted once it has answered)
    const routes = after.get(M.httpRequests)!.samples.map((s) => s.labels.route!);
    expect(routes.some((r) => r.includes(hash) || r.includes("/v1/no/"))).toBe(false);

    // The histogram of each series counts what its counter counts; buckets are cumulative up to +Inf (checked by the reader).
    const histogram = after.get(M.httpDuration)!;
    for (const s of after.get(M.httpRequests)!.samples) {
      const count = histogram.samples.find((h) => h.name === `${M.httpDuration}_count` && JSON.stringify(h.labels) === JSON.stringify(s.labels));
      expect(count?.value, JSON.stringify(s.labels)).toBe(s.value);
    }
    const inf = (f: Map<string, ParsedFamily>) => valueOf(f, `${M.httpDuration}_bucket`, { method: "GET", route: "/v1/wallet", status: "200", le: "+Inf" }, M.httpDuration) ?? 0;
    expect(inf(after) - inf(before)).toBe(N);
    const buckets = histogram.samples.filter((h) => h.name === `${M.httpDuration}_bucket` && h.labels.route === "/v1/wallet" && h.labels.status === "200");
    expect(buckets.map((b) => b.labels.le)).toEqual([...LATENCY_BOUNDS_S.map(String), "+Inf"]);
    // Names as Prometheus would have them.
    for (const f of after.values()) {
      expect(f.name.startsWith("flash_"), f.name).toBe(true);
      if (f.type === "counter") expect(f.name.endsWith("_total"), f.name).toBe(true);
      expect(f.help.length, f.name).toBeGreaterThan(0);
    }
    expect(after.get(M.httpDuration)!.type).toBe("histogram");
  });

  it("counts payments by kind and status and their volume, from the wallets' events", async () => {
    const before = await metrics();
    const amounts = [1_000, 2_000, 3_000];
    for (const sat of amounts) expect((await pay(alice, bob.username, sat)).json.status).toBe("succeeded");
    expect((await pay(bob, alice.username, 10_000_000)).status).toBe(422); // refused: no payment at all
    // A Lightning payment out through LND (the simulator's invoice), and one received from outside.
    const outside = await api("POST", "/dev/sim/invoices", { body: { amount_sat: 500, memo: "metrics" } });
    const sent = await api("POST", "/v1/payments/lightning", { body: { payment_request: outside.json.payment_request }, token: alice.access_token, key: newKey() });
    expect(sent.json.status, JSON.stringify(sent.json)).toBe("succeeded");
    const invoice = await api("POST", "/v1/invoices", { body: { amount_sat: 700 }, token: bob.access_token });
    expect((await api("POST", "/dev/sim/pay", { body: { payment_request: invoice.json.payment_request } })).json.status).toBe("succeeded");
    // A reward an operator program pays.
    const program = await api("POST", "/v1/admin/rewards", { body: { name: "metrics", amount_sat: 40, budget_sat: 400 }, token: ADMIN });
    expect(program.status, JSON.stringify(program.json)).toBe(201);
    const claim = await api("POST", `/v1/rewards/${program.json.program_id}/claim`, { token: bob.access_token, key: newKey() });
    expect(claim.status, JSON.stringify(claim.json)).toBe(200);
    const after = await metrics();

    const delta = (name: string, labels: Record<string, string>) => counter(after, name, labels) - counter(before, name, labels);
    expect(delta(M.paymentsStarted, { kind: "intraledger" })).toBe(3);
    expect(delta(M.payments, { kind: "intraledger", status: "succeeded" })).toBe(3);
    expect(delta(M.payments, { kind: "intraledger", status: "failed" })).toBe(0);
    expect(delta(M.paymentVolume, { kind: "intraledger" })).toBe(6_000_000);
    expect(delta(M.paymentsStarted, { kind: "lightning_send" })).toBe(1);
    expect(delta(M.payments, { kind: "lightning_send", status: "succeeded" })).toBe(1);
    expect(delta(M.paymentVolume, { kind: "lightning_send" })).toBe(500_000);
    expect(delta(M.payments, { kind: "lightning_receive", status: "succeeded" })).toBe(1);
    expect(delta(M.paymentVolume, { kind: "lightning_receive" })).toBe(700_000);
    expect(delta(M.payments, { kind: "reward", status: "succeeded" })).toBe(1);
    expect(delta(M.paymentVolume, { kind: "reward" })).toBe(40_000);
    expect(requests(after, "POST", "/v1/payments/intraledger", 422) - requests(before, "POST", "/v1/payments/intraledger", 422)).toBe(1);
    // The seed's figures move with them.
    expect(gauge(after, M.dailyVolume)! - gauge(before, M.dailyVolume)!).toBe(7_240_000);
    expect(gauge(after, M.transactionsPerSecond)!).toBeGreaterThan(0);
  });

  it("counts webhook delivery outcomes where the attempts end", async () => {
    const before = await metrics();
    const receiver = (token: string, query = "") => `http://127.0.0.1:9999/hooks/${token}${query ? `?${query}` : ""}`;
    const hook = async (url: string) => (await api("POST", "/v1/webhooks", { body: { url, events: ["*"] }, token: alice.access_token })).json.id as string;
    const [fine, failing, gone] = await Promise.all([hook(receiver(`m-ok-${newKey()}`)), hook(receiver(`m-503-${newKey()}`, "status=503")), hook(receiver(`m-410-${newKey()}`, "status=410"))]);
    for (const id of [fine, failing, gone]) expect((await api("POST", `/v1/webhooks/${id}/test`, { token: alice.access_token })).status).toBe(200);
    const after = await metrics();
    const delta = (outcome: string) => counter(after, M.webhookDeliveries, { outcome }) - counter(before, M.webhookDeliveries, { outcome });
    expect(delta("delivered")).toBeGreaterThanOrEqual(1);
    expect(delta("retrying")).toBeGreaterThanOrEqual(1);
    expect(delta("gone")).toBe(1);
    for (const outcome of ["delivered", "retrying", "failed", "gone", "dropped"]) expect(valueOf(after, M.webhookDeliveries, { outcome }), outcome).toBeDefined();
  });

  it("LND's figures and the seed's six metrics", async () => {
    const f = await metrics();
    expect(gauge(f, M.lndUp)).toBe(1);
    expect(gauge(f, M.lndSynced)).toBe(1);
    expect(gauge(f, M.lndBlockHeight)!).toBeGreaterThan(0);
    expect(gauge(f, M.lndChannels, { state: "active" })!).toBeGreaterThan(0);
    const capacity = gauge(f, M.lndCapacity)!;
    const local = gauge(f, M.lndBalance, { side: "local" })!;
    const remote = gauge(f, M.lndBalance, { side: "remote" })!;
    expect(capacity).toBeGreaterThanOrEqual(local + remote);
    expect(gauge(f, M.channelUtilization)).toBeCloseTo(remote / (local + remote));
    expect(gauge(f, M.nodeUptime)).toBe(1);
    expect(gauge(f, M.activeUsers)!).toBeGreaterThanOrEqual(2);
    expect(gauge(f, M.averageLatency)!).toBeGreaterThanOrEqual(0);
    expect(gauge(f, M.transactionsPerSecond)!).toBeGreaterThan(0);
    expect(gauge(f, M.dailyVolume)!).toBeGreaterThan(0);
  });

  it("active users are distinct accounts: a repeat is not another one", async () => {
    const before = gauge(await metrics(), M.activeUsers)!;
    const carol = await createAccount("metrics_c");
    for (let i = 0; i < 3; i++) await api("GET", "/v1/wallet", { token: carol.access_token });
    await api("GET", "/v1/wallet", { token: alice.access_token });
    expect(gauge(await metrics(), M.activeUsers)! - before).toBe(1);
  });

  it("sums every shard: counts another isolate handed to any shard are in the scrape", async () => {
    const before = await metrics();
    const now = Date.now();
    for (let n = 0; n < METRICS_SHARDS; n++) {
      const other = new MetricsRecorder();
      other.request("GET", "/v1/wallet", 200, 0.004, now);
      other.count(M.payments, { kind: "lightning_send", status: "failed" }, 2);
      other.addToWindow(W.volumeMsat, 1_000, now);
      await metricsShard(testEnv, n).add(other.take()!);
    }
    const after = await metrics();
    expect(requests(after, "GET", "/v1/wallet", 200) - requests(before, "GET", "/v1/wallet", 200)).toBe(METRICS_SHARDS);
    expect(counter(after, M.payments, { kind: "lightning_send", status: "failed" }) - counter(before, M.payments, { kind: "lightning_send", status: "failed" })).toBe(2 * METRICS_SHARDS);
    expect(gauge(after, M.dailyVolume)! - gauge(before, M.dailyVolume)!).toBe(1_000 * METRICS_SHARDS);
  });

  it("a shard that does not answer fails the scrape (500), never an answer missing its counts; the next scrape has them all", async () => {
    const before = await metrics();
    const shard = metricsShard(testEnv, 3) as unknown as DurableObjectStub<MetricsActor>;
    // The shard's sums cannot be read (its storage failing, say): its RPC throws.
    await runInDurableObject(shard, (actor: MetricsActor) => {
      actor.series.read = () => {
        throw new Error("shard 3 cannot read its sums");
      };
    });
    try {
      const failed = await scrape();
      expect(failed.status).toBe(500);
      expect(JSON.parse(failed.text).error.code).toBe("internal");
    } finally {
      await runInDurableObject(shard, (actor: MetricsActor) => {
        delete (actor.series as { read?: unknown }).read;
      });
    }
    const after = await metrics();
    for (const name of [M.payments, M.httpRequests, M.paymentVolume]) {
      const total = (families: Map<string, ParsedFamily>) => [...(families.get(name)?.samples ?? [])].reduce((sum, x) => sum + x.value, 0);
      expect(total(after)).toBeGreaterThanOrEqual(total(before));
    }
  });

  it("a request is counted in the isolate's memory: no shard hears of it until the isolate hands its counts over", async () => {
    const shardsCount = async () => {
      const readings = await Promise.all(Array.from({ length: METRICS_SHARDS }, (_, n) => metricsShard(testEnv, n).read(Date.now())));
      const wallet = mergeReadings(readings).histograms.find((h) => h.name === M.httpDuration && JSON.parse(h.labels).route === "/v1/wallet" && JSON.parse(h.labels).status === "200");
      return wallet ? wallet.buckets.reduce((a, b) => a + b, 0) : 0;
    };
    await metrics(); // hands this isolate's counts over: the next hand-over is FLUSH_INTERVAL_MS away
    const before = await shardsCount();
    for (let i = 0; i < 3; i++) await api("GET", "/v1/wallet", { token: bob.access_token });
    expect(await shardsCount()).toBe(before);
    expect(FLUSH_INTERVAL_MS).toBeGreaterThanOrEqual(5_000);
    const scraped = await metrics();
    expect(await shardsCount()).toBe(before + 3);
    expect(requests(scraped, "GET", "/v1/wallet", 200)).toBe(before + 3);
  });
});
