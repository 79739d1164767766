import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import {
  WEBHOOK_MAX_ATTEMPTS,
  WEBHOOK_RETRY_AFTER_CAP_MS,
  WEBHOOK_RETRY_DELAYS_MS,
  WEBHOOK_TIMEOUT_MS,
  nextAttemptDelayMs,
  parseRetryAfter,
} from "../src/webhooks/schedule";
import { WEBHOOK_KEY_CACHE_LIMIT, isWebhookSecret, newWebhookSecret, signWebhook, webhookHeaders, webhookKeyCacheSize } from "../src/webhooks/signature";
import { WEBHOOK_URL_MAX_LENGTH, checkWebhookUrl } from "../src/webhooks/url-policy";

const nowSeconds = () => Math.floor(Date.now() / 1000);
const secretBytes = (secret: string) => Uint8Array.from(atob(secret.slice("whsec_".length)), (c) => c.charCodeAt(0));
const b64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
const event = (id = "evt_0123456789abcdef") => ({
  id,
  timestamp: nowSeconds(),
  body: JSON.stringify({ type: "invoice.paid", timestamp: new Date().toISOString(), data: { account_id: "acc_1", memo: "naïve ☕ \"quoted\"" } }),
});
/** The reference verifier (the npm package `standardwebhooks`): the parsed body, or the error it throws. */
const verify = (secret: string, body: string, headers: Record<string, string>): unknown => {
  try {
    return new Webhook(secret).verify(body, headers);
  } catch (e) {
    return e instanceof Error ? e : new Error(String(e));
  }
};

