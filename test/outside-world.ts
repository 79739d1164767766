// The world outside the hub, for the tests: every fetch the hub (or a test) makes to the internet
// comes here (vitest.config.ts sets it as the Worker's outbound service). It runs in Node, beside
// workerd. Webhook receivers live under /hooks/<token>; what they received is read back from
// /_outside/recorded/<token>. A receiver behaves as its query says:
//   status=<code> (default 200)   fail_first=<n> (answer 500 to the first n, then `status`)
//   retry_after=<s> (with a non-2xx)   delay_ms=<ms> (answer late)   redirect=<url> (302 there)

interface Received {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
  at: number;
}

const received = new Map<string, Received[]>();

export async function outsideWorld(request: Request): Promise<Response> {
  const url = new URL(request.url);
  const inspect = url.pathname.match(/^\/_outside\/recorded\/([\w-]+)$/);
  if (inspect) return Response.json(received.get(inspect[1]!) ?? []);
  const hook = url.pathname.match(/^\/hooks\/([\w-]+)/);
  if (hook) {
    const token = hook[1]!;
    const list = received.get(token) ?? [];
    received.set(token, list);
    list.push({ method: request.method, url: request.url, headers: Object.fromEntries(request.headers), body: await request.text(), at: Date.now() });
    const q = url.searchParams;
    const delay = Number(q.get("delay_ms") ?? 0);
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    if (q.get("redirect")) return new Response(null, { status: 302, headers: { location: q.get("redirect")! } });
    const failing = list.length <= Number(q.get("fail_first") ?? 0);
    const status = failing ? 500 : Number(q.get("status") ?? 200);
    const headers: Record<string, string> = {};
    if (q.get("retry_after") && (status < 200 || status >= 300)) headers["retry-after"] = q.get("retry_after")!;
    return new Response(status >= 200 && status < 300 ? "ok" : `receiver says ${status}`, { status, headers });
  }
  return new Response("nothing lives here in the test world", { status: 404 });
}
