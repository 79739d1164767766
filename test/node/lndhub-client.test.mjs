// The LNDHub API driven by a real third-party client: the `lightning-backends` package's LNDHub
// backend (Node.js only: Node's http, the npm `bolt11` package), against the hub bundled and served
// by workerd the way the benchmark does it (bench/lib). Run by `npm test` after the workerd suites.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import { START_TIMEOUT_MS, startHub } from "./hub.mjs";

const require = createRequire(import.meta.url);
const { prepareBackend, getTagDataFromPaymentRequest } = require("lightning-backends");

let hub;

before(async () => {
  hub = await startHub("lndhub-client");
}, { timeout: START_TIMEOUT_MS });

after(async () => {
  await hub?.stop();
});

const call = (...args) => hub.call(...args);

/** A hub account (POST /v1/accounts), funded from the development faucet when `sat` is given. */
const account = (sat = 0) => hub.account(sat, "lhc_");

/** The wallet exported to an LNDHub app: POST /v1/lndhub/credentials. */
async function exportWallet(a, body = {}) {
  const r = await call("POST", "/v1/lndhub/credentials", { body, token: a.access_token });
  assert.equal(r.status, 201, JSON.stringify(r.json));
  return r.json;
}

/**
 * The client, logged in. Its getBalance sends whatever token an earlier call obtained (it does not
 * log in itself, unlike its other methods): `onAuthorized()` is the login step they all run first.
 */
async function client(secret) {
  const ln = prepareBackend("lndhub", { secret });
  await ln.onAuthorized();
  return ln;
}

const sha256 = (hex) => createHash("sha256").update(Buffer.from(hex, "hex")).digest("hex");

describe("lightning-backends (LNDHub) against the hub", () => {
  test("the secret names the hub's /lndhub base, as the client expects", async () => {
    const a = await account();
    const { secret, login, password } = await exportWallet(a);
    assert.equal(secret, `lndhub://${login}:${password}@${hub.url}/lndhub`);
    const ln = prepareBackend("lndhub", { secret });
    assert.equal(ln.options.baseUrl, `${hub.url}/lndhub`);
    assert.equal(ln.options.login, login);
    assert.equal(ln.options.password, password);
  });

  test("getBalance, addInvoice, payInvoice (another user's hub invoice, inside the hub), getBalance again", async () => {
    const alice = await client((await exportWallet(await account(50_000))).secret);
    const bob = await client((await exportWallet(await account())).secret);
    assert.equal(await alice.getBalance(), 50_000_000); // msat, as lightning-backends counts
    assert.equal(await bob.getBalance(), 0);

    const { invoice } = await bob.addInvoice(21_000_000, { description: "from alice" });
    assert.match(invoice, /^lnbcrt210u1/);
    const hash = getTagDataFromPaymentRequest(invoice, "payment_hash");
    assert.deepEqual(await bob.getInvoiceStatus(hash), { preimage: null, settled: false });

    const { preimage } = await alice.payInvoice(invoice);
    assert.equal(sha256(preimage), hash);
    assert.equal(await alice.getBalance(), 29_000_000);
    assert.equal(await bob.getBalance(), 21_000_000);
    assert.deepEqual(await bob.getInvoiceStatus(hash), { preimage: null, settled: true });

    // The client asking again (a retry) pays nothing more and gets the same answer.
    const again = await alice.payInvoice(invoice);
    assert.equal(again.preimage, preimage);
    assert.equal(await alice.getBalance(), 29_000_000);
    assert.equal(await bob.getBalance(), 21_000_000);
  });

  test("a wrong password fails: bad auth", async () => {
    const { login, password } = await exportWallet(await account());
    const wrong = password.slice(0, -4) + (password.endsWith("0000") ? "1111" : "0000");
    const ln = prepareBackend("lndhub", { secret: `lndhub://${login}:${wrong}@${hub.url}/lndhub` });
    await assert.rejects(ln.addInvoice(1_000_000, {}), /bad auth/);
    await assert.rejects(ln.onAuthorized(), /bad auth/);
  });

  test("a read-only credential cannot pay; a revoked one cannot log in", async () => {
    const a = await account(10_000);
    const bob = await client((await exportWallet(await account())).secret);
    const { invoice } = await bob.addInvoice(1_000_000, { description: "x" });
    const readOnly = await client((await exportWallet(a, { scopes: ["read"] })).secret);
    assert.equal(await readOnly.getBalance(), 10_000_000);
    await assert.rejects(readOnly.payInvoice(invoice), /bad auth.*send/);
    await assert.rejects(readOnly.addInvoice(1_000_000, {}), /bad auth.*receive/);

    const full = await exportWallet(a);
    const revoked = await call("DELETE", `/v1/api-keys/${full.login}`, { token: a.access_token });
    assert.equal(revoked.status, 200);
    await assert.rejects(client(full.secret), /bad auth/);
    assert.equal(await readOnly.getBalance(), 10_000_000); // the other credential still works
  });

  test("a wallet made by POST /lndhub/create (BlueWallet's create flow) receives and pays", async () => {
    const created = await call("POST", "/lndhub/create", { body: { partnerid: "bluewallet", accounttype: "common" } });
    assert.equal(created.status, 200, JSON.stringify(created.json));
    const fresh = await client(`lndhub://${created.json.login}:${created.json.password}@${hub.url}/lndhub`);
    const payer = await client((await exportWallet(await account(5_000))).secret);
    const { invoice } = await fresh.addInvoice(3_000_000, { description: "first sats" });
    await payer.payInvoice(invoice);
    assert.equal(await fresh.getBalance(), 3_000_000);
    const payee = await client((await exportWallet(await account())).secret);
    const back = await payee.addInvoice(1_000_000, { description: "back" });
    await fresh.payInvoice(back.invoice);
    assert.equal(await fresh.getBalance(), 2_000_000);
    assert.equal(await payee.getBalance(), 1_000_000);
  });
});
