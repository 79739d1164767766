import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { Point, schnorr, utils } from "@noble/secp256k1";
import { describe, expect, it } from "vitest";
import { usernameActor } from "../durable/env";
import { USERNAME_LEGACY_SCHEMA } from "../durable/username-actor";
import { isEncryptionPublicKey } from "../src/encryption-key";
import { api, createAccount, PASSWORD, testEnv, uniqueName, type TestAccount } from "./helpers";

/** A fresh x-only public key, as a client would derive it from a private key it keeps. */
const newPublicKey = () => Buffer.from(schnorr.getPublicKey(utils.randomSecretKey())).toString("hex");

/** The field prime: an x at or above it is no coordinate at all. */
const P = 2n ** 256n - 2n ** 32n - 977n;
const hex32 = (n: bigint) => n.toString(16).padStart(64, "0");

const profileOf = (viewer: TestAccount, username: string) => api("GET", `/v1/users/${username}`, { token: viewer.access_token });
const setKey = (token: string, public_key: unknown) => api("PUT", "/v1/account/encryption-key", { body: { public_key }, token });

/** How actors migrated before the kit: one list of steps, numbered in `_migrations` (as in migrations.test.ts). */
function migrateTheOldWay(storage: DurableObjectStorage, steps: readonly string[]): void {
  storage.sql.exec("CREATE TABLE IF NOT EXISTS _migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)");
  steps.forEach((step, i) => {
    storage.sql.exec(step);
    storage.sql.exec("INSERT INTO _migrations (version, applied_at) VALUES (?, ?)", i + 1, new Date().toISOString());
  });
}

describe("GET /v1/users/{username}", () => {
  it("shows another user's profile: wallet, Lightning address on this host, no encryption key at first", async () => {
    const [a, b] = await Promise.all([createAccount("a"), createAccount("b")]);
    const r = await profileOf(a, b.username);
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect(r.json).toEqual({ username: b.username, wallet_id: b.wallet_id, lightning_address: `${b.username}@hub.test`, encryption_public_key: null });
  });

  it("finds a name whatever its case; names are stored lower-case", async () => {
    const viewer = await createAccount("v");
    const username = uniqueName("MiXeD");
    const created = await api("POST", "/v1/accounts", { body: { username, password: PASSWORD } });
    expect(created.status).toBe(201);
    for (const asked of [username, username.toLowerCase(), username.toUpperCase()]) {
      const r = await profileOf(viewer, asked);
      expect(r.status, asked).toBe(200);
      expect(r.json).toMatchObject({ username: username.toLowerCase(), wallet_id: created.json.wallet_id, lightning_address: `${username.toLowerCase()}@hub.test` });
    }
  });

  it("an unknown name, or one that cannot be a username, is 404 not_found", async () => {
    const a = await createAccount("a");
    for (const name of [uniqueName("nobody"), "x", "has-dash", "a".repeat(33), "%F0%9F%98%80"]) {
      const r = await profileOf(a, name);
      expect(r.status, name).toBe(404);
      expect(r.json.error.code).toBe("not_found");
    }
  });

  it("needs a credential; an API key with scope read will do", async () => {
    const [a, b] = await Promise.all([createAccount("a"), createAccount("b")]);
    const anonymous = await api("GET", `/v1/users/${b.username}`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.json.error.code).toBe("unauthorized");
    const readOnly = await api("POST", "/v1/api-keys", { body: { name: "reader", scopes: ["read"] }, token: a.access_token });
    expect((await api("GET", `/v1/users/${b.username}`, { token: readOnly.json.key })).json).toMatchObject({ username: b.username });
  });
});

