// Writes the git-ignored .dev.vars that `wrangler dev` reads: development mode, a freshly
// generated JWT signing key, TOTP sealing key and operator key (ADMIN_API_KEY). Existing values are kept, so tokens (and
// enrolled TOTP secrets) survive restarts.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { webcrypto } from "node:crypto";

const path = new URL("../.dev.vars", import.meta.url);
const current = existsSync(path) ? readFileSync(path, "utf8") : "";
const has = (name) => new RegExp(`^${name}=`, "m").test(current);
const lines = [];
if (!has("ENVIRONMENT")) lines.push("ENVIRONMENT=development");
if (!has("BITCOIN_NETWORK")) lines.push("BITCOIN_NETWORK=regtest"); // the simulator's chain
if (!has("JWT_PRIVATE_JWK")) {
  const { privateKey } = await webcrypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]);
  const jwk = await webcrypto.subtle.exportKey("jwk", privateKey);
  lines.push(`JWT_PRIVATE_JWK='${JSON.stringify({ kty: jwk.kty, crv: jwk.crv, x: jwk.x, d: jwk.d })}'`);
}
if (!has("TOTP_ENCRYPTION_KEY")) lines.push(`TOTP_ENCRYPTION_KEY=${Buffer.from(webcrypto.getRandomValues(new Uint8Array(32))).toString("base64")}`);
if (!has("ADMIN_API_KEY")) lines.push(`ADMIN_API_KEY=fha_${Buffer.from(webcrypto.getRandomValues(new Uint8Array(32))).toString("hex")}`);
if (lines.length) writeFileSync(path, (current && !current.endsWith("\n") ? current + "\n" : current) + lines.join("\n") + "\n", { mode: 0o600 });
