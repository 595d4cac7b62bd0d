/**
 * A full-text search term that finds assets by their name, for lookups that then compare names
 * exactly. The `q` grammar reads a quoted term starting with `#` as a tag and `-` / `+` as
 * operators, and a `"` would end the term, so those are left out; `undefined` when nothing
 * searchable is left (list the folder instead).
 */
export function nameSearchTerm(name: string): string | undefined {
  const stem = name
    .replace(/^.*\//, '')
    .replace(/\.[^.]*$/, '')
    .replace(/"/g, ' ')
    .replace(/^[\s#+-]+/, '')
    .trim();
  return stem ? `"${stem}"` : undefined;
}