describe("webhook signatures (Standard Webhooks)", () => {
  it("a delivery's headers verify with the reference verifier, and carry the id, timestamp and content type", async () => {
    const secret = newWebhookSecret();
    const msg = event();
    const headers = await webhookHeaders([secret], msg);
    expect(Object.keys(headers).sort()).toEqual(["content-type", "webhook-id", "webhook-signature", "webhook-timestamp"]);
    expect(headers["webhook-id"]).toBe(msg.id);
    expect(headers["webhook-timestamp"]).toBe(String(msg.timestamp));
    expect(headers["content-type"]).toBe("application/json");
    expect(headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(verify(secret, msg.body, headers)).toEqual(JSON.parse(msg.body));
    // Header names are matched case-insensitively by receivers.
    const upper = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toUpperCase(), v]));
    expect(verify(secret, msg.body, upper)).toEqual(JSON.parse(msg.body));
  });

  it("matches the reference signer byte for byte, and the Standard Webhooks test vector", async () => {
    const secret = newWebhookSecret();
    const msg = event();
    expect(await signWebhook([secret], msg)).toBe(new Webhook(secret).sign(msg.id, new Date(msg.timestamp * 1000), msg.body));
    const vector = { secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1614265330, body: '{"test": 2432232314}' };
    const expected = new Webhook(vector.secret).sign(vector.id, new Date(vector.timestamp * 1000), vector.body);
    expect(expected).toBe("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    expect(await signWebhook([vector.secret], vector)).toBe(expected);
  });

  it("a wrong secret fails verification", async () => {
    const msg = event();
    const headers = await webhookHeaders([newWebhookSecret()], msg);
    const result = verify(newWebhookSecret(), msg.body, headers);
    expect(result).toBeInstanceOf(Error);
    expect((result as Error).message).toMatch(/no matching signature/i);
  });

  it("during a rotation two signatures, one space apart, and either secret verifies; a third does not", async () => {
    const [oldSecret, newSecret] = [newWebhookSecret(), newWebhookSecret()];
    const msg = event();
    const headers = await webhookHeaders([newSecret, oldSecret], msg);
    const parts = headers["webhook-signature"]!.split(" ");
    expect(parts).toHaveLength(2);
    expect(parts[0]).toBe(await signWebhook([newSecret], msg));
    expect(parts[1]).toBe(await signWebhook([oldSecret], msg));
    expect(verify(oldSecret, msg.body, headers)).toEqual(JSON.parse(msg.body));
    expect(verify(newSecret, msg.body, headers)).toEqual(JSON.parse(msg.body));
    expect(verify(newWebhookSecret(), msg.body, headers)).toBeInstanceOf(Error);
  });

  it("a tampered body, timestamp or id fails verification", async () => {
    const secret = newWebhookSecret();
    const msg = event();
    const headers = await webhookHeaders([secret], msg);
    expect(verify(secret, msg.body.replace("acc_1", "acc_2"), headers)).toBeInstanceOf(Error);
    expect(verify(secret, `${msg.body} `, headers)).toBeInstanceOf(Error);
    expect(verify(secret, msg.body, { ...headers, "webhook-timestamp": String(msg.timestamp - 1) })).toBeInstanceOf(Error);
    expect(verify(secret, msg.body, { ...headers, "webhook-id": "evt_other" })).toBeInstanceOf(Error);
    // And the untouched delivery still verifies.
    expect(verify(secret, msg.body, headers)).toEqual(JSON.parse(msg.body));
  });

  it("the signature is stable for the same message (a retry with the same timestamp signs alike) and changes with the timestamp", async () => {
    const secret = newWebhookSecret();
    const msg = event();
    expect(await signWebhook([secret], msg)).toBe(await signWebhook([secret], { ...msg }));
    expect(await signWebhook([secret], { ...msg, timestamp: msg.timestamp + 1 })).not.toBe(await signWebhook([secret], msg));
  });

  it("secrets: whsec_ + standard base64 of 32 random bytes, all different", () => {
    const secrets = Array.from({ length: 200 }, () => newWebhookSecret());
    for (const s of secrets) {
      expect(s).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
      expect(secretBytes(s)).toHaveLength(32);
      expect(isWebhookSecret(s)).toBe(true);
    }
    expect(new Set(secrets).size).toBe(secrets.length);
    // Random bytes: every byte value turns up across 6400 bytes, and no position is stuck.
    const all = secrets.flatMap((s) => [...secretBytes(s)]);
    expect(new Set(all).size).toBe(256);
    for (let i = 0; i < 32; i++) expect(new Set(secrets.map((s) => secretBytes(s)[i])).size).toBeGreaterThan(100);
  });

  it("isWebhookSecret: 24–64 bytes of canonical standard base64 after whsec_, nothing else", () => {
    const ofBytes = (n: number) => `whsec_${b64(new Uint8Array(n).fill(7))}`;
    expect(isWebhookSecret(ofBytes(24))).toBe(true);
    expect(isWebhookSecret(ofBytes(64))).toBe(true);
    expect(isWebhookSecret(ofBytes(23))).toBe(false);
    expect(isWebhookSecret(ofBytes(65))).toBe(false);
    const good = newWebhookSecret();
    expect(isWebhookSecret(good.slice("whsec_".length))).toBe(false); // no prefix
    expect(isWebhookSecret(`WHSEC_${good.slice(6)}`)).toBe(false);
    expect(isWebhookSecret(`${good} `)).toBe(false);
    expect(isWebhookSecret(good.slice(0, -1))).toBe(false); // padding missing
    expect(isWebhookSecret(ofBytes(33))).toBe(true);
    expect(isWebhookSecret(`whsec_${b64(new Uint8Array(33).fill(0xff)).replace(/\//g, "_")}`)).toBe(false); // URL-safe alphabet
    expect(isWebhookSecret(`whsec_${"A".repeat(42)}B=`)).toBe(false); // non-zero padding bits
    expect(isWebhookSecret("")).toBe(false);
    expect(isWebhookSecret("whsec_")).toBe(false);
  });

  it("refuses to sign with no secret, a malformed secret, a bad id or timestamp", async () => {
    const msg = event();
    await expect(signWebhook([], msg)).rejects.toThrow(/at least one/);
    await expect(signWebhook(["whsec_short"], msg)).rejects.toThrow(/not a webhook secret/);
    await expect(signWebhook(["sk_abc"], msg)).rejects.toThrow(/not a webhook secret/);
    await expect(signWebhook([newWebhookSecret()], { ...msg, id: "" })).rejects.toThrow(/id/);
    await expect(signWebhook([newWebhookSecret()], { ...msg, id: "evt 1" })).rejects.toThrow(/id/);
    await expect(signWebhook([newWebhookSecret()], { ...msg, id: "evt\r\n1" })).rejects.toThrow(/id/);
    await expect(signWebhook([newWebhookSecret()], { ...msg, timestamp: 1.5 })).rejects.toThrow(/timestamp/);
    await expect(signWebhook([newWebhookSecret()], { ...msg, timestamp: Date.now() / 0 })).rejects.toThrow(/timestamp/);
    await expect(signWebhook([newWebhookSecret()], { ...msg, timestamp: -1 })).rejects.toThrow(/timestamp/);
  });

  it("imported keys are cached, in a bounded map, and an evicted secret still signs correctly", async () => {
    const first = newWebhookSecret();
    const msg = event();
    const before = webhookKeyCacheSize();
    const signature = await signWebhook([first], msg);
    expect(webhookKeyCacheSize()).toBe(Math.min(before + 1, WEBHOOK_KEY_CACHE_LIMIT));
    await signWebhook([first], { ...msg, body: "{}" });
    expect(webhookKeyCacheSize()).toBe(Math.min(before + 1, WEBHOOK_KEY_CACHE_LIMIT)); // the same secret again: no new key
    // 1,000 endpoints' secrets, and each of their rotations, fit.
    expect(WEBHOOK_KEY_CACHE_LIMIT).toBeGreaterThanOrEqual(2000);
    for (let i = 0; i < WEBHOOK_KEY_CACHE_LIMIT + 50; i++) await signWebhook([newWebhookSecret()], msg);
    expect(webhookKeyCacheSize()).toBe(WEBHOOK_KEY_CACHE_LIMIT);
    expect(await signWebhook([first], msg)).toBe(signature);
    expect(verify(first, msg.body, await webhookHeaders([first], msg))).toEqual(JSON.parse(msg.body));
  });
});

