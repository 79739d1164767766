import { env, exports } from "cloudflare:workers";
import { it, expect } from "vitest";
it("works", async () => {
  const s = (env as any).WALLET.get((env as any).WALLET.idFromName("x"));
  expect(await s.ping()).toBe("pong");
  const r = await (exports as any).default.fetch("http://x/");
  expect(await r.text()).toBe("ok");
});
