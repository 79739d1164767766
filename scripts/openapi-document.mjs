// The hub's OpenAPI document as the app serves it (`GET /openapi.json`), made in Node without
// workerd: the app (workers/app.ts) is bundled with esbuild and asked for the document. Creating
// the app constructs no actor, so the one runtime module in its graph (`cloudflare:workers`, whose
// `DurableObject` the actor classes extend) is stood in for by an empty base class. Used by the
// lint step and by the SDK's type generation (scripts/openapi-lint.mjs, scripts/openapi-sdk-types.mjs).
import { build } from "esbuild";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** The origin the dumped document names as its server: where `npm start` serves the hub. */
export const DEV_ORIGIN = "http://127.0.0.1:8787";

const runtimeStandIn = {
  name: "cloudflare-runtime-stand-in",
  setup(b) {
    b.onResolve({ filter: /^cloudflare:workers$/ }, () => ({ path: "cloudflare:workers", namespace: "stand-in" }));
    b.onLoad({ filter: /.*/, namespace: "stand-in" }, () => ({
      contents: "export class DurableObject { constructor(ctx, env) { this.ctx = ctx; this.env = env; } }",
      loader: "js",
    }));
  },
};

/** The document, as the app answers `GET /openapi.json` at DEV_ORIGIN in development. */
export async function openApiDocument() {
  const dir = mkdtempSync(join(tmpdir(), "flash-hub-openapi-"));
  try {
    const out = join(dir, "app.mjs");
    await build({
      stdin: { contents: 'export { createApp } from "./workers/app.ts";', resolveDir: root, loader: "ts" },
      bundle: true,
      platform: "neutral",
      mainFields: ["module", "main"],
      conditions: ["workerd", "worker", "import"],
      format: "esm",
      outfile: out,
      plugins: [runtimeStandIn],
      logLevel: "error",
    });
    const { createApp } = await import(pathToFileURL(out).href);
    const res = await createApp().request(`${DEV_ORIGIN}/openapi.json`, {}, { ENVIRONMENT: "development" });
    if (res.status !== 200) throw new Error(`GET /openapi.json answered ${res.status}: ${await res.text()}`);
    return await res.json();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Writes the document to `path` (pretty-printed, as committed files are). */
export async function writeOpenApiDocument(path) {
  const doc = await openApiDocument();
  writeFileSync(path, `${JSON.stringify(doc, null, 2)}\n`);
  return doc;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const path = process.argv[2];
  if (path) await writeOpenApiDocument(resolve(path));
  else process.stdout.write(`${JSON.stringify(await openApiDocument(), null, 2)}\n`);
}
