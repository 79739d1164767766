// LNURL-pay and Lightning Addresses driven by a real third-party client: the `lnurl-pay` package
// (Node.js only: axios, the npm `bolt11` package), against the hub bundled and served by workerd
// the way the benchmark does it (bench/lib). Run by `npm test` after the workerd suites.
//
// lnurl-pay builds `https://<domain>/.well-known/lnurlp/<name>` for an address (LUD-16) and wants
// a domain with a TLD, so addresses here are `<name>@flash.test`: its injectable `fetchGet` sends
// every URL on flash.test to the hub's local socket with `Host: flash.test`, and the hub answers
// as it would at that host. A bech32 LNURL of the hub's own http://127.0.0.1:<port> URL needs no
// injection at all: lnurl-pay accepts http and fetches it with its own client (axios).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { request } from "node:http";
import { createRequire } from "node:module";
import { requestInvoice, requestInvoiceWithServiceParams, requestPayServiceParams, utils } from "lnurl-pay";
import { START_TIMEOUT_MS, startHub } from "./hub.mjs";

// lnurl-pay decodes LNURLs but has no encoder: its own bech32 dependency makes them.
const require = createRequire(import.meta.url);
const { bech32 } = createRequire(require.resolve("lnurl-pay"))("bech32");

const DOMAIN = "flash.test";
const MAX_SENDABLE_SAT = 100_000_000; // the hub's payment bound, 1 BTC

let hub;

before(async () => {
  hub = await startHub("lnurl-client");
}, { timeout: START_TIMEOUT_MS });

after(async () => {
  await hub?.stop();
});

const sha256 = (hex) => createHash("sha256").update(Buffer.from(hex, "hex")).digest("hex");
const utf8Sha256 = (text) => createHash("sha256").update(text, "utf8").digest("hex");
const key = () => ({ "idempotency-key": randomBytes(8).toString("hex") });
const lnurlOf = (url) => bech32.encode("lnurl", bech32.toWords(Buffer.from(url, "utf8")), 2000);

/**
 * lnurl-pay's `fetchGet`, as a transport only: a URL on flash.test (https as lnurl-pay builds it,
 * http as the hub names its callback and verify URLs behind no TLS) is asked of the hub's socket
 * with `Host: flash.test`, `params` added to its query as axios would. The JSON body comes back
 * whatever the status, so every refusal below is lnurl-pay's own. `asked` records each URL.
 */
function transport(asked = []) {
  return ({ url, params }) => {
    const target = new URL(url);
    for (const [name, value] of Object.entries(params ?? {})) target.searchParams.set(name, String(value));
    asked.push(target.href);
    if (target.host !== DOMAIN) return Promise.reject(new Error(`not on ${DOMAIN}: ${target.href}`));
    const local = new URL(hub.url);
    return new Promise((resolve, reject) => {
      request({ hostname: local.hostname, port: local.port, path: target.pathname + target.search, headers: { host: DOMAIN, accept: "application/json" } }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk) => (body += chunk));
        res.on("end", () => {
          try {
            resolve(JSON.parse(body));
          } catch (error) {
            reject(error);
          }
        });
      })
        .on("error", reject)
        .end();
    });
  };
}

const balance = async (a) => (await hub.call("GET", "/v1/wallet", { token: a.access_token })).json.balance_msat;

