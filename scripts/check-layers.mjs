// The layering rules, checked on the source text (run by `npm test` before the suites):
//   src/ imports nothing from workers/, durable/ or the Cloudflare runtime;
//   durable/ imports nothing from workers/;
//   no actor file (durable/*-actor.ts) imports another: actors meet through durable/ports.ts.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve, dirname } from "node:path";

const root = resolve(dirname(new URL(import.meta.url).pathname), "..");
const files = (dir) =>
  readdirSync(join(root, dir)).flatMap((name) => {
    const path = join(dir, name);
    return statSync(join(root, path)).isDirectory() ? files(path) : path.endsWith(".ts") ? [path] : [];
  });
const importsOf = (file) =>
  [...readFileSync(join(root, file), "utf8").matchAll(/^\s*(?:import|export)\s[^;]*?from\s+"([^"]+)"/gms)].map((m) => m[1]);
const target = (file, spec) => (spec.startsWith(".") ? relative(root, resolve(root, dirname(file), spec)) : spec);

const problems = [];
for (const file of files("src")) {
  for (const spec of importsOf(file)) {
    const t = target(file, spec);
    if (t.startsWith("workers") || t.startsWith("durable") || spec.startsWith("cloudflare:")) problems.push(`${file} imports ${spec}: src/ must not depend on the runtime or upper layers`);
  }
}
for (const file of files("durable")) {
  for (const spec of importsOf(file)) {
    const t = target(file, spec);
    if (t.startsWith("workers")) problems.push(`${file} imports ${spec}: durable/ must not depend on workers/`);
    if (/-actor\.ts$/.test(file) && /^durable\/[^/]+-actor(\.ts)?$/.test(t)) problems.push(`${file} imports ${spec}: actors reach each other through durable/ports.ts`);
  }
}
if (problems.length) {
  console.error(`layering: ${problems.length} problem(s)\n  ${problems.join("\n  ")}`);
  process.exit(1);
}
console.log(`layering: ok (${files("src").length + files("durable").length} files of src/ and durable/ checked)`);
