import { bodyLimit } from "hono/body-limit";
import { ApiError } from "../src/errors";
import { errorJson, onError } from "./errors";
import { wellFormedJson } from "./middleware/well-formed";
import { hardening } from "./middleware/hardening";
import { rateLimits } from "./middleware/rate-limits";
import { requestMetrics } from "./middleware/metrics";
import { healthRoute, newRouter, serveOpenApiDocument } from "./openapi";
import { accounts } from "./routes/accounts";
import { admin } from "./routes/admin";
import { audit } from "./routes/audit";
import { chat } from "./routes/chat";
import { dev } from "./routes/dev";
import { payments } from "./routes/payments";
import { rewards } from "./routes/rewards";
import { security } from "./routes/security";
import { lightning } from "./routes/lightning";
import { onchain } from "./routes/onchain";
import { lndhub, lndhubCredentials } from "./routes/lndhub";
import { lnurlPayments, lnurlPublic } from "./routes/lnurl";
import { limits } from "./routes/limits";
import { metrics } from "./routes/metrics";
import { users } from "./routes/users";
import { wallet } from "./routes/wallet";
import { webhooks } from "./routes/webhooks";

/** Requests larger than this are refused before they are read. */
const MAX_BODY_BYTES = 64 * 1024;

export function createApp() {
  const app = newRouter();
  app.onError(onError);
  app.notFound((c) => errorJson(c, 404, "not_found", `no route ${c.req.method} ${new URL(c.req.url).pathname}`));
  // First: it times everything below, refusals included (in memory, no I/O: docs/decisions/0022).
  app.use("*", requestMetrics);
  app.use(
    "*",
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw new ApiError("payload_too_large", `request bodies are limited to ${MAX_BODY_BYTES} bytes`);
      },
    }),
  );

  app.use("*", ...hardening(app));
  app.use("*", ...rateLimits);
  app.use("*", wellFormedJson);

  app.openapi(healthRoute, (c) => c.json({ ok: true as const, service: "flash-hub" as const, environment: c.env.ENVIRONMENT }, 200));
  app.route("/", accounts);
  app.route("/", wallet);
  app.route("/", payments);
  app.route("/", lightning);
  app.route("/", onchain);
  app.route("/", lndhubCredentials);
  app.route("/", lndhub);
  app.route("/", lnurlPublic);
  app.route("/", lnurlPayments);
  app.route("/", chat);
  app.route("/", webhooks);
  app.route("/", users);
  app.route("/", limits);
  app.route("/", security);
  app.route("/", audit);
  app.route("/", rewards);
  app.route("/", admin);
  app.route("/", metrics);
  app.route("/", dev);

  serveOpenApiDocument(app);
  return app;
}
