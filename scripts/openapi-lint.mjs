// `npm test`'s lint of the OpenAPI document (issue 13, point 4): the document the app serves
// (scripts/openapi-document.mjs) linted by Redocly's CLI with its recommended rules. Errors fail;
// warnings are printed. Offline: Redocly's telemetry and update check are switched off.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { root, writeOpenApiDocument } from "./openapi-document.mjs";

const dir = mkdtempSync(join(tmpdir(), "flash-hub-openapi-lint-"));
try {
  const file = join(dir, "openapi.json");
  await writeOpenApiDocument(file);
  const { status } = spawnSync(join(root, "node_modules/.bin/redocly"), ["lint", "--extends", "recommended", "--format", "stylish", file], {
    cwd: dir,
    stdio: "inherit",
    env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" },
  });
  if (status !== 0) {
    console.error("openapi: Redocly's recommended rules report errors in GET /openapi.json (above)");
    process.exit(1);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
