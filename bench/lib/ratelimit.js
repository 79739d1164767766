// Cloudflare's rate-limiting binding (`[[ratelimits]]`) for the hub served by workerd directly
// (bench/lib/build.mjs wraps each binding of wrangler.toml around this module). Production counts in
// the runtime, without a request per call; Miniflare 5 simulates it with a Durable Object (a loopback
// call per check), which would measure Miniflare rather than the hub. So here the counters are in the
// isolate's memory, with Miniflare's rule: a fixed window of `period` seconds aligned to the clock,
// `limit` calls per key in it, the call over it refused.
const windows = new Map(); // `${name}\n${key}` → { until (the window's end, ms), count }

class RateLimit {
  constructor({ name, limit, period }) {
    this.name = name;
    this.max = limit;
    this.period = period;
  }

  async limit({ key = "", ...rest }) {
    if (Object.keys(rest).length) throw new Error(`bad rate limit options: [${Object.keys(rest).join(",")}]`);
    const now = Date.now();
    const id = `${this.name}\n${key}`;
    let w = windows.get(id);
    if (!w || w.until <= now) {
      if (windows.size >= 100_000) for (const [k, v] of windows) if (v.until <= now) windows.delete(k);
      const span = this.period * 1000;
      windows.set(id, (w = { until: (Math.floor(now / span) + 1) * span, count: 0 }));
    }
    if (w.count >= this.max) return { success: false };
    w.count++;
    return { success: true };
  }
}

export default function (env) {
  return new RateLimit(env);
}