describe("lnurl-pay against the hub's Lightning Addresses (LUD-16, LUD-06, LUD-12, LUD-21)", () => {
  test("resolves name@host: the LUD-16 URL, the payRequest's bounds, comment length and metadata naming the address", async () => {
    const payee = await hub.account(0, "lnp_");
    const address = `${payee.username}@${DOMAIN}`;
    const wellKnown = `https://${DOMAIN}/.well-known/lnurlp/${payee.username}`;
    assert.equal(utils.isLightningAddress(address), true);
    assert.equal(utils.decodeUrlOrAddress(address), wellKnown);

    const asked = [];
    const params = await requestPayServiceParams({ lnUrlOrAddress: address, fetchGet: transport(asked) });
    assert.deepEqual(asked, [wellKnown]);
    assert.equal(params.callback, `http://${DOMAIN}/lnurlp/${payee.username}/callback`);
    assert.equal(params.domain, DOMAIN);
    assert.equal(params.min, 1);
    assert.equal(params.max, MAX_SENDABLE_SAT);
    assert.equal(params.fixed, false);
    assert.equal(params.commentAllowed, 255);
    assert.equal(params.identifier, address);
    assert.equal(params.description, `Pay ${payee.username} on Flash`);
    assert.deepEqual(params.metadata, [
      ["text/plain", `Pay ${payee.username} on Flash`],
      ["text/identifier", address],
    ]);
    assert.equal(params.metadataHash, utf8Sha256(params.rawData.metadata));

    // lnurl-pay holds a payer to the payRequest before asking the callback for anything.
    const ask = (extra) => requestInvoiceWithServiceParams({ params, validateInvoice: true, fetchGet: transport(asked), ...extra });
    await assert.rejects(ask({ tokens: MAX_SENDABLE_SAT + 1 }), /Invalid amount/);
    await assert.rejects(ask({ tokens: 0 }), /Invalid amount/);
    await assert.rejects(ask({ tokens: 10, comment: "x".repeat(256) }), /comment length must be 255 characters or fewer/);
    assert.deepEqual(asked, [wellKnown]);
  });

  test("requestInvoice with a comment, checked by lnurl-pay (amount, description hash); paid from another account; LUD-21 verify", async () => {
    const payee = await hub.account(0, "lnp_");
    const payer = await hub.account(5_000, "lnp_");
    const address = `${payee.username}@${DOMAIN}`;
    const comment = "thanks for the coffee ☕";
    const asked = [];
    const got = await requestInvoice({ lnUrlOrAddress: address, tokens: 2_100, comment, validateInvoice: true, fetchGet: transport(asked) });

    // What lnurl-pay checked itself (it would have thrown otherwise): a regtest invoice it decoded,
    // of exactly 2,100 sat, committed to SHA-256 of the payRequest's metadata.
    assert.equal(got.hasValidAmount, true);
    assert.equal(got.hasValidDescriptionHash, true);
    assert.match(got.invoice, /^lnbcrt21u1/);
    const callback = new URL(asked[1]);
    assert.equal(callback.origin + callback.pathname, `http://${DOMAIN}/lnurlp/${payee.username}/callback`);
    assert.equal(callback.searchParams.get("amount"), "2100000"); // msat
    assert.equal(callback.searchParams.get("comment"), comment);
    const hash = utils.getHashFromInvoice(got.invoice);
    assert.match(hash, /^[0-9a-f]{64}$/);
    assert.deepEqual(got.rawData.routes, []);
    assert.equal(got.rawData.verify, `http://${DOMAIN}/lnurlp/${payee.username}/verify/${hash}`);
    assert.equal(got.successAction, undefined);

    const verify = transport();
    assert.deepEqual(await verify({ url: got.rawData.verify }), { status: "OK", settled: false, preimage: null, pr: got.invoice });
    assert.equal(got.validatePreimage("00".repeat(32)), false);

    const paid = await hub.call("POST", "/v1/payments/lightning", { body: { payment_request: got.invoice }, token: payer.access_token, headers: key() });
    assert.equal(paid.status, 200, JSON.stringify(paid.json));
    assert.equal(paid.json.status, "succeeded");
    assert.equal(paid.json.payment_hash, hash);
    assert.equal(paid.json.amount_msat, 2_100_000);
    assert.equal(paid.json.fee_msat, 0); // a hub invoice: paid inside the hub
    assert.equal(got.validatePreimage(paid.json.preimage), true); // lnurl-pay: SHA-256(preimage) is the invoice's hash
    assert.equal(await balance(payer), 2_900_000);
    assert.equal(await balance(payee), 2_100_000);

    const invoice = await hub.call("GET", `/v1/invoices/${hash}`, { token: payee.access_token });
    assert.equal(invoice.json.status, "paid");
    assert.equal(invoice.json.amount_msat, 2_100_000);
    assert.equal(invoice.json.comment, comment); // LUD-12: kept with the invoice, for the payee

    const verified = await verify({ url: got.rawData.verify });
    assert.deepEqual(verified, { status: "OK", settled: true, preimage: paid.json.preimage, pr: got.invoice });
    assert.equal(sha256(verified.preimage), hash);
  });

  test("lnurl-pay refuses a tampered answer: an invoice of another amount, metadata its invoice does not commit to, an invoice without the description hash", async () => {
    const payee = await hub.account(0, "lnp_");
    const address = `${payee.username}@${DOMAIN}`;
    const honest = transport();
    const isCallback = (url) => new URL(url).pathname.endsWith("/callback");

    // The hub's own invoice for 1 sat more, signed and committed to the right metadata.
    const moreAmount = ({ url, params }) => honest({ url, params: isCallback(url) ? { ...params, amount: params.amount + 1_000 } : params });
    await assert.rejects(requestInvoice({ lnUrlOrAddress: address, tokens: 2_100, validateInvoice: true, fetchGet: moreAmount }), /Invalid invoice amount 2101\. Expected 2100/);
    // The check is the option's: without it lnurl-pay only reports what it found.
    const unchecked = await requestInvoice({ lnUrlOrAddress: address, tokens: 2_100, fetchGet: moreAmount });
    assert.equal(unchecked.hasValidAmount, false);
    assert.equal(unchecked.hasValidDescriptionHash, true);

    // The payRequest's metadata altered on the way: the invoice commits to the hub's.
    const otherMetadata = async ({ url, params }) => {
      const json = await honest({ url, params });
      return isCallback(url) ? json : { ...json, metadata: json.metadata.replace("Pay ", "Send ") };
    };
    await assert.rejects(requestInvoice({ lnUrlOrAddress: address, tokens: 2_100, validateInvoice: true, fetchGet: otherMetadata }), /description hash doesn't match metadata hash/);

    // An ordinary invoice of the payee, of the right amount, in place of the callback's.
    const plain = await hub.call("POST", "/v1/invoices", { body: { amount_sat: 2_100, memo: `Pay ${payee.username} on Flash` }, token: payee.access_token });
    assert.equal(plain.status, 201, JSON.stringify(plain.json));
    const swapped = async ({ url, params }) => {
      const json = await honest({ url, params });
      return isCallback(url) ? { ...json, pr: plain.json.payment_request } : json;
    };
    await assert.rejects(requestInvoice({ lnUrlOrAddress: address, tokens: 2_100, validateInvoice: true, fetchGet: swapped }), /description hash doesn't match metadata hash/);
  });

  test("a bech32 lnurl1… of the hub's own http URL, fetched by lnurl-pay's own client (no injection)", async () => {
    const payee = await hub.account(0, "lnp_");
    const url = `${hub.url}/.well-known/lnurlp/${payee.username}`;
    const lnurl = lnurlOf(url);
    assert.match(lnurl, /^lnurl1/);
    for (const spelling of [lnurl, lnurl.toUpperCase(), `lightning:${lnurl.toUpperCase()}`]) {
      assert.equal(utils.isLnurl(spelling), true);
      assert.equal(utils.decodeUrlOrAddress(spelling), url);
    }

    const host = new URL(hub.url).host;
    const got = await requestInvoice({ lnUrlOrAddress: lnurl.toUpperCase(), tokens: 1_000, comment: "by LNURL", validateInvoice: true });
    assert.equal(got.params.identifier, `${payee.username}@${host}`);
    assert.equal(got.params.callback, `${hub.url}/lnurlp/${payee.username}/callback`);
    assert.equal(got.hasValidAmount, true);
    assert.equal(got.hasValidDescriptionHash, true);
    assert.match(got.invoice, /^lnbcrt10u1/);
    assert.equal(got.rawData.verify, `${hub.url}/lnurlp/${payee.username}/verify/${utils.getHashFromInvoice(got.invoice)}`);
  });

  test("an unknown user: lnurl-pay throws, by address and by LNURL", async () => {
    const nobody = `nobody_${randomBytes(6).toString("hex")}`;
    // The hub's {status: "ERROR"} (404) is not a payRequest, and lnurl-pay says so.
    await assert.rejects(requestPayServiceParams({ lnUrlOrAddress: `${nobody}@${DOMAIN}`, fetchGet: transport() }), /Invalid pay service params/);
    await assert.rejects(requestInvoice({ lnUrlOrAddress: `${nobody}@${DOMAIN}`, tokens: 1, validateInvoice: true, fetchGet: transport() }), /Invalid pay service params/);
    // Its own client (axios) fails on the 404.
    await assert.rejects(requestPayServiceParams({ lnUrlOrAddress: lnurlOf(`${hub.url}/.well-known/lnurlp/${nobody}`) }), /status code 404/);
  });
});
