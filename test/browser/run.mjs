// The web app in a real browser (issue 13, point 3): Debian's Chromium (/usr/bin/chromium, `apt-get install
// chromium`; never a browser download) driven by playwright-core, against a hub started as `npm start` starts
// it (scripts/dev.mjs: the web app built, wrangler dev with the LND simulator), on its own port and storage.
// Two users sign up, fund themselves from the faucet, chat, pay in chat, ask and pay a request, talk and pay in a
// group, exchange an end-to-end encrypted message (read in clear by the other, ciphertext at the hub: checked through the API),
// a third user with TOTP on logs in with their code, one pays an outside invoice and a Lightning Address, and a point of sale sees "Paid" when the simulated outside world pays its invoice. Any console error, page
// error or CSP violation fails the run. Screenshots go to test/browser/artifacts/ (git-ignored);
// `--screenshot` also writes docs/screenshot.png (the README's).
//
//   npm run test:browser [-- --screenshot]    (CHROMIUM=<path> for another Chromium binary)
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { Secret, TOTP } from "otpauth";
import { chromium } from "playwright-core";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const ARTIFACTS = join(ROOT, "test/browser/artifacts");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const PASSWORD = "correct horse battery staple";
const TIMEOUT_MS = 20_000;

/** The app's CSP (web/public/_headers): its own origin only, nothing inline. */
const APP_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const freePort = () =>
  new Promise((done, fail) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
    server.on("error", fail);
  });