describe("PUT /v1/account/encryption-key", () => {
  it("sets the key, which others then read; setting again replaces it", async () => {
    const [a, b] = await Promise.all([createAccount("a"), createAccount("b")]);
    const key = newPublicKey();
    const r = await setKey(a.access_token, key);
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect(r.json).toEqual({ username: a.username, encryption_public_key: key });
    expect((await profileOf(b, a.username)).json.encryption_public_key).toBe(key);
    expect((await profileOf(a, a.username)).json.encryption_public_key).toBe(key);

    const next = newPublicKey();
    expect((await setKey(a.access_token, next)).status).toBe(200);
    expect((await profileOf(b, a.username.toUpperCase())).json.encryption_public_key).toBe(next);
    expect((await profileOf(a, b.username)).json.encryption_public_key).toBeNull(); // b's own is untouched
  });

  it("refuses anything but a 32-byte x-only secp256k1 key (400), and changes nothing", async () => {
    const [a, b] = await Promise.all([createAccount("a"), createAccount("b")]);
    const key = newPublicKey();
    expect((await setKey(a.access_token, key)).status).toBe(200);
    const notOnCurve = 5n; // x³ + 7 is not a square for x = 5 (checked below)
    expect(isEncryptionPublicKey(hex32(notOnCurve))).toBe(false);
    const invalid: [string, unknown][] = [
      ["too short", key.slice(0, 62)],
      ["too long", `${key}00`],
      ["33-byte compressed key", `02${key}`],
      ["upper case", key.toUpperCase()],
      ["not hex", `${key.slice(0, 63)}g`],
      ["empty", ""],
      ["not a string", 42],
      ["null", null],
      ["x not on the curve", hex32(notOnCurve)],
      ["x = 0", hex32(0n)],
      ["x = p - 1 (not on the curve)", hex32(P - 1n)],
      ["x = p", hex32(P)],
      ["x ≥ p", "ff".repeat(32)],
    ];
    for (const [what, public_key] of invalid) {
      const r = await setKey(a.access_token, public_key);
      expect(r.status, what).toBe(400);
      expect(r.json.error.code, what).toBe("invalid_request");
    }
    const extra = await api("PUT", "/v1/account/encryption-key", { body: { public_key: newPublicKey(), private_key: key }, token: a.access_token });
    expect(extra.status, "unknown fields").toBe(400);
    expect((await api("PUT", "/v1/account/encryption-key", { body: {}, token: a.access_token })).status, "no key").toBe(400);
    expect((await profileOf(b, a.username)).json.encryption_public_key).toBe(key);
  });

  it("needs a credential with scope send: 401 without one, 403 for a read-only API key", async () => {
    const [a, b] = await Promise.all([createAccount("a"), createAccount("b")]);
    const anonymous = await api("PUT", "/v1/account/encryption-key", { body: { public_key: newPublicKey() } });
    expect(anonymous.status).toBe(401);
    expect(anonymous.json.error.code).toBe("unauthorized");

    const readOnly = await api("POST", "/v1/api-keys", { body: { name: "reader", scopes: ["read", "receive"] }, token: a.access_token });
    const refused = await setKey(readOnly.json.key, newPublicKey());
    expect(refused.status).toBe(403);
    expect(refused.json.error.code).toBe("forbidden");
    expect((await profileOf(b, a.username)).json.encryption_public_key).toBeNull();

    const sender = await api("POST", "/v1/api-keys", { body: { name: "bot", scopes: ["send"] }, token: a.access_token });
    const key = newPublicKey();
    expect((await setKey(sender.json.key, key)).status).toBe(200);
    expect((await profileOf(b, a.username)).json.encryption_public_key).toBe(key);
  });

  it("the name's actor lets only the owning account set the key", async () => {
    const [a, b] = await Promise.all([createAccount("a"), createAccount("b")]);
    const stub = usernameActor(testEnv, a.username);
    expect(await stub.setEncryptionKey(b.account_id, newPublicKey())).toMatchObject({ ok: false, code: "forbidden" });
    expect(await stub.setEncryptionKey(a.account_id, "ff".repeat(32))).toMatchObject({ ok: false, code: "invalid_request" });
    expect(await usernameActor(testEnv, uniqueName("free")).setEncryptionKey(a.account_id, newPublicKey())).toMatchObject({ ok: false, code: "not_found" });
    expect((await stub.profile())?.encryption_public_key).toBeNull();
  });
});

