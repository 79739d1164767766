// A strict reader of the Prometheus text exposition format, version 0.0.4, as its specification
// (prometheus.io, "Exposition formats") writes it, for the metrics tests: it throws on anything the
// format does not allow, where Prometheus's own parser would refuse the scrape or keep something else.
//   # HELP <name> <text: \\ and \n escaped>        # TYPE <name> counter|gauge|histogram|summary|untyped
//   <name>{<label>="<value: \\, \" and \n escaped>",…} <float> [<timestamp ms>]
// Checked besides: names and label names by their grammar; HELP and TYPE at most once per family and
// before its samples; a family's lines together; no series twice; histograms' buckets per series with
// `le`, in increasing order, cumulative, ending at +Inf equal to `_count`, and a `_sum`.

export interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface ParsedFamily {
  name: string;
  type: string;
  help: string;
  samples: ParsedSample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const FLOAT = /^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|Inf|NaN)$/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

function parseValue(text: string, line: string): number {
  if (!FLOAT.test(text)) throw new Error(`not a float: ${JSON.stringify(text)} in ${JSON.stringify(line)}`);
  if (/^[+]?Inf$/.test(text)) return Infinity;
  if (text === "-Inf") return -Infinity;
  if (/NaN/.test(text)) return NaN;
  return Number(text);
}

function unescapeHelp(text: string, line: string): string {
  return text.replace(/\\(.?)/g, (_, c: string) => {
    if (c === "\\") return "\\";
    if (c === "n") return "\n";
    throw new Error(`invalid escape in HELP: ${JSON.stringify(line)}`);
  });
}

/** One sample line: name, labels, value (an optional timestamp is read and dropped). */
function parseSampleLine(line: string): ParsedSample {
  let i = 0;
  while (i < line.length && line[i] !== "{" && line[i] !== " ") i++;
  const name = line.slice(0, i);
  if (!METRIC_NAME.test(name)) throw new Error(`invalid metric name in ${JSON.stringify(line)}`);
  const labels: Record<string, string> = {};
  if (line[i] === "{") {
    i++;
    while (line[i] !== "}") {
      let j = i;
      while (j < line.length && line[j] !== "=") j++;
      const label = line.slice(i, j);
      if (!LABEL_NAME.test(label)) throw new Error(`invalid label name ${JSON.stringify(label)} in ${JSON.stringify(line)}`);
      if (label in labels) throw new Error(`label ${label} twice in ${JSON.stringify(line)}`);
      if (line[j + 1] !== '"') throw new Error(`label value not quoted in ${JSON.stringify(line)}`);
      let value = "";
      let k = j + 2;
      for (;;) {
        if (k >= line.length) throw new Error(`unterminated label value in ${JSON.stringify(line)}`);
        const c = line[k]!;
        if (c === '"') break;
        if (c === "\\") {
          const e = line[k + 1];
          if (e === "\\") value += "\\";
          else if (e === '"') value += '"';
          else if (e === "n") value += "\n";
          else throw new Error(`invalid escape \\${e} in ${JSON.stringify(line)}`);
          k += 2;
          continue;
        }
        value += c;
        k++;
      }
      labels[label] = value;
      i = k + 1;
      if (line[i] === ",") i++;
      else if (line[i] !== "}") throw new Error(`expected , or } in ${JSON.stringify(line)}`);
    }
    i++;
  }
  if (line[i] !== " ") throw new Error(`expected a space before the value in ${JSON.stringify(line)}`);
  const rest = line.slice(i + 1).split(" ");
  if (rest.length > 2 || rest.some((r) => r === "")) throw new Error(`expected a value and an optional timestamp in ${JSON.stringify(line)}`);
  if (rest[1] !== undefined && !/^-?\d+$/.test(rest[1])) throw new Error(`invalid timestamp in ${JSON.stringify(line)}`);
  return { name, labels, value: parseValue(rest[0]!, line) };
}

const seriesKey = (s: ParsedSample) => `${s.name}${JSON.stringify(Object.entries(s.labels).sort(([a], [b]) => a.localeCompare(b)))}`;

/** The family a sample belongs to: its own name, or a histogram's/summary's base name for its suffixes. */
function familyOf(name: string, families: Map<string, ParsedFamily>): string {
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    if (!name.endsWith(suffix)) continue;
    const base = name.slice(0, -suffix.length);
    const type = families.get(base)?.type;
    if (type === "histogram" || (type === "summary" && suffix !== "_bucket")) return base;
  }
  return name;
}