describe("webhook retry schedule", () => {
  const mid = () => 0.5;

  it("about 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, then none: 8 attempts, 15 s each", () => {
    expect(WEBHOOK_RETRY_DELAYS_MS).toEqual([5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000]);
    expect(WEBHOOK_MAX_ATTEMPTS).toBe(8);
    expect(WEBHOOK_TIMEOUT_MS).toBe(15_000);
    expect(nextAttemptDelayMs(0)).toBe(0);
    for (let failed = 1; failed <= 7; failed++) expect(nextAttemptDelayMs(failed, { random: mid })).toBe(WEBHOOK_RETRY_DELAYS_MS[failed - 1]);
    expect(nextAttemptDelayMs(8, { random: mid })).toBeNull();
    expect(nextAttemptDelayMs(9)).toBeNull();
    expect(nextAttemptDelayMs(8, { retryAfterMs: 1_000 })).toBeNull(); // Retry-After does not add attempts
  });

  it("jitter stays within ±10 % and spreads over it", () => {
    for (let failed = 1; failed <= 7; failed++) {
      const base = WEBHOOK_RETRY_DELAYS_MS[failed - 1]!;
      expect(nextAttemptDelayMs(failed, { random: () => 0 })).toBe(Math.round(base * 0.9));
      expect(nextAttemptDelayMs(failed, { random: () => 0.999999 })).toBeLessThanOrEqual(Math.round(base * 1.1));
      expect(nextAttemptDelayMs(failed, { random: () => 0.999999 })).toBeGreaterThanOrEqual(Math.round(base * 1.0999));
      const seen = Array.from({ length: 500 }, () => nextAttemptDelayMs(failed)!);
      for (const d of seen) {
        expect(d).toBeGreaterThanOrEqual(Math.round(base * 0.9));
        expect(d).toBeLessThanOrEqual(Math.round(base * 1.1));
        expect(Number.isInteger(d)).toBe(true);
      }
      expect(Math.max(...seen) - Math.min(...seen)).toBeGreaterThan(base * 0.1);
    }
    // A random source outside [0, 1) cannot push the delay outside the band.
    expect(nextAttemptDelayMs(1, { random: () => 7 })).toBe(5_500);
    expect(nextAttemptDelayMs(1, { random: () => -3 })).toBe(4_500);
    expect(nextAttemptDelayMs(1, { random: () => NaN })).toBe(5_000);
  });

  it("scale shortens the whole schedule (and a Retry-After with it)", () => {
    expect(Array.from({ length: 8 }, (_, i) => nextAttemptDelayMs(i + 1, { random: mid, scale: 0.001 }))).toEqual([5, 300, 1_800, 7_200, 18_000, 36_000, 36_000, null]);
    expect(nextAttemptDelayMs(1, { random: mid, scale: 0 })).toBe(0);
    expect(nextAttemptDelayMs(1, { random: mid, scale: 0.001, retryAfterMs: 60_000 })).toBe(60);
    expect(() => nextAttemptDelayMs(1, { scale: -1 })).toThrow(RangeError);
    expect(() => nextAttemptDelayMs(1, { scale: NaN })).toThrow(RangeError);
    expect(() => nextAttemptDelayMs(-1)).toThrow(RangeError);
    expect(() => nextAttemptDelayMs(1.5)).toThrow(RangeError);
  });

  it("a longer Retry-After wins, capped at 24 h; a shorter one changes nothing", () => {
    expect(nextAttemptDelayMs(1, { random: mid, retryAfterMs: 120_000 })).toBe(120_000);
    expect(nextAttemptDelayMs(1, { random: mid, retryAfterMs: 1_000 })).toBe(5_000);
    expect(nextAttemptDelayMs(1, { random: mid, retryAfterMs: 0 })).toBe(5_000);
    expect(nextAttemptDelayMs(1, { random: mid, retryAfterMs: null })).toBe(5_000);
    expect(nextAttemptDelayMs(3, { random: mid, retryAfterMs: 3_600_000 })).toBe(3_600_000);
    expect(nextAttemptDelayMs(7, { random: mid, retryAfterMs: 3_600_000 })).toBe(36_000_000);
    expect(WEBHOOK_RETRY_AFTER_CAP_MS).toBe(86_400_000);
    expect(nextAttemptDelayMs(1, { random: mid, retryAfterMs: 7 * 86_400_000 })).toBe(86_400_000);
    expect(nextAttemptDelayMs(1, { random: mid, retryAfterMs: Infinity })).toBe(5_000);
  });

  it("parseRetryAfter: delay-seconds, the three HTTP-date forms, past dates, garbage", () => {
    const now = Date.UTC(2026, 0, 15, 12, 0, 0);
    expect(parseRetryAfter("120", now)).toBe(120_000);
    expect(parseRetryAfter(" 0 ", now)).toBe(0);
    expect(parseRetryAfter("86400", now)).toBe(86_400_000);
    expect(parseRetryAfter("Thu, 15 Jan 2026 12:02:00 GMT", now)).toBe(120_000);
    expect(parseRetryAfter("thu, 15 jan 2026 13:00:00 gmt", now)).toBe(3_600_000);
    expect(parseRetryAfter("Thursday, 15-Jan-26 12:00:30 GMT", now)).toBe(30_000);
    expect(parseRetryAfter("Thu Jan 15 12:00:05 2026", now)).toBe(5_000);
    expect(parseRetryAfter("Fri Jan  2 12:00:00 2026", now)).toBe(0); // asctime's padded day, in the past
    expect(parseRetryAfter("Wed, 14 Jan 2026 12:00:00 GMT", now)).toBe(0);
    expect(parseRetryAfter("Sunday, 06-Nov-94 08:49:37 GMT", now)).toBe(0); // 1994, not 2094
    for (const garbage of ["", "soon", "-5", "1.5", "1e3", "0x10", "120s", "12 0", "Thu, 31 Feb 2026 12:00:00 GMT", "Thu, 15 Jan 2026 25:00:00 GMT", "Thu, 15 Jan 2026 12:00:00 UTC", "2026-01-15T12:02:00Z", "Thu, 15 Foo 2026 12:00:00 GMT"]) {
      expect(parseRetryAfter(garbage, now), garbage).toBeNull();
    }
    expect(parseRetryAfter(null, now)).toBeNull();
    expect(parseRetryAfter("9".repeat(400), now)).toBeNull();
    // Parsed and honoured together.
    expect(nextAttemptDelayMs(1, { random: mid, retryAfterMs: parseRetryAfter("600", now) })).toBe(600_000);
  });
});

