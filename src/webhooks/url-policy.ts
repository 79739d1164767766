/**
 * Which webhook endpoint URLs a partner may register (no SSRF through the hub's deliveries).
 *
 * Production: `https:` only, no credentials, at most 2048 characters, and a host that is neither a
 * non-public IP literal nor a local name. The host is judged as the URL parser normalises it, which is
 * also what fetch() will connect to: every IPv4 spelling (`2130706433`, `0x7f.1`, `0177.0.0.1`, `127.1`)
 * becomes a dotted quad, IPv6 becomes its compressed form (`[::ffff:7f00:1]`), names are lowercased
 * and IDNA-encoded. Store and deliver to the returned `url.href`, not the raw input.
 * Development: the same, and also `http:` or `https:` to 127.0.0.1, [::1] or localhost on any port,
 * so a local receiver can test.
 *
 * DNS is not resolved (a Worker cannot): a public name whose records point at a private address is
 * not caught here. Workers' outbound fetch cannot reach private networks anyway; what this policy adds
 * is refusing the obvious cases with a clear 400. The delivery MUST NOT follow redirects (fetch with
 * `redirect: "manual"`, a 3xx is a failed attempt): a redirect would lead past this check.
 */

export const WEBHOOK_URL_MAX_LENGTH = 2048;

export type WebhookUrlCheck = { ok: true; url: URL } | { ok: false; reason: string };

const refuse = (reason: string): WebhookUrlCheck => ({ ok: false, reason });

/** Hosts a development hub may call over plain http (the local receiver), as the parser spells them. */
const DEVELOPMENT_HOSTS = new Set(["127.0.0.1", "[::1]", "localhost"]);

/** Names that are local by convention or reservation (RFC 6761, 6762, 8375; ICANN's .internal). */
const LOCAL_SUFFIXES = ["localhost", "local", "internal", "home.arpa", "lan", "localdomain"];

/** [first address, prefix length, what it is] */
type Range4 = readonly [string, number, string];
const NON_PUBLIC_V4: readonly Range4[] = [
  ["0.0.0.0", 8, "a \"this network\" address"],
  ["10.0.0.0", 8, "a private address"],
  ["100.64.0.0", 10, "a shared (CGNAT) address"],
  ["127.0.0.0", 8, "a loopback address"],
  ["169.254.0.0", 16, "a link-local address"],
  ["172.16.0.0", 12, "a private address"],
  ["192.0.0.0", 24, "an IETF protocol address"],
  ["192.0.2.0", 24, "a documentation address"],
  ["192.88.99.0", 24, "a 6to4 relay address"],
  ["192.168.0.0", 16, "a private address"],
  ["198.18.0.0", 15, "a benchmarking address"],
  ["198.51.100.0", 24, "a documentation address"],
  ["203.0.113.0", 24, "a documentation address"],
  ["224.0.0.0", 4, "a multicast address"],
  ["255.255.255.255", 32, "the broadcast address"],
  ["240.0.0.0", 4, "a reserved address"],
];

const DOTTED_QUAD = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** A dotted quad → its 32 bits, or null. */
function ipv4ToNumber(text: string): number | null {
  const m = DOTTED_QUAD.exec(text);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return null;
  return parts.reduce((n, p) => n * 256 + p, 0);
}

const inRange4 = (ip: number, [first, bits]: Range4): boolean => {
  const size = 2 ** (32 - bits);
  const start = ipv4ToNumber(first)!;
  return ip >= start && ip < start + size;
};

/** Why an IPv4 address is not public, or null if it is. */
function nonPublicV4(ip: number): string | null {
  return NON_PUBLIC_V4.find((r) => inRange4(ip, r))?.[2] ?? null;
}

