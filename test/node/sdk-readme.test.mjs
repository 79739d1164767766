// The SDK in Node 22 (global fetch and WebSocket, real TCP): every example of sdk/README.md marked
// `<!-- example -->` runs, in order, against a hub bundled and served by workerd (./hub.mjs), after
// the accounts the README assumes are made (alice, funded, and bob). Each example is bundled with
// esbuild as an app would bundle the package (`@flash-hub/sdk` → sdk/src/index.ts) and imported; its
// `http://127.0.0.1:8787` is this hub's address. An example that throws fails; so does one whose
// money did not move as it says. The examples are typechecked as well, against the SDK's generated types.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { execFileSync } from "node:child_process";
import { copyFileSync } from "node:fs";
import { createRequire } from "node:module";
import { build } from "esbuild";
import { START_TIMEOUT_MS, startHub } from "./hub.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const PASSWORD = "correct horse battery staple";

/** The README's runnable examples: the ```ts block after each `<!-- example -->`. */
const examples = [...readFileSync(join(root, "sdk/README.md"), "utf8").matchAll(/<!-- example -->\s*```ts\n([\s\S]*?)```/g)].map((m) => m[1]);

let hub;
let scratch;
let alice;
let bob;

before(async () => {
  hub = await startHub("sdk-readme");
  scratch = mkdtempSync(join(tmpdir(), "flash-sdk-readme-"));
  for (const username of ["alice", "bob"]) {
    const created = await hub.call("POST", "/v1/accounts", { body: { username, password: PASSWORD } });
    assert.equal(created.status, 201, JSON.stringify(created.json));
  }
  const login = await hub.call("POST", "/v1/auth/login", { body: { username: "alice", password: PASSWORD } });
  alice = login.json.access_token;
  const funded = await hub.call("POST", "/dev/faucet", { body: { amount_sat: 100_000 }, token: alice, headers: { "idempotency-key": "readme-funding" } });
  assert.equal(funded.status, 200, JSON.stringify(funded.json));
  bob = (await hub.call("POST", "/v1/auth/login", { body: { username: "bob", password: PASSWORD } })).json.access_token;
}, { timeout: START_TIMEOUT_MS });

after(async () => {
  await hub?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/** Bundles one example (the SDK and its packages inside, as an app's bundler would) and runs it. */
async function run(code, index) {
  const outfile = join(scratch, `example-${index}.mjs`);
  await build({
    stdin: { contents: code.replaceAll("http://127.0.0.1:8787", hub.url), loader: "ts", resolveDir: root, sourcefile: `sdk/README.md example ${index + 1}` },
    bundle: true,
    format: "esm",
    platform: "neutral",
    mainFields: ["module", "main"],
    alias: { "@flash-hub/sdk": join(root, "sdk/src/index.ts") },
    outfile,
    logLevel: "error",
  });
  const logged = [];
  const log = console.log;
  console.log = (...args) => logged.push(args.join(" "));
  try {
    await import(pathToFileURL(outfile).href);
  } finally {
    console.log = log;
  }
  return logged;
}

const balanceOf = async (token) => (await hub.call("GET", "/v1/wallet", { token })).json.balance_msat;

describe("sdk/README.md's examples run against the hub", () => {
  test("the README has its examples", () => {
    assert.ok(examples.length >= 6, `found ${examples.length}`);
    assert.equal(examples[0].trim().split("\n").length, 5, "paying someone takes five lines");
  });

  test("each example typechecks against the SDK (browsers' standard library, strict)", () => {
    const ts = createRequire(import.meta.url)("typescript");
    const files = examples.map((code, i) => {
      const file = join(scratch, `example-${i}.ts`);
      writeFileSync(file, code);
      return file;
    });
    const program = ts.createProgram(files, {
      strict: true,
      noEmit: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ES2022,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      lib: ["lib.es2023.d.ts", "lib.dom.d.ts", "lib.dom.iterable.d.ts"],
      types: [],
      skipLibCheck: true,
      allowImportingTsExtensions: true,
      paths: { "@flash-hub/sdk": [join(root, "sdk/src/index.ts")] },
    });
    const problems = ts.getPreEmitDiagnostics(program).map((d) => {
      const where = d.file ? `${d.file.fileName.replace(scratch, "README")}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}` : "";
      return `${where} ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`;
    });
    assert.deepEqual(problems, []);
  });

  test("each example runs, in order", { timeout: 120_000 }, async () => {
    const bobBefore = await balanceOf(bob);
    const outputs = [];
    for (const [i, code] of examples.entries()) outputs.push(await run(code, i));
    // Five lines paid bob 1,000 sat; the chat paid 500 more, and the Lightning Address 500.
    assert.deepEqual(outputs[0], ["succeeded 1000000"]);
    assert.equal(await balanceOf(bob), bobBefore + 2_000_000);
    assert.equal(await balanceOf(alice), 100_000_000 - 2_000_000);
    assert.deepEqual(outputs[1].slice(0, 1), ["50000000"]);
    const chat = outputs.find((o) => o.some((line) => line.includes("→")));
    assert.match(chat.find((line) => line.includes("→")), /→ the door code is 4242$/);
    assert.ok(!chat.join("\n").includes("4242 →"), "the stored message is ciphertext");
  });
});

describe("the SDK as published", () => {
  test("`npm run build`'s output (sdk/tsconfig.json, ES modules and declarations) loads in Node and calls the hub", { timeout: 120_000 }, async () => {
    // Inside the repository (git-ignored .cache/), so the build's imports find the packages as an app's would.
    const out = join(root, ".cache", `sdk-dist-${process.pid}`);
    after(() => rmSync(out, { recursive: true, force: true }));
    execFileSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", join(root, "sdk/tsconfig.json"), "--outDir", out], { stdio: "inherit" });
    copyFileSync(join(root, "sdk/src/schema.d.ts"), join(out, "sdk/src/schema.d.ts"));
    const declarations = readFileSync(join(out, "sdk/src/index.d.ts"), "utf8");
    assert.match(declarations, /from "\.\/schema"/);
    const { FlashHub, newEncryptionKey } = await import(pathToFileURL(join(out, "sdk/src/index.js")).href);
    const client = new FlashHub({ baseUrl: hub.url });
    await client.logIn("bob", PASSWORD);
    assert.equal(typeof (await client.wallet()).balance_msat, "number");
    assert.match(await client.publishEncryptionKey(newEncryptionKey()), /^[0-9a-f]{64}$/);
  });
});