describe("webhook URL policy", () => {
  // [url, accepted in production, accepted in development]
  const table: [string, boolean, boolean][] = [
    // Public https endpoints.
    ["https://example.com/webhooks", true, true],
    ["https://hooks.partner.example.org:8443/flash?x=1", true, true],
    ["https://EXAMPLE.com/Path", true, true],
    ["https://example.com./", true, true],
    ["https://例え.jp/hook", true, true],
    ["https://8.8.8.8/hook", true, true],
    ["https://1.1.1.1:444/", true, true],
    ["https://[2606:4700:4700::1111]/", true, true],
    ["https://[::ffff:8.8.8.8]/", true, true],
    ["https://172.32.0.1/", true, true],
    ["https://100.128.0.1/", true, true],
    ["https://192.169.0.1/", true, true],
    ["https://198.20.0.1/", true, true],
    ["https://11.0.0.1/", true, true],
    ["https://a.local.example.com/", true, true],
    ["https://lan.example.com/", true, true],
    // Schemes and shapes.
    ["http://example.com/webhooks", false, false],
    ["ftp://example.com/", false, false],
    ["ws://example.com/", false, false],
    ["javascript:alert(1)", false, false],
    ["data:text/plain,hi", false, false],
    ["file:///etc/passwd", false, false],
    ["//example.com/", false, false],
    ["example.com/hook", false, false],
    ["", false, false],
    ["https://user:pass@example.com/", false, false],
    ["https://user@example.com/", false, false],
    ["https://:pass@example.com/", false, false],
    ["https://example.com/ hook", false, false],
    [" https://example.com/", false, false],
    ["https://exa\tmple.com/", false, false],
    ["https://example.com\\@127.0.0.1/", false, false],
    ["https://example.com:99999/", false, false],
    // Loopback, in every spelling.
    ["https://127.0.0.1/", false, true],
    ["https://127.0.0.2/", false, false],
    ["https://127.255.255.254/", false, false],
    ["http://127.0.0.1:8787/hook", false, true],
    ["http://127.0.0.1/", false, true],
    ["http://2130706433/", false, true], // → 127.0.0.1
    ["https://2130706433/", false, true],
    ["https://0x7f.1/", false, true],
    ["https://0x7f000001/", false, true],
    ["https://0177.0.0.1/", false, true],
    ["https://127.1/", false, true],
    ["https://017700000001/", false, true],
    ["https://%31%32%37.0.0.1/", false, true],
    ["https://０x7f.1/", false, true], // fullwidth digits, folded by IDNA
    ["http://0x7f.0.0.2:8080/", false, false],
    ["http://[::1]:9000/", false, true],
    ["https://[::1]/", false, true],
    ["https://[0:0:0:0:0:0:0:1]/", false, true],
    ["http://[::ffff:127.0.0.1]/", false, false],
    ["https://[::ffff:127.0.0.1]/", false, false],
    ["https://[::ffff:7f00:1]/", false, false],
    ["https://[::127.0.0.1]/", false, false], // IPv4-compatible (deprecated)
    ["http://localhost:3000/hook", false, true],
    ["https://localhost/", false, true],
    ["https://LOCALHOST:8443/", false, true],
    ["http://localhost./", false, false],
    ["https://localhost./", false, false],
    ["https://api.localhost/", false, false],
    ["http://api.localhost:3000/", false, false],
    ["http://127.0.0.1.nip.io:8080/", false, false], // http to a public name, even in development
    // "This network", unspecified.
    ["https://0.0.0.0/", false, false],
    ["http://0.0.0.0:8080/", false, false],
    ["https://0/", false, false],
    ["https://0.255.255.255/", false, false],
    ["https://[::]/", false, false],
    // Private.
    ["https://10.0.0.1/", false, false],
    ["https://10.255.255.255/", false, false],
    ["https://0xa.1/", false, false],
    ["https://167772161/", false, false], // 10.0.0.1
    ["https://172.16.0.1/", false, false],
    ["https://172.31.255.255/", false, false],
    ["https://192.168.1.1/", false, false],
    ["https://0xc0a80101/", false, false], // 192.168.1.1
    ["https://[::ffff:192.168.1.1]/", false, false],
    ["https://[::ffff:a00:1]/", false, false], // ::ffff:10.0.0.1
    // Link-local, including the cloud metadata address.
    ["https://169.254.169.254/latest/meta-data/", false, false],
    ["https://169.254.0.1/", false, false],
    ["https://2852039166/", false, false], // 169.254.169.254
    ["https://[::ffff:169.254.169.254]/", false, false],
    ["https://[fe80::1]/", false, false],
    ["https://[febf:ffff::1]/", false, false],
    ["https://[fe80::1%25eth0]/", false, false], // zone ids do not parse
    ["https://[fec0::1]/", false, false], // site-local (deprecated)
    // Unique-local IPv6.
    ["https://[fc00::1]/", false, false],
    ["https://[fd12:3456:789a::1]/", false, false],
    // CGNAT.
    ["https://100.64.0.1/", false, false],
    ["https://100.127.255.255/", false, false],
    // Multicast, broadcast, reserved.
    ["https://224.0.0.1/", false, false],
    ["https://239.255.255.250/", false, false],
    ["https://[ff02::1]/", false, false],
    ["https://255.255.255.255/", false, false],
    ["https://4294967295/", false, false], // 255.255.255.255
    ["https://240.0.0.1/", false, false],
    ["https://250.1.2.3/", false, false],
    ["https://[100::1]/", false, false], // discard-only
    ["https://[64:ff9b::7f00:1]/", false, false], // NAT64
    ["https://[4000::1]/", false, false], // outside 2000::/3
    // Documentation, benchmarking, protocol assignments, transition mechanisms.
    ["https://192.0.2.1/", false, false],
    ["https://198.51.100.7/", false, false],
    ["https://203.0.113.9/", false, false],
    ["https://[2001:db8::1]/", false, false],
    ["https://[3fff::1]/", false, false],
    ["https://198.18.0.1/", false, false],
    ["https://198.19.255.255/", false, false],
    ["https://192.0.0.8/", false, false],
    ["https://192.88.99.1/", false, false],
    ["https://[2001::1]/", false, false], // Teredo
    ["https://[2002:7f00:1::1]/", false, false], // 6to4
    // Local names.
    ["https://printer.local/", false, false],
    ["https://db.internal/", false, false],
    ["https://metadata.google.internal/computeMetadata/v1/", false, false],
    ["https://nas.home.arpa/", false, false],
    ["https://router.lan/", false, false],
    ["https://box.localdomain/", false, false],
    ["https://intranet/", false, false],
    ["https://intranet./", false, false],
    ["https://kubernetes/", false, false],
    ["https://a..b.com/", false, false],
    ["https://PRINTER.LOCAL./", false, false],
  ];

  it(`a table of ${table.length} URLs, in production and in development`, () => {
    expect(table.length).toBeGreaterThanOrEqual(40);
    const wrong: string[] = [];
    for (const [raw, production, development] of table) {
      for (const [mode, expected] of [["production", production], ["development", development]] as const) {
        const result = checkWebhookUrl(raw, { development: mode === "development" });
        if (result.ok !== expected) wrong.push(`${mode}: ${JSON.stringify(raw)} → ${result.ok ? `accepted as ${result.url.href}` : `refused (${result.reason})`}`);
        if (!result.ok) expect(result.reason).toMatch(/\S/);
      }
    }
    expect(wrong).toEqual([]);
  });

  it("returns the normalised URL to store and deliver to", () => {
    const r = checkWebhookUrl("https://EXAMPLE.com:443/a/../hook?x=1", { development: false });
    expect(r.ok && r.url.href).toBe("https://example.com/hook?x=1");
    const local = checkWebhookUrl("http://2130706433:8787/h", { development: true });
    expect(local.ok && local.url.href).toBe("http://127.0.0.1:8787/h");
  });

  it("says why a URL is refused", () => {
    const reason = (raw: string, development = false) => {
      const r = checkWebhookUrl(raw, { development });
      return r.ok ? "accepted" : r.reason;
    };
    expect(reason("http://example.com/")).toMatch(/https/);
    expect(reason("http://example.com/", true)).toMatch(/127\.0\.0\.1/);
    expect(reason("https://u:p@example.com/")).toMatch(/credentials/);
    expect(reason("https://10.0.0.1/")).toMatch(/private/);
    expect(reason("https://127.0.0.1/")).toMatch(/loopback/);
    expect(reason("https://[::ffff:127.0.0.1]/")).toMatch(/loopback.*IPv4-mapped/);
    expect(reason("https://169.254.169.254/")).toMatch(/link-local/);
    expect(reason("https://[fd00::1]/")).toMatch(/unique-local/);
    expect(reason("https://100.64.0.1/")).toMatch(/CGNAT/);
    expect(reason("https://255.255.255.255/")).toMatch(/broadcast/);
    expect(reason("https://printer.local/")).toMatch(/local name/);
    expect(reason("https://intranet/")).toMatch(/single-label/);
    expect(reason("not-a-url")).toMatch(/valid/);
    expect(reason("https://example.com/a b")).toMatch(/spaces/);
  });

  it("at most 2048 characters", () => {
    const base = "https://example.com/";
    const exactly = base + "a".repeat(WEBHOOK_URL_MAX_LENGTH - base.length);
    expect(checkWebhookUrl(exactly, { development: false }).ok).toBe(true);
    expect(checkWebhookUrl(`${exactly}a`, { development: false }).ok).toBe(false);
    // Percent-encoding by the parser can lengthen a URL past the limit.
    const growing = base + "é".repeat(1000);
    expect(growing.length).toBeLessThanOrEqual(WEBHOOK_URL_MAX_LENGTH);
    expect(checkWebhookUrl(growing, { development: false })).toMatchObject({ ok: false, reason: expect.stringMatching(/longer/) });
  });
});
