/** The Assets page's HTML: cards, the folder tree, the details panel. Routes are in assets.ts. */
import { cdnUrl, type FileObject, type FolderObject, type MetadataField, type MetaValue } from '@sfx/client';
import { html, type Html } from '../html.js';
import { chipOf, splitQuery, tagTerm, withoutTerm, withTerm } from './asset-query.js';

export interface ListState {
  folder: string;
  q: string;
  view: 'grid' | 'list';
  type: string;
}

export const TYPES: ReadonlyArray<{ id: string; label: string; mime: string }> = [
  { id: 'image', label: 'Images', mime: 'image/*' },
  { id: 'video', label: 'Videos', mime: 'video/*' },
  { id: 'document', label: 'Documents', mime: 'application/*' },
];

export function stateUrl(state: ListState, change: Partial<ListState> & { sel?: string } = {}, path = '/ui/assets'): string {
  const next = { ...state, ...change };
  const params = new URLSearchParams();
  if (next.folder && next.folder !== '/') params.set('folder', next.folder);
  if (next.q) params.set('q', next.q);
  if (next.view !== 'grid') params.set('view', next.view);
  if (next.type) params.set('type', next.type);
  if (change.sel) params.set('sel', change.sel);
  const query = params.toString();
  return query ? `${path}?${query}` : path;
}

export function bytes(file: FileObject): number | undefined {
  const size = file.size;
  return typeof size === 'number' ? size : size?.bytes;
}

export function prettyBytes(n: number | undefined): string {
  if (n === undefined) return '';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export function tagLabels(file: FileObject): string[] {
  const out: string[] = [];
  for (const refs of Object.values(file.tags ?? {})) for (const ref of refs as Array<{ label: string }>) out.push(ref.label);
  return [...new Set(out)];
}

/** The console's route of one asset; the uuid comes from the DAM, so it is encoded like any other path segment. */
export function fileRoute(file: { uuid: string }): string {
  return `/ui/assets/file/${encodeURIComponent(file.uuid)}`;
}

/** A URL the DAM gave, kept only when it is http(s): a `javascript:` one must never become a link. */
export function httpUrl(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const protocol = new URL(url).protocol;
    return protocol === 'https:' || protocol === 'http:' ? url : undefined;
  } catch {
    return undefined;
  }
}

function isImage(file: FileObject): boolean {
  return (file.type ?? '').startsWith('image/') && Boolean(httpUrl(file.url?.cdn));
}

/** A responsive thumbnail: the CDN resizes, the browser picks the size for its screen. */
function thumbnail(file: FileObject, size: number): Html {
  if (!isImage(file)) return html`<span class="thumb-none" aria-hidden="true">${(file.extension ?? file.name.split('.').pop() ?? '?').toUpperCase()}</span>`;
  const at = (w: number): string => cdnUrl(file, { w, h: w, func: 'crop', force_format: 'webp', q: 80 });
  return html`<img src="${at(size)}" srcset="${at(size)} 1x, ${at(size * 2)} 2x" width="${size}" height="${size}" alt="" loading="lazy" decoding="async">`;
}

export function card(file: FileObject, state: ListState): Html {
  const folder = file.folder?.name ?? '';
  return html`<li class="card" id="card-${file.uuid}">
<a href="${stateUrl(state, { sel: file.uuid })}" hx-get="${fileRoute(file)}" hx-target="#details" hx-push-url="false" data-uuid="${file.uuid}">
${thumbnail(file, 200)}
<span class="name">${file.name}</span>
<span class="meta-line">${prettyBytes(bytes(file))}${folder ? html` · ${folder}` : ''}</span>
</a>
</li>`;
}