/** `npm start`'s hub (scripts/dev.mjs) on a free port, with a storage of its own; stopped with its process group. */
async function startHub() {
  const port = await freePort();
  const state = mkdtempSync(join(tmpdir(), "flash-browser-"));
  const child = spawn(process.execPath, [join(ROOT, "scripts/dev.mjs"), "--persist-to", state], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), LOG_LEVEL: "warn" },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const url = `http://127.0.0.1:${port}`;
  const stop = () => {
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {}
    rmSync(state, { recursive: true, force: true });
  };
  const deadline = Date.now() + 180_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the hub exited (${child.exitCode}):\n${output}`);
    try {
      const res = await fetch(`${url}/health`);
      if (res.ok && (await res.json()).environment === "development") return { url, stop };
    } catch {}
    if (Date.now() > deadline) {
      stop();
      throw new Error(`the hub did not answer /health within 180 s:\n${output}`);
    }
    await sleep(500);
  }
}

async function call(url, method, path, { token, body, headers = {} } = {}) {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { ...(body ? { "content-type": "application/json" } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, headers: res.headers, json: await res.json().catch(() => null) };
}

test("two users in Chromium: sign up, faucet, chat, pay in chat, a request, a group, encrypted text, TOTP login, invoice and address, point of sale", { timeout: 600_000 }, async () => {
  assert.ok(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM)`);
  mkdirSync(ARTIFACTS, { recursive: true });
  const hub = await startHub();
  const browser = await chromium.launch({ executablePath: CHROMIUM });
  const problems = [];
  /** Refusals the scenario provokes on purpose (Chromium logs them as console errors): who, status, path. */
  const expectedRefusals = [];
  try {
    // The page and the API, each served by what should serve it.
    const page0 = await fetch(`${hub.url}/`);
    assert.equal(page0.status, 200);
    assert.match(page0.headers.get("content-type"), /^text\/html/);
    assert.equal(page0.headers.get("content-security-policy"), APP_CSP);
    for (const path of ["/health", "/openapi.json", "/v1/no-such-route", "/.well-known/lnurlp/nobody", "/lndhub/getinfo", "/no-such-file"]) {
      const res = await fetch(`${hub.url}${path}`);
      assert.match(res.headers.get("content-type") ?? "", /^application\/json/, `${path} is the Worker's`);
      assert.match(res.headers.get("content-security-policy") ?? "", /^default-src 'none'/, `${path} has the Worker's CSP`);
    }

    const suffix = Date.now().toString(36).slice(-6);
    const names = { alice: `alice_${suffix}`, bob: `bob_${suffix}` };
    const open = async (who) => {
      const context = await browser.newContext({ viewport: { width: 1180, height: 760 }, colorScheme: "light" });
      const page = await context.newPage();
      page.setDefaultTimeout(TIMEOUT_MS);
      // Chromium reports a CSP violation on the console too; this names it whatever the console says.
      await page.addInitScript(() =>
        document.addEventListener("securitypolicyviolation", (e) => console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline"}`)),
      );
      page.on("console", (m) => {
        if (m.type() !== "error") return;
        // Chromium logs every 4xx answer on the console; the ones the scenario asks for are expected once each.
        const i = expectedRefusals.findIndex((r) => r.who === who && m.text().includes(`status of ${r.status}`) && m.location().url === `${hub.url}${r.path}`);
        if (i >= 0) expectedRefusals.splice(i, 1);
        else problems.push(`${who} console: ${m.text()} (${m.location().url})`);
      });
      page.on("pageerror", (e) => problems.push(`${who} page error: ${e.message}`));
      await page.goto(hub.url);
      return page;
    };
    const shot = (page, name) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
    const live = (page) => page.locator('[data-testid="stream-status"]', { hasText: /^live$/ }).waitFor();
    const balance = (page, text) => page.locator('[data-testid="balance"]', { hasText: new RegExp(`^${text}$`) }).waitFor();

    // Sign up, both of them, each in a browser profile of their own (their own IndexedDB).
    const alice = await open("alice");
    const bob = await open("bob");
    for (const [page, name] of [[alice, names.alice], [bob, names.bob]]) {
      await page.getByLabel("Username").fill(name);
      await page.getByLabel("Password").fill(PASSWORD);
      await page.getByRole("button", { name: "Create account" }).click();
      await page.getByTestId("username").filter({ hasText: name }).waitFor();
      await live(page);
    }
    await shot(alice, "01-signed-up");

    // The faucet (POST /dev/faucet, through the app's button), balance updated live.
    await alice.getByRole("button", { name: "Get 100,000 test sat" }).click();
    await balance(alice, "100,000 sat");
    await bob.getByRole("button", { name: "Get 100,000 test sat" }).click();
    await balance(bob, "100,000 sat");

    // Alice opens a direct conversation and sends bob an end-to-end encrypted message (the default there).
    await alice.getByRole("link", { name: "Chat" }).click();
    await alice.getByLabel(/^With/).fill(names.bob);
    await alice.getByRole("button", { name: "Start conversation" }).click();
    await alice.getByRole("checkbox", { name: "Encrypt end to end" }).waitFor();
    assert.ok(await alice.getByRole("checkbox", { name: "Encrypt end to end" }).isChecked());
    const secret = `the door code is ${suffix}`;
    await alice.getByLabel("Message", { exact: true }).fill(secret);
    await alice.getByRole("button", { name: "Send", exact: true }).click();
    await alice.getByTestId("messages").getByText(secret).waitFor();

    // Alice pays bob in the chat; bob, on his wallet page, sees his balance move without reloading.
    await alice.getByLabel("Message", { exact: true }).fill("for the pizza");
    await alice.getByLabel("Amount (sat)").fill("1500");
    await alice.getByRole("button", { name: "Pay", exact: true }).click();
    await alice.getByTestId("messages").getByText(`paid 1,500 sat to ${names.bob}`).waitFor();
    await balance(bob, "101,500 sat");
    await shot(bob, "02-bob-paid-live");

    // Bob reads the encrypted message in clear, and asks alice for 700 sat.
    await bob.getByRole("link", { name: "Chat" }).click();
    await bob.getByRole("button", { name: new RegExp(names.alice) }).click();
    await bob.getByTestId("messages").getByText(secret).waitFor();
    await bob.getByLabel("Message", { exact: true }).fill("your half of the taxi");
    await bob.getByLabel("Amount (sat)").fill("700");
    await bob.getByRole("button", { name: "Request", exact: true }).click();
    await bob.getByTestId("messages").getByText("requests 700 sat").waitFor();

    // Alice sees the request arrive and pays it; bob sees it paid.
    await alice.getByRole("button", { name: "Pay 700 sat" }).click();
    await alice.getByTestId("messages").getByText("(paid)").waitFor();
    await bob.getByTestId("messages").getByText("(paid)").waitFor();
    await shot(alice, "03-alice-chat");
    await shot(bob, "04-bob-chat");

    // A group: alice, bob and carol (signed up through the API); plain text there, and a payment to one member.
    const carol = `carol_${suffix}`;
    assert.equal((await call(hub.url, "POST", "/v1/accounts", { body: { username: carol, password: PASSWORD } })).status, 201);
    await alice.getByLabel(/^With/).fill(`${names.bob}, ${carol}`);
    await alice.getByLabel("Title").fill("Lunch crew");
    await alice.getByRole("button", { name: "Start conversation" }).click();
    await alice.getByRole("heading", { name: /Lunch crew \(group of 3\)/ }).waitFor();
    assert.equal(await alice.getByRole("checkbox", { name: "Encrypt end to end" }).count(), 0, "no encryption offered in a group");
    await alice.getByLabel("Message", { exact: true }).fill("lunch at noon?");
    await alice.getByRole("button", { name: "Send", exact: true }).click();
    await alice.getByLabel("Message", { exact: true }).fill("carol's sandwich");
    await alice.getByLabel("Amount (sat)").fill("300");
    await alice.getByLabel("Pay whom").selectOption(carol);
    await alice.getByRole("button", { name: "Pay", exact: true }).click();
    await alice.getByTestId("messages").getByText(`paid 300 sat to ${carol}`).waitFor();
    await bob.getByRole("button", { name: /Lunch crew/ }).click();
    await bob.getByTestId("messages").getByText("lunch at noon?").waitFor();
    await bob.getByTestId("messages").getByText(`paid 300 sat to ${carol}`).waitFor();
    await shot(bob, "05-bob-group");

    // Carol turns TOTP on (through the API, as an authenticator app would be set up) and logs in in the
    // browser: the app asks for the code when the hub says it is needed. The code of the next step: the
    // hub refuses a step already used (the confirmation's) and accepts one step either side.
    const carolLogin = await call(hub.url, "POST", "/v1/auth/login", { body: { username: carol, password: PASSWORD } });
    const enrolled = await call(hub.url, "POST", "/v1/account/totp", { token: carolLogin.json.access_token });
    assert.equal(enrolled.status, 201, JSON.stringify(enrolled.json));
    const totp = new TOTP({ secret: Secret.fromBase32(enrolled.json.secret), algorithm: "SHA1", digits: 6, period: 30 });
    const confirmed = await call(hub.url, "POST", "/v1/account/totp/confirm", { token: carolLogin.json.access_token, body: { code: totp.generate() } });
    assert.equal(confirmed.status, 200, JSON.stringify(confirmed.json));
    const carolPage = await open("carol");
    await carolPage.getByRole("button", { name: "Log in", pressed: false }).click();
    await carolPage.getByLabel("Username").fill(carol);
    await carolPage.getByLabel("Password").fill(PASSWORD);
    expectedRefusals.push({ who: "carol", status: 401, path: "/v1/auth/login" }); // totp_required: the app asks for the code
    await carolPage.locator("form").getByRole("button", { name: "Log in" }).click();
    await carolPage.getByLabel("Authenticator code").fill(totp.generate({ timestamp: Date.now() + 30_000 }));
    await carolPage.locator("form").getByRole("button", { name: "Log in" }).click();
    await carolPage.getByTestId("username").filter({ hasText: carol }).waitFor();
    await balance(carolPage, "300 sat");
    await shot(carolPage, "05-carol-totp-login");

    // The hub's stored copy of the encrypted message is ciphertext: bob's session through the API.
    const login = await call(hub.url, "POST", "/v1/auth/login", { body: { username: names.bob, password: PASSWORD } });
    assert.equal(login.status, 200);
    const token = login.json.access_token;
    const conversations = await call(hub.url, "GET", "/v1/conversations", { token });
    const conversation = conversations.json.conversations.find((c) => c.kind === "direct" && c.members.some((m) => m.username === names.alice));
    assert.ok(conversation, "bob has a conversation with alice");
    const messages = (await call(hub.url, "GET", `/v1/conversations/${conversation.conversation_id}/messages`, { token })).json.messages;
    const encrypted = messages.filter((m) => m.kind === "encrypted");
    assert.equal(encrypted.length, 1, JSON.stringify(messages));
    assert.equal(encrypted[0].text, null);
    assert.match(encrypted[0].ciphertext, /^[A-Za-z0-9+/]+=*$/);
    assert.ok(!encrypted[0].ciphertext.includes(suffix) && !Buffer.from(encrypted[0].ciphertext, "base64").toString("latin1").includes(suffix), "the stored copy holds no clear text");
    assert.ok(messages.every((m) => !(m.text ?? "").includes(suffix)), "no message carries the secret in clear");
    const wallets = await call(hub.url, "GET", "/v1/wallet", { token });
    assert.equal(wallets.json.balance_msat, (100_000 + 1_500 + 700) * 1000);

    // Point of sale: bob charges 2,100 sat; the outside world pays the invoice; "Paid" appears.
    await bob.getByRole("link", { name: "Point of sale" }).click();
    await bob.getByLabel("Amount (sat)").fill("2100");
    await bob.getByLabel("Description").fill("two coffees");
    await bob.getByRole("button", { name: "Charge" }).click();
    await bob.getByRole("img", { name: "Lightning invoice for 2,100 sat" }).waitFor();
    const paymentRequest = await bob.getByTestId("payment-request").inputValue();
    assert.match(paymentRequest, /^lnbcrt21u/);
    await shot(bob, "06-pos-invoice");
    const paid = await call(hub.url, "POST", "/dev/sim/pay", { body: { payment_request: paymentRequest } });
    assert.equal(paid.status, 200, JSON.stringify(paid.json));
    await bob.getByTestId("invoice-status").filter({ hasText: "Paid ✓" }).waitFor();
    await shot(bob, "07-pos-paid");

    await alice.getByRole("link", { name: "Wallet" }).click();
    await balance(alice, "97,500 sat");

    // Alice sends from the Send page: an invoice of the outside world, then bob's Lightning Address.
    const outside = await call(hub.url, "POST", "/dev/sim/invoices", { body: { amount_sat: 400, memo: "outside" } });
    assert.equal(outside.status, 200, JSON.stringify(outside.json));
    await alice.getByRole("link", { name: "Send" }).click();
    await alice.getByLabel(/^To/).fill(outside.json.payment_request);
    await alice.getByRole("button", { name: "Send", exact: true }).click();
    await alice.getByRole("status").filter({ hasText: "Invoice payment succeeded." }).waitFor();
    const address = (await call(hub.url, "GET", `/v1/users/${names.bob}`, { token })).json.lightning_address;
    await alice.getByLabel(/^To/).fill(address);
    await alice.getByLabel(/^Amount/).fill("250");
    await alice.getByLabel(/^Comment/).fill("thanks");
    await alice.getByRole("button", { name: "Send", exact: true }).click();
    await alice.getByRole("status").filter({ hasText: `Payment to ${address} succeeded.` }).waitFor();
    const aliceToken = (await call(hub.url, "POST", "/v1/auth/login", { body: { username: names.alice, password: PASSWORD } })).json.access_token;
    const aliceTx = (await call(hub.url, "GET", "/v1/wallet/transactions", { token: aliceToken })).json.transactions;
    const fees = aliceTx.reduce((sum, t) => sum + t.fee_msat, 0);
    await alice.getByRole("link", { name: "Wallet" }).click();
    await balance(alice, ((97_500_000 - 400_000 - 250_000 - fees) / 1000).toLocaleString("en", { maximumFractionDigits: 3 }) + " sat");
    await alice.getByTestId("history").getByText(`to ${names.bob}`).first().waitFor();
    await shot(alice, "08-alice-wallet");

    if (process.argv.includes("--screenshot")) {
      await alice.getByRole("link", { name: "Chat" }).click();
      await alice.getByRole("button", { name: new RegExp(names.bob) }).click();
      await alice.getByTestId("messages").getByText(secret).waitFor();
      await alice.screenshot({ path: join(ROOT, "docs/screenshot.png") });
      console.log("wrote docs/screenshot.png");
    }
    assert.deepEqual(problems, [], "no console error, page error or CSP violation");
    assert.deepEqual(expectedRefusals, [], "every refusal the scenario provoked was seen");
  } catch (error) {
    for (const [i, context] of browser.contexts().entries()) await context.pages()[0]?.screenshot({ path: join(ARTIFACTS, `failed-${i}.png`), fullPage: true }).catch(() => {});
    if (problems.length) console.error(`console problems meanwhile:\n  ${problems.join("\n  ")}`);
    throw error;
  } finally {
    await browser.close().catch(() => {});
    hub.stop();
  }
});
