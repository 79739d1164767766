/**
 * The Prometheus text exposition format, version 0.0.4 (what `GET /metrics` answers): one `# HELP`
 * and one `# TYPE` line per family, then its samples; label values and help text escaped as the
 * format says; histograms as cumulative `_bucket{le="…"}` lines ending with `le="+Inf"`, then `_sum`
 * and `_count`. Pure: the families are built elsewhere (src/metrics/families.ts).
 */

/** The answer's Content-Type (the format's own). */
export const EXPOSITION_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

export type Labels = Readonly<Record<string, string>>;

export interface Sample {
  labels: Labels;
  value: number;
}

export interface HistogramSample {
  labels: Labels;
  /** Observations per bucket, not cumulative: one per bound, then one past the last bound (`+Inf`). */
  buckets: readonly number[];
  sum: number;
}

export type Family =
  | { name: string; help: string; type: "counter" | "gauge"; samples: readonly Sample[] }
  | { name: string; help: string; type: "histogram"; bounds: readonly number[]; samples: readonly HistogramSample[] };

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** A label value as the format writes it between quotes: `\` → `\\`, `"` → `\"`, line feed → `\n`. */
export function escapeLabelValue(value: string): string {
  return /[\\"\n]/.test(value) ? value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n") : value;
}

/** Help text as the format writes it: `\` → `\\`, line feed → `\n` (quotes stay). */
export function escapeHelp(help: string): string {
  return help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

/** A sample value: integers as digits, `+Inf`, `-Inf`, `NaN`, other numbers as JavaScript writes them (Go's ParseFloat reads them all). */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

/** `{a="1",b="2"}` (names in the order given, `extra` last), or nothing for no labels. */
function labelText(labels: Labels, extra?: [string, string]): string {
  const pairs: string[] = [];
  for (const [name, value] of Object.entries(labels)) {
    if (!LABEL_NAME.test(name) || name.startsWith("__")) throw new Error(`invalid label name ${JSON.stringify(name)}`);
    pairs.push(`${name}="${escapeLabelValue(value)}"`);
  }
  if (extra) pairs.push(`${extra[0]}="${escapeLabelValue(extra[1])}"`);
  return pairs.length ? `{${pairs.join(",")}}` : "";
}

/** Samples in a stable order: by their labels, as written. */
const byLabels = <S extends { labels: Labels }>(samples: readonly S[]): S[] =>
  samples
    .map((s) => ({ s, key: labelText(s.labels) }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map(({ s }) => s);

/** The whole exposition: every family in the order given, each name once; ends with a line feed. */
export function renderExposition(families: readonly Family[]): string {
  const lines: string[] = [];
  const seen = new Set<string>();
  for (const family of families) {
    if (!METRIC_NAME.test(family.name)) throw new Error(`invalid metric name ${JSON.stringify(family.name)}`);
    if (seen.has(family.name)) throw new Error(`metric ${family.name} twice`);
    seen.add(family.name);
    lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`, `# TYPE ${family.name} ${family.type}`);
    if (family.type !== "histogram") {
      for (const s of byLabels(family.samples)) lines.push(`${family.name}${labelText(s.labels)} ${formatValue(s.value)}`);
      continue;
    }
    const { bounds } = family;
    if (bounds.some((b, i) => !Number.isFinite(b) || (i > 0 && b <= bounds[i - 1]!))) throw new Error(`${family.name}: bounds must be finite and increasing`);
    for (const s of byLabels(family.samples)) {
      if ("le" in s.labels) throw new Error(`${family.name}: "le" is the bucket's label`);
      if (s.buckets.length !== bounds.length + 1) throw new Error(`${family.name}: ${s.buckets.length} buckets for ${bounds.length} bounds`);
      let cumulative = 0;
      for (let i = 0; i <= bounds.length; i++) {
        cumulative += s.buckets[i]!;
        const le = i < bounds.length ? formatValue(bounds[i]!) : "+Inf";
        lines.push(`${family.name}_bucket${labelText(s.labels, ["le", le])} ${formatValue(cumulative)}`);
      }
      lines.push(`${family.name}_sum${labelText(s.labels)} ${formatValue(s.sum)}`, `${family.name}_count${labelText(s.labels)} ${formatValue(cumulative)}`);
    }
  }
  return lines.join("\n") + "\n";
}

/** The bucket an observation falls in: the first bound it does not exceed (`le`), or the last (+Inf). */
export function bucketIndex(bounds: readonly number[], value: number): number {
  let lo = 0;
  let hi = bounds.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (value <= bounds[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