/** One page of cards, then the element that loads the next page when scrolled into view (or clicked). */
export function cards(files: FileObject[], state: ListState, next: string | undefined): Html {
  return html`${files.map((f) => card(f, state))}${
    next
      ? html`<li class="more" id="more"><button type="button" hx-get="${stateUrl(state, {}, '/ui/assets/page')}${stateUrl(state).includes('?') ? '&' : '?'}cursor=${next}" hx-trigger="click, intersect once" hx-target="#more" hx-swap="outerHTML">Load more</button></li>`
      : ''
  }`;
}

export function chips(state: ListState, suggestions: string[]): Html {
  const terms = splitQuery(state.q);
  const active = terms.map((term) => {
    const chip = chipOf(term);
    return html`<li><a class="chip on" href="${stateUrl(state, { q: withoutTerm(state.q, term) })}" aria-label="Remove filter ${chip.label}">${chip.label} <span aria-hidden="true">×</span></a></li>`;
  });
  const types = TYPES.map((t) =>
    state.type === t.id
      ? html`<li><a class="chip on" href="${stateUrl(state, { type: '' })}" aria-label="Remove filter ${t.label}">${t.label} <span aria-hidden="true">×</span></a></li>`
      : html`<li><a class="chip" href="${stateUrl(state, { type: t.id })}">${t.label}</a></li>`,
  );
  const tags = suggestions
    .filter((label) => !terms.includes(tagTerm(label)))
    .slice(0, 8)
    .map((label) => html`<li><a class="chip" href="${stateUrl(state, { q: withTerm(state.q, tagTerm(label)) })}">#${label}</a></li>`);
  return html`<ul class="chips" aria-label="Filters">${active}${types}${tags}</ul>`;
}

export interface TreeLevel {
  path: string;
  folders: FolderObject[];
}

/** The folder tree down to the current folder: every level's folders, the open ones nested. */
export function tree(levels: TreeLevel[], state: ListState): Html {
  const render = (depth: number): Html => {
    const level = levels[depth];
    if (!level) return html``;
    return html`<ul>${level.folders.map((f) => {
      const open = levels[depth + 1]?.path === f.path;
      const current = f.path === state.folder;
      return html`<li>
<a href="${stateUrl(state, { folder: f.path })}"${current ? html` aria-current="page"` : ''}>${f.name}</a>
${open ? render(depth + 1) : ''}
</li>`;
    })}</ul>`;
  };
  return html`<nav class="tree" aria-label="Folders">
<h2>Folders</h2>
<a href="${stateUrl(state, { folder: '/' })}"${state.folder === '/' ? html` aria-current="page"` : ''}>All assets</a>
${render(0)}
</nav>`;
}

export interface DetailsInput {
  file: FileObject;
  fields: MetadataField[];
  state: ListState;
  notice?: Html;
}

function fieldTitle(field: MetadataField): string {
  const t = field.title;
  if (typeof t === 'string' && t) return t;
  if (t && typeof t === 'object') return t.en ?? Object.values(t)[0] ?? field.key;
  return field.key;
}

