/**
 * The candidate a mistyped word most likely meant, or undefined when none is close:
 * at most one edit in four characters (two at most), a swap of neighbours counting
 * one; failing that, the only candidate the word begins (`max` for `max-turns`).
 *
 * @example
 * closest("stauts", ["status", "list"]) // "status"
 */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const typed = word.toLowerCase();
  if (!typed) return undefined;
  const allowed = Math.min(2, Math.max(1, Math.floor(typed.length / 4)));
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const d = distance(typed, candidate.toLowerCase());
    if (d <= allowed && (!best || d < best.distance)) best = { candidate, distance: d };
  }
  if (best) return best.candidate;
  const started = typed.length >= 3 ? candidates.filter((c) => c.toLowerCase().startsWith(typed)) : [];
  return started.length === 1 ? started[0] : undefined;
}

/** Edits (insert, delete, replace, swap of neighbours) from `a` to `b`: optimal string alignment. */
export function distance(a: string, b: string): number {
  // rows[i][j]: edits from a's first i characters to b's first j.
  const rows = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number) => rows[i]![j]!;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, at(i - 2, j - 2) + 1);
      rows[i]![j] = best;
    }
  }
  return at(a.length, b.length);
}