/** Reads a whole exposition; throws on the first thing the format does not allow. */
export function parsePrometheusText(text: string): Map<string, ParsedFamily> {
  if (text.length > 0 && !text.endsWith("\n")) throw new Error("the exposition must end with a line feed");
  const families = new Map<string, ParsedFamily>();
  const closed = new Set<string>();
  const series = new Set<string>();
  let current: string | null = null;
  const enter = (name: string) => {
    if (name === current) return;
    if (closed.has(name)) throw new Error(`lines of ${name} are not together`);
    if (current) closed.add(current);
    current = name;
  };
  const family = (name: string) => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { name, type: "untyped", help: "", samples: [] }));
    return f;
  };
  const typed = new Set<string>();
  const helped = new Set<string>();
  for (const line of text.split("\n").slice(0, -1)) {
    if (line === "") continue;
    if (line.startsWith("#")) {
      const m = line.match(/^# (HELP|TYPE) (\S+)(?: (.*))?$/);
      if (!m) continue; // a comment
      const [, keyword, name, rest = ""] = m;
      if (!METRIC_NAME.test(name!)) throw new Error(`invalid metric name in ${JSON.stringify(line)}`);
      enter(name!);
      const f = family(name!);
      if (keyword === "HELP") {
        if (helped.has(name!)) throw new Error(`a second HELP for ${name}`);
        helped.add(name!);
        f.help = unescapeHelp(rest, line);
      } else {
        if (typed.has(name!)) throw new Error(`a second TYPE for ${name}`);
        if (f.samples.length) throw new Error(`TYPE of ${name} after its samples`);
        if (!TYPES.has(rest)) throw new Error(`unknown type in ${JSON.stringify(line)}`);
        typed.add(name!);
        f.type = rest;
      }
      continue;
    }
    const sample = parseSampleLine(line);
    const name = familyOf(sample.name, families);
    enter(name);
    const key = seriesKey(sample);
    if (series.has(key)) throw new Error(`series twice: ${line}`);
    series.add(key);
    family(name).samples.push(sample);
  }
  for (const f of families.values()) if (f.type === "histogram") checkHistogram(f);
  return families;
}

function checkHistogram(f: ParsedFamily): void {
  const groups = new Map<string, { buckets: [number, number][]; sum?: number; count?: number }>();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort(([a], [b]) => a.localeCompare(b)));
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { buckets: [] }));
    if (s.name === `${f.name}_bucket`) {
      if (le === undefined) throw new Error(`${f.name}_bucket without le`);
      g.buckets.push([parseValue(le, le), s.value]);
    } else if (le !== undefined) throw new Error(`${s.name} with le`);
    else if (s.name === `${f.name}_sum`) g.sum = s.value;
    else if (s.name === `${f.name}_count`) g.count = s.value;
    else throw new Error(`${s.name} in histogram ${f.name}`);
  }
  for (const [key, g] of groups) {
    const where = `${f.name}${key}`;
    if (g.sum === undefined || g.count === undefined) throw new Error(`${where}: no _sum or _count`);
    if (!g.buckets.length || g.buckets[g.buckets.length - 1]![0] !== Infinity) throw new Error(`${where}: the last bucket is not +Inf`);
    for (let i = 1; i < g.buckets.length; i++) {
      if (!(g.buckets[i]![0] > g.buckets[i - 1]![0])) throw new Error(`${where}: bounds not increasing`);
      if (g.buckets[i]![1] < g.buckets[i - 1]![1]) throw new Error(`${where}: buckets not cumulative`);
    }
    if (g.buckets[g.buckets.length - 1]![1] !== g.count) throw new Error(`${where}: +Inf bucket ${g.buckets[g.buckets.length - 1]![1]} is not _count ${g.count}`);
  }
}

/** The value of one series of a family (labels matched exactly), or undefined. */
export function valueOf(families: Map<string, ParsedFamily>, name: string, labels: Record<string, string> = {}, family = name): number | undefined {
  const want = JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)));
  return families.get(family)?.samples.find((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort(([a], [b]) => a.localeCompare(b))) === want)?.value;
}
