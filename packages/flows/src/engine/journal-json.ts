/** How the journals keep values: JSON text, an output past a size limit replaced by a marker. */

/** Largest JSON kept for one item's or step's output; past it a marker says what was dropped. */
export const MAX_JSON = 256 * 1024;

/** `limit`: a failed item's `$item` has none, since retry --failed runs the item from it. */
export function toJson(value: unknown, limit = MAX_JSON): string | null {
  if (value === undefined) return null;
  const text = JSON.stringify(value);
  if (text === undefined) return null;
  if (text.length <= limit) return text;
  return JSON.stringify({ $truncated: `the value was ${text.length} bytes of JSON; the journal keeps ${MAX_JSON}. Shape it with the step's output.` });
}

export function fromJson<T>(text: string | null | undefined): T | undefined {
  return text === null || text === undefined ? undefined : (JSON.parse(text) as T);
}
