// The web app's build (decision 0019): Preact's JSX through Vite's own transform (no plugin), the SDK
// from its source, one entry, no inline script (the app's CSP allows scripts from its origin only).
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  resolve: { alias: { "@flash-hub/sdk": fileURLToPath(new URL("../sdk/src/index.ts", import.meta.url)) } },
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    // The polyfill would be a script of its own; every browser this targets preloads modules already.
    modulePreload: { polyfill: false },
    // Inlined assets would be data: URLs, which the CSP does not allow.
    assetsInlineLimit: 0,
    reportCompressedSize: false,
  },
});