function valueText(value: MetaValue | undefined): string {
  if (value === undefined || value === null) return '';
  if (Array.isArray(value)) return value.join(', ');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function metaInput(field: MetadataField, value: MetaValue | undefined): Html {
  const id = `meta-${field.key}`;
  const name = `meta.${field.key}`;
  const required = field.required ? html` required aria-required="true"` : '';
  const type = field.type.toLowerCase();
  const label = html`<label for="${id}">${fieldTitle(field)}${field.required ? ' (required)' : ''}</label>`;
  const options = field.possible_values ?? [];
  if ((type === 'select' || type === 'multi-select') && options.length) {
    const selected = new Set(Array.isArray(value) ? value.map(String) : value === undefined || value === null ? [] : [String(value)]);
    return html`${label}<select id="${id}" name="${name}"${type === 'multi-select' ? ' multiple' : ''}${required}>
${type === 'select' ? html`<option value="">(none)</option>` : ''}
${options.map((o) => html`<option value="${o.api_value}"${selected.has(o.api_value) ? ' selected' : ''}>${typeof o.label === 'string' ? o.label : o.api_value}</option>`)}
</select>`;
  }
  if (type === 'boolean')
    return html`<span class="check"><input type="checkbox" id="${id}" name="${name}" value="true"${value === true || value === 'true' ? ' checked' : ''}> ${label}</span>`;
  if (type === 'textarea' || type === 'text-multiline' || type === 'longtext')
    return html`${label}<textarea id="${id}" name="${name}" rows="3"${required}>${valueText(value)}</textarea>`;
  const inputType = type === 'numeric' || type === 'number' ? 'number' : type === 'date' ? 'date' : 'text';
  return html`${label}<input id="${id}" name="${name}" type="${inputType}" value="${valueText(value)}"${inputType === 'number' ? ' step="any"' : ''}${required}>`;
}

export function details(input: DetailsInput): Html {
  const { file, fields, state } = input;
  const meta = file.meta ?? {};
  const modelled = new Set(fields.map((f) => f.key));
  // Keys the asset has that the model does not describe: editable as text, so nothing is hidden.
  const extra: MetadataField[] = Object.keys(meta)
    .filter((k) => !modelled.has(k))
    .map((key) => ({ key, type: 'text' }));
  const all = [...fields, ...extra];
  const tags = tagLabels(file);
  const cdn = httpUrl(file.url?.cdn);
  const original = httpUrl(file.url?.permalink) ?? httpUrl(file.url?.public) ?? cdn ?? '';
  return html`<div class="panel" data-uuid="${file.uuid}">
<div class="panel-head">
<h2 id="details-title" tabindex="-1">${file.name}</h2>
<a class="button close" href="${stateUrl(state)}" data-close-details aria-label="Close details">×</a>
</div>
${input.notice ?? ''}
${isImage(file) ? html`<img class="preview" src="${cdnUrl(file, { w: 480, func: 'bound', force_format: 'webp' })}" alt="${valueText(meta.alt ?? meta.title) || file.name}">` : ''}
<dl class="facts">
<dt>Type</dt><dd>${file.type ?? 'unknown'}</dd>
<dt>Size</dt><dd>${prettyBytes(bytes(file))}</dd>
<dt>Folder</dt><dd><a href="${stateUrl(state, { folder: file.folder?.name ?? '/', q: '' })}">${file.folder?.name ?? '/'}</a></dd>
<dt>Created</dt><dd>${file.created_at ?? ''}</dd>
</dl>

<h3>Metadata</h3>
<form class="stack" hx-post="${fileRoute(file)}/meta" hx-target="#details">
${all.length ? all.map((f) => html`<div class="field">${metaInput(f, meta[f.key])}</div>`) : html`<p class="hint">No metadata fields yet. Add one below, or define the project's metadata model.</p>`}
<fieldset class="inline"><legend>Add a field</legend>
<label for="new-meta-key" class="visually-hidden">New field name</label><input id="new-meta-key" name="newKey" placeholder="name">
<label for="new-meta-value" class="visually-hidden">New field value</label><input id="new-meta-value" name="newValue" placeholder="value">
</fieldset>
<button type="submit" class="primary">Save metadata</button>
</form>
${Object.keys(meta).length ? html`<p class="hint">Find assets with the same value: ${Object.entries(meta)
        .filter(([, v]) => typeof v === 'string' && v !== '' && v.length < 60)
        .slice(0, 4)
        .map(([k, v]) => html`<a href="${stateUrl(state, { q: withTerm(state.q, `"${k}":"${String(v).replace(/"/g, '')}"`) })}">${k}: ${String(v)}</a> `)}</p>` : ''}

<h3>Tags</h3>
<ul class="chips" aria-label="Tags of this asset">${tags.length ? tags.map((t) => html`<li><a class="chip" href="${stateUrl(state, { q: withTerm('', tagTerm(t)) })}">#${t}</a></li>`) : html`<li class="hint">No tags yet.</li>`}</ul>
<form class="row" hx-post="${fileRoute(file)}/tags" hx-target="#details">
<label for="tags-input" class="visually-hidden">Tags, separated by commas</label>
<input id="tags-input" name="tags" value="${tags.join(', ')}" placeholder="summer, shoes">
<button type="submit">Save tags</button>
</form>

<h3>Product link</h3>
<form class="row" hx-post="${fileRoute(file)}/product" hx-target="#details">
<label for="product-ref">Product reference</label>
<input id="product-ref" name="ref" value="${file.product?.ref ?? ''}" placeholder="SKU-123">
<label for="product-position">Position</label>
<input id="product-position" name="position" type="number" min="1" step="1" value="${file.product?.position ?? ''}">
<button type="submit">Save link</button>
</form>

<h3>URLs</h3>
<div class="field"><label for="url-original">Original</label>
<div class="row"><input id="url-original" readonly value="${original}"><button type="button" data-copy="#url-original">Copy</button></div></div>
${cdn ? transformBuilder(file, cdn) : ''}

<h3>Rename, move, delete</h3>
<form class="row" hx-post="${fileRoute(file)}/rename" hx-target="#details">
<label for="rename-name">Name</label><input id="rename-name" name="name" value="${file.name}" required>
<button type="submit">Rename</button>
</form>
<form class="row" hx-post="${fileRoute(file)}/move" hx-target="#details">
<label for="move-folder">Folder</label><input id="move-folder" name="folder" value="${file.folder?.name ?? '/'}" required pattern="/.*" title="a folder path starting with /">
<button type="submit">Move</button>
</form>
<form hx-post="${fileRoute(file)}/delete" hx-target="#details" hx-confirm="Delete ${file.name}? The DAM cannot undo a delete.">
<button type="submit" class="danger">Delete asset</button>
</form>
</div>`;
}

function transformBuilder(file: FileObject, cdn: string): Html {
  const start = cdnUrl(cdn, { w: 800, func: 'bound', force_format: 'webp' });
  return html`<fieldset class="transform" data-cdn="${cdnUrl(cdn)}">
<legend>CDN URL with transforms</legend>
<div class="grid-form">
<label for="tf-w">Width</label><input id="tf-w" data-param="w" type="number" min="1" max="10000" value="800">
<label for="tf-h">Height</label><input id="tf-h" data-param="h" type="number" min="1" max="10000" value="">
<label for="tf-func">Fit</label><select id="tf-func" data-param="func"><option value="bound" selected>bound (fit inside)</option><option value="crop">crop</option><option value="cover">cover</option><option value="fit">fit (pad)</option><option value="">none</option></select>
<label for="tf-format">Format</label><select id="tf-format" data-param="force_format"><option value="webp" selected>webp</option><option value="avif">avif</option><option value="jpeg">jpeg</option><option value="png">png</option><option value="">original</option></select>
<label for="tf-q">Quality</label><input id="tf-q" data-param="q" type="number" min="1" max="100" value="">
</div>
<div class="row"><label for="url-cdn" class="visually-hidden">CDN URL</label><input id="url-cdn" readonly value="${start}"><button type="button" data-copy="#url-cdn">Copy</button><a class="button" id="url-cdn-open" href="${start}" target="_blank" rel="noopener">Open</a></div>
${isImage(file) ? '' : html`<p class="hint">Transforms apply to images; other files are served as they are.</p>`}
</fieldset>`;
}

export function notice(kind: 'ok' | 'error', text: string, undo?: { action: string; fields: Record<string, string>; label: string }): Html {
  return html`<div class="notice ${kind}" role="${kind === 'error' ? 'alert' : 'status'}"><p>${text}</p>${
    undo
      ? html`<form hx-post="${undo.action}" hx-target="#details">${Object.entries(undo.fields).map(([k, v]) => html`<input type="hidden" name="${k}" value="${v}">`)}<button type="submit">${undo.label}</button></form>`
      : ''
  }</div>`;
}