/** An IPv6 literal (no brackets, no zone) → its 8 groups, or null. Takes a trailing dotted quad too. */
function parseIpv6(text: string): number[] | null {
  let s = text.toLowerCase();
  const tail: number[] = [];
  const quad = /^(.*:)(\d{1,3}(?:\.\d{1,3}){3})$/.exec(s);
  if (quad) {
    const v4 = ipv4ToNumber(quad[2]!);
    if (v4 === null) return null;
    tail.push(Math.floor(v4 / 65536), v4 % 65536);
    s = quad[1]!.endsWith("::") ? quad[1]! : quad[1]!.slice(0, -1);
  }
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const groups = (half: string): number[] | null => {
    if (half === "") return [];
    const out: number[] = [];
    for (const g of half.split(":")) {
      if (!/^[0-9a-f]{1,4}$/.test(g)) return null;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = groups(halves[0]!);
  const rest = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !rest) return null;
  const given = head.length + rest.length + tail.length;
  if (halves.length === 2 ? given > 7 : given !== 8) return null;
  return [...head, ...Array<number>(8 - given).fill(0), ...rest, ...tail];
}

/** Why an IPv6 address is not public, or null if it is. */
function nonPublicV6(g: number[]): string | null {
  const [g0, g1, , , , g5, g6, g7] = g as [number, number, number, number, number, number, number, number];
  const zeros = (n: number) => g.slice(0, n).every((x) => x === 0);
  // ::ffff:a.b.c.d is the IPv4 address it carries.
  if (zeros(5) && g5 === 0xffff) {
    const why = nonPublicV4(g6 * 65536 + g7);
    return why === null ? null : `${why} (IPv4-mapped)`;
  }
  if (zeros(7) && g7 === 1) return "a loopback address";
  if (zeros(8)) return "the unspecified address";
  if ((g0 & 0xfe00) === 0xfc00) return "a unique-local address";
  if ((g0 & 0xffc0) === 0xfe80) return "a link-local address";
  if ((g0 & 0xffc0) === 0xfec0) return "a site-local address";
  if ((g0 & 0xff00) === 0xff00) return "a multicast address";
  // Only 2000::/3 is global unicast; below it sit ::/8 (IPv4-compatible, NAT64 64:ff9b::/96, …),
  // 100::/64 discard-only and others.
  if ((g0 & 0xe000) !== 0x2000) return "a reserved address";
  if (g0 === 0x2001 && g1 === 0x0db8) return "a documentation address";
  if (g0 === 0x2001 && g1 < 0x0200) return "an IETF protocol address (Teredo, benchmarking, ORCHID, …)";
  if (g0 === 0x2002) return "a 6to4 address";
  if (g0 === 0x3fff && g1 < 0x1000) return "a documentation address";
  return null;
}

/** Why a host (as URL.hostname spells it) is not a public one, or null if it is. */
function nonPublicHost(hostname: string): string | null {
  if (hostname.startsWith("[")) {
    const groups = parseIpv6(hostname.slice(1, -1));
    return groups === null ? "an unreadable IPv6 address" : nonPublicV6(groups);
  }
  const v4 = ipv4ToNumber(hostname);
  if (v4 !== null) return nonPublicV4(v4);
  const name = hostname.endsWith(".") ? hostname.slice(0, -1) : hostname;
  const labels = name.split(".");
  if (labels.some((l) => l === "")) return "a name with an empty label";
  if (labels.length < 2) return "a single-label name";
  const local = LOCAL_SUFFIXES.find((suffix) => name === suffix || name.endsWith(`.${suffix}`));
  if (local !== undefined) return `a local name (.${local})`;
  return null;
}

/** Whether `raw` may be a webhook endpoint; if so, the parsed URL to store and deliver to. */
export function checkWebhookUrl(raw: string, opts: { development: boolean }): WebhookUrlCheck {
  if (typeof raw !== "string" || raw.length === 0) return refuse("the URL is empty");
  if (raw.length > WEBHOOK_URL_MAX_LENGTH) return refuse(`the URL is longer than ${WEBHOOK_URL_MAX_LENGTH} characters`);
  // The parser would silently drop these (and read "\" as "/"): refuse what other readers may see otherwise.
  if (/[\x00-\x20\x7f\\]/.test(raw)) return refuse("the URL contains spaces, control characters or backslashes");
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return refuse("not a valid absolute URL");
  }
  if (url.href.length > WEBHOOK_URL_MAX_LENGTH) return refuse(`the URL is longer than ${WEBHOOK_URL_MAX_LENGTH} characters`);
  if (url.protocol !== "https:" && url.protocol !== "http:") return refuse("the URL must be https://");
  if (url.username !== "" || url.password !== "") return refuse("the URL must not carry credentials");
  if (opts.development && DEVELOPMENT_HOSTS.has(url.hostname)) return { ok: true, url };
  if (url.protocol !== "https:") return refuse(opts.development ? "the URL must be https:// (or http:// to 127.0.0.1, [::1] or localhost in development)" : "the URL must be https://");
  const why = nonPublicHost(url.hostname);
  if (why !== null) return refuse(`the host is ${why}`);
  return { ok: true, url };
}
