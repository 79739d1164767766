import type { Op } from "./workload";

/**
 * Delta debugging (Zeller's ddmin) over an operation list: the shortest sub-list it finds on which
 * `fails` still holds. Each try runs the sub-list on fresh accounts (test/sim/runner.ts), so it
 * stops at a budget of tries or time; what it has then is the shortest found, not the shortest there is.
 */
export async function shrink(ops: readonly Op[], fails: (ops: readonly Op[]) => Promise<boolean>, budget: { tries: number; until: number }): Promise<{ ops: Op[]; tries: number }> {
  let current = [...ops];
  let n = 2;
  let tries = 0;
  const spent = () => tries >= budget.tries || Date.now() > budget.until;
  while (current.length >= 2 && !spent()) {
    const size = Math.ceil(current.length / n);
    const chunks = Array.from({ length: Math.ceil(current.length / size) }, (_, i) => current.slice(i * size, (i + 1) * size));
    let reduced = false;
    // A chunk alone, then everything but a chunk.
    for (const candidate of [...chunks, ...chunks.map((_, i) => chunks.filter((__, j) => j !== i).flat())]) {
      if (spent()) break;
      if (candidate.length === 0 || candidate.length === current.length) continue;
      tries++;
      if (await fails(candidate)) {
        const wasChunk = chunks.includes(candidate);
        current = candidate;
        n = wasChunk ? 2 : Math.max(n - 1, 2);
        reduced = true;
        break;
      }
    }
    if (!reduced) {
      if (n >= current.length) break;
      n = Math.min(n * 2, current.length);
    }
  }
  return { ops: current, tries };
}
