// The V8 inspector (Chrome DevTools protocol) of a workerd isolate: `startWorkerd({ inspector: true })`
// serves it; CPU profiles (bench/profile.mjs) and heap figures (bench/lib/memory-probe.mjs) use it.

/** The hub's isolate among workerd's inspector targets (the first one if none is named for it). */
export async function hubInspector(inspectorUrl) {
  const targets = await (await fetch(`${inspectorUrl}/json/list`)).json();
  const target = targets.find((t) => /hub/.test(`${t.title} ${t.url} ${t.id}`)) ?? targets[0];
  return { target, inspector: await connectInspector(target.webSocketDebuggerUrl) };
}

/** A DevTools-protocol session over the target's WebSocket: `send(method, params)` resolves with the result. */
export function connectInspector(url) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    let seq = 0;
    const waiting = new Map();
    ws.addEventListener("message", (e) => {
      const msg = JSON.parse(e.data);
      const w = waiting.get(msg.id);
      if (!w) return;
      waiting.delete(msg.id);
      if (msg.error) w.reject(new Error(`${msg.error.message}`));
      else w.resolve(msg.result);
    });
    ws.addEventListener("error", () => reject(new Error(`cannot connect to the inspector at ${url}`)));
    ws.addEventListener("open", () =>
      resolve({
        send: (method, params = {}) =>
          new Promise((res, rej) => {
            const id = ++seq;
            waiting.set(id, { resolve: res, reject: rej });
            ws.send(JSON.stringify({ id, method, params }));
          }),
        close: () => ws.close(),
      }),
    );
  });
}
