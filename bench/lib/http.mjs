// A lean keep-alive HTTP client for the load generator, which shares the machine's cores with
// workerd. undici's Pool (installed with wrangler/miniflare) costs ~45–60 µs of Node CPU per
// request here, node:http ~65–80 µs, global fetch ~170–300 µs (measured against GET /health);
// node:http is the fallback when undici cannot be loaded.
import http from "node:http";
import { createRequire } from "node:module";
import { join } from "node:path";
import { ROOT } from "./build.mjs";

let undici = null;
try {
  undici = createRequire(join(ROOT, "package.json"))("undici");
} catch {
  undici = null;
}

export const clientKind = undici ? `undici ${undiciVersion()}` : "node:http";

function undiciVersion() {
  try {
    return createRequire(join(ROOT, "package.json"))("undici/package.json").version;
  } catch {
    return "?";
  }
}

/**
 * `client.request(method, path, { headers, body }) → Promise<{ status, text }>`.
 * One connection per concurrent caller, kept alive; `connections` bounds them.
 */
export function createClient(baseUrl, { connections = 256 } = {}) {
  if (undici) {
    const pool = new undici.Pool(baseUrl, { connections, pipelining: 1, keepAliveTimeout: 600_000, keepAliveMaxTimeout: 600_000, headersTimeout: 60_000, bodyTimeout: 60_000 });
    return {
      async request(method, path, { headers, body } = {}) {
        const res = await pool.request({ method, path, headers, body });
        return { status: res.statusCode, text: await res.body.text() };
      },
      close: () => pool.close(),
    };
  }
  const url = new URL(baseUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  return {
    request(method, path, { headers, body } = {}) {
      return new Promise((resolve, reject) => {
        const req = http.request({ host: url.hostname, port: url.port, method, path, headers, agent }, (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (d) => (text += d));
          res.on("end", () => resolve({ status: res.statusCode, text }));
          res.on("error", reject);
        });
        req.on("error", reject);
        req.end(body);
      });
    },
    close: async () => agent.destroy(),
  };
}
