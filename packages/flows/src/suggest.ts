/** Known names close to `wanted`: holding it, or a few edits away; closest first. */
export function nearest(wanted: string, known: readonly string[], max = 3): string[] {
  const w = wanted.toLowerCase();
  return known
    .map((candidate) => {
      const c = candidate.toLowerCase();
      return { candidate, distance: c.includes(w) || (w.length >= 4 && w.includes(c)) ? 0 : editDistance(w, c) };
    })
    .filter(({ candidate, distance }) => distance <= Math.max(2, Math.floor(Math.min(w.length, candidate.length) / 3)))
    .sort((a, b) => a.distance - b.distance || a.candidate.localeCompare(b.candidate))
    .slice(0, max)
    .map((s) => s.candidate);
}

export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1)
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = current;
  }
  return previous[b.length]!;
}
