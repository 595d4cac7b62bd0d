/** How the read commands show an asset's fields, whatever shape (v4 or v5) the API gave them in. */
import type { FileObject } from '@sfx/client';
import { type Column, formatBytes, type OutputMode } from './output.js';

/** `/folder/name.ext`: the API's `url.path`, else the folder it was asked about plus the name. */
export function assetPath(file: FileObject, folder = '/'): string {
  if (file.url?.path) return file.url.path;
  const dir = (file.folder as { name?: string } | undefined)?.name ?? folder;
  return `${dir === '/' ? '' : dir.replace(/\/$/, '')}/${file.name}`;
}

export function assetBytes(file: FileObject): number | undefined {
  const size = file.size as { bytes?: number } | number | undefined;
  return typeof size === 'number' ? size : size?.bytes;
}

/** Tag labels, whatever the language keys (`{en: [{label}]}`) or a plain list. */
export function tagLabels(file: FileObject): string[] {
  const tags = file.tags as unknown;
  const labels = new Set<string>();
  const add = (t: unknown): void => {
    if (typeof t === 'string') labels.add(t);
    else if (t && typeof t === 'object' && typeof (t as { label?: unknown }).label === 'string') labels.add((t as { label: string }).label);
  };
  if (Array.isArray(tags)) tags.forEach(add);
  else if (tags && typeof tags === 'object') for (const list of Object.values(tags)) if (Array.isArray(list)) list.forEach(add);
  return [...labels];
}

/** v5 `{in_dam, in_cdn}` or v4 `{value}` as one line. */
export function visibilityText(file: FileObject): string {
  const v = file.visibility as { in_dam?: { actual?: string }; in_cdn?: { actual?: string }; value?: string; actual?: string } | undefined;
  if (!v) return '';
  if (v.in_dam || v.in_cdn) return `DAM ${v.in_dam?.actual ?? '?'}, CDN ${v.in_cdn?.actual ?? '?'}`;
  return (v.actual ?? v.value ?? '').replace(/^VISIBILITY_/, '').toLowerCase();
}

export function shortTime(iso: string | undefined): string {
  return (iso ?? '').replace('T', ' ').slice(0, 19);
}

/** PATH, and with `long` SIZE, TYPE, MODIFIED, UUID (as `sfx ls -l`). */
export function assetColumns(mode: OutputMode, long: boolean): Array<Column<FileObject>> {
  const path: Column<FileObject> = { header: 'PATH', value: (f) => assetPath(f) };
  if (!long) return [path];
  return [
    path,
    { header: 'SIZE', value: (f) => (mode === 'tsv' ? String(assetBytes(f) ?? '') : formatBytes(assetBytes(f))) },
    { header: 'TYPE', value: (f) => f.type ?? '' },
    { header: 'MODIFIED', value: (f) => shortTime(f.modified_at ?? f.created_at) },
    { header: 'UUID', value: (f) => f.uuid },
  ];
}
