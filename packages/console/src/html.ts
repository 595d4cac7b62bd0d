/**
 * The one way pages make HTML: a tagged template where every interpolated value is escaped unless
 * it is already `Html` (another `html` template, or `raw()` of text we wrote ourselves).
 *
 *   html`<p class="${cls}">${userText}</p>`          // both escaped
 *   html`<ul>${items.map((i) => html`<li>${i}</li>`)}</ul>`   // arrays are joined
 *
 * null, undefined and false render as nothing, so `${cond && html`...`}` works.
 */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

export type HtmlValue = Html | string | number | boolean | null | undefined | readonly HtmlValue[];

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => ESCAPES[c]!);
}

function render(value: HtmlValue): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return value.map((v: HtmlValue) => render(v)).join('');
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): Html {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1]!;
  return new Html(out);
}

/** Text that is already HTML we produced (never user or DAM data). */
export function raw(text: string): Html {
  return new Html(text);
}

/** JSON for an attribute such as `data-x="${json(v)}"`: escaped like any other value by `html`. */
export function json(value: unknown): string {
  return JSON.stringify(value);
}
