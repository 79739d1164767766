// The clients' sizes (issue 13, point 6), reported by the benchmark's summary:
//   sdk_bundle_kb_gzip: @flash-hub/sdk as an app's bundler ships it (sdk/src/index.ts and everything it
//     imports, one minified ES module for browsers, by esbuild), gzipped;
//   web_first_load_kb_gzip: the JavaScript the web app's first visit loads (web/build.mjs builds web/dist and
//     measures what index.html loads), gzipped. Both at gzip level 9.
import { join } from "node:path";
import { build } from "esbuild";
import { buildWeb, gzipKb } from "../../web/build.mjs";
import { ROOT } from "./build.mjs";

const round1 = (x) => Math.round(x * 10) / 10;

export async function clientSizes() {
  const sdk = await build({
    entryPoints: [join(ROOT, "sdk/src/index.ts")],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    write: false,
    logLevel: "silent",
  });
  const web = await buildWeb();
  return { sdk_bundle_kb_gzip: round1(gzipKb(sdk.outputFiles[0].contents)), web_first_load_kb_gzip: round1(web.kb_gzip) };
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(JSON.stringify(await clientSizes()));