describe("username actor schema", () => {
  it("the schema before the kit stays frozen at its one step", () => {
    expect(USERNAME_LEGACY_SCHEMA.steps).toHaveLength(1);
    expect(USERNAME_LEGACY_SCHEMA.adopts).toEqual({ claim: 1 });
  });

  it("an actor written before the kit keeps its claim and gains the encryption key column", async () => {
    const owner = await createAccount("o");
    const name = uniqueName("old");
    const stub = usernameActor(testEnv, name);
    await runInDurableObject(stub, (_actor, state) => {
      const sql = state.storage.sql;
      // Start again from nothing and build the actor as the old code left it.
      for (const { name: table } of sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'").toArray()) {
        sql.exec(`DROP TABLE "${table}"`);
      }
      migrateTheOldWay(state.storage, USERNAME_LEGACY_SCHEMA.steps);
      sql.exec("INSERT INTO claim (id, username, account_id, wallet_id, claimed_at) VALUES (1, ?, ?, ?, ?)", name, owner.account_id, owner.wallet_id, new Date().toISOString());
    });
    await evictDurableObject(stub); // the next wake-up migrates, as a deploy would

    expect(await stub.lookup()).toEqual({ username: name, account_id: owner.account_id, wallet_id: owner.wallet_id });
    expect(await stub.profile()).toEqual({ username: name, wallet_id: owner.wallet_id, encryption_public_key: null });
    const key = newPublicKey();
    expect(await stub.setEncryptionKey(owner.account_id, key)).toEqual({ ok: true });
    expect(await stub.profile()).toMatchObject({ encryption_public_key: key });
    const viewer = await createAccount("v");
    expect((await profileOf(viewer, name)).json).toMatchObject({ username: name, wallet_id: owner.wallet_id, encryption_public_key: key });

    const { tables, steps } = await runInDurableObject(stub, (_actor, state) => ({
      tables: state.storage.sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' ORDER BY name").toArray().map((t) => t.name),
      steps: state.storage.sql.exec<{ part: string; step: number }>("SELECT part, step FROM _kit_migrations ORDER BY part, step").toArray().map((r) => `${r.part}#${r.step}`),
    }));
    expect(tables).toEqual(["_kit_migrations", "claim"]);
    expect(steps).toEqual(["claim#1", "claim#2"]);
  });

  it("a migrated actor has the layout of a new one", async () => {
    const fresh = await createAccount("n");
    const oldStub = usernameActor(testEnv, uniqueName("old"));
    await runInDurableObject(oldStub, (_actor, state) => {
      for (const { name } of state.storage.sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'").toArray()) {
        state.storage.sql.exec(`DROP TABLE "${name}"`);
      }
      migrateTheOldWay(state.storage, USERNAME_LEGACY_SCHEMA.steps);
    });
    await evictDurableObject(oldStub);
    await oldStub.lookup();
    const columnsOf = (stub: typeof oldStub) => runInDurableObject(stub, (_actor, state) => state.storage.sql.exec("PRAGMA table_xinfo(claim)").toArray());
    const freshColumns = await columnsOf(usernameActor(testEnv, fresh.username));
    expect(await columnsOf(oldStub)).toEqual(freshColumns);
    expect(freshColumns.map((c) => c.name)).toContain("encryption_public_key");
  });
});

it("Point.fromHex is what the check relies on: an x with no square root is refused, a real key accepted", () => {
  expect(() => Point.fromHex(`02${hex32(5n)}`)).toThrow();
  expect(isEncryptionPublicKey(hex32(Point.BASE.x))).toBe(true);
  expect(isEncryptionPublicKey(newPublicKey())).toBe(true);
});
