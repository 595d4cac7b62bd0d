/** Plain-text tables for results people read (`--json` gives the same data as JSON). */

export type Row = readonly string[];

/** The width of each column over all the rows given (header included). */
export function columnWidths(rows: readonly Row[]): number[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return widths;
}

/** Rows as aligned lines, columns two spaces apart; the last column is not padded. */
export function formatRows(rows: readonly Row[], widths = columnWidths(rows), indent = ''): string[] {
  return rows.map(
    (row) =>
      indent +
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
  );
}

/** A header row and its rows as a table. */
export function table(header: Row, rows: readonly Row[], indent = ''): string {
  return formatRows([header, ...rows], undefined, indent).join('\n');
}

/** Field / value pairs, one per line, the names aligned. */
export function keyValues(pairs: ReadonlyArray<readonly [string, string]>, indent = ''): string {
  return formatRows(
    pairs.map(([k, v]) => [`${k}:`, v]),
    undefined,
    indent,
  ).join('\n');
}
