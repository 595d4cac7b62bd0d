import { badRequest } from '../errors.js';
import type { Call, RouteSpec } from '../http/route.js';
import type { LabelRow } from '../store/labels.js';
import { parseObject } from '../store/metadata-store.js';
import { bodyObject, objectField } from './params.js';
import { apiTime } from './serialize.js';

const COLOR = /^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i;
const SHAPE = /^[a-z][a-z0-9_-]{0,31}$/;
const SCOPE = /^[A-Z][A-Z0-9_]{0,31}$/;
const DEFAULT_PERMISSIONS = {
  viewing: { scope: 'SK_ORG', ids: null },
  attaching: { scope: 'SK_ORG', ids: null },
};

export function labelObject(row: LabelRow & { assets_count?: number }): Record<string, unknown> {
  const object: Record<string, unknown> = {
    uuid: row.uuid,
    sid: row.sid,
    name: row.name,
    color: row.color,
    shape: row.shape,
    is_pinned: row.is_pinned === 1,
    permissions: parseObject(row.permissions),
    created_at: apiTime(row.created_at),
    updated_at: apiTime(row.updated_at),
  };
  if (row.assets_count !== undefined) object.assets_count = row.assets_count;
  return object;
}

/** `{viewing, attaching}`, each `{scope, ids}` as the Hub sends it; anything else is refused. */
function labelPermissions(value: unknown): Record<string, unknown> {
  if (value === undefined || value === null) return DEFAULT_PERMISSIONS;
  const perms = objectField(value, 'label.permissions');
  const out: Record<string, unknown> = { ...DEFAULT_PERMISSIONS };
  for (const [name, rule] of Object.entries(perms)) {
    const at = `label.permissions.${name}`;
    if (name !== 'viewing' && name !== 'attaching') {
      throw badRequest(
        'INVALID_PARAMETER',
        `"${at}" is not a label permission.`,
        'Use "viewing" and "attaching", each {"scope": "SK_ORG", "ids": null}.',
      );
    }
    const r = objectField(rule, at);
    if (typeof r.scope !== 'string' || !SCOPE.test(r.scope)) {
      throw badRequest('INVALID_PARAMETER', `"${at}.scope" must be a scope name such as SK_ORG.`);
    }
    if (
      r.ids !== undefined &&
      r.ids !== null &&
      (!Array.isArray(r.ids) || r.ids.some((id) => typeof id !== 'string' && typeof id !== 'number'))
    ) {
      throw badRequest('INVALID_PARAMETER', `"${at}.ids" must be null or an array of ids.`);
    }
    out[name] = { scope: r.scope, ids: r.ids ?? null };
  }
  return out;
}

function createLabel(call: Call): Record<string, unknown> {
  const started = performance.now();
  const body = bodyObject(call.body);
  if (body.label === undefined) {
    throw badRequest(
      'INVALID_PARAMETER',
      '"label" is required.',
      'Example: {"label": {"name": "Fashion", "color": "#9580E9", "shape": "pin"}}',
    );
  }
  const label = objectField(body.label, 'label');
  if (typeof label.name !== 'string' || label.name.trim() === '' || label.name.length > 100) {
    throw badRequest(
      'INVALID_PARAMETER',
      '"label.name" must be a name of 1-100 characters.',
      'Example: {"label": {"name": "Fashion"}}',
    );
  }
  const color = label.color ?? '#9580E9';
  if (typeof color !== 'string' || !COLOR.test(color)) {
    throw badRequest(
      'INVALID_PARAMETER',
      `"label.color" must be a hex colour such as #9580E9; got ${JSON.stringify(label.color)}.`,
    );
  }
  const shape = label.shape ?? 'pin';
  if (typeof shape !== 'string' || !SHAPE.test(shape)) {
    throw badRequest(
      'INVALID_PARAMETER',
      `"label.shape" must be a shape name such as "pin"; got ${JSON.stringify(label.shape)}.`,
    );
  }
  if (label.is_pinned !== undefined && typeof label.is_pinned !== 'boolean') {
    throw badRequest('INVALID_PARAMETER', '"label.is_pinned" must be true or false.');
  }
  const row = call.ctx.catalog.labels.create({
    name: label.name,
    color,
    shape,
    isPinned: label.is_pinned === true,
    permissions: labelPermissions(label.permissions),
  });
  return { duration: Math.round((performance.now() - started) * 1000) / 1000, label: labelObject(row) };
}

export const labelRoutes: RouteSpec[] = [
  {
    method: 'GET',
    path: '/labels',
    versions: ['v5'],
    permissions: ['LABELS_LIST'],
    summary: 'Labels with how many assets carry each',
    handler: (call) => {
      const labels = call.ctx.catalog.labels.list();
      return {
        msg: `${labels.length} label${labels.length === 1 ? '' : 's'}`,
        labels: labels.map(labelObject),
      };
    },
  },
  {
    method: 'POST',
    path: '/labels',
    versions: ['v5'],
    permissions: ['LABEL_MANAGE'],
    summary: 'Create a label',
    handler: createLabel,
  },
];
