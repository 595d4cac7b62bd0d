import { formatScope, parseScope } from '../auth/folder-scope.js';
import { checkGrantable, checkWithinReach } from '../auth/grants.js';
import { formatRange, parseRange } from '../auth/network.js';
import { DEFAULT_VALIDITY_SECONDS, type SecurityTemplate, type TemplateFields } from '../auth/sass.js';
import { ApiError, badRequest } from '../errors.js';
import type { Call, RouteSpec } from '../http/route.js';
import type { JsonObject } from '../store/rows.js';
import { permissionList } from './access-routes.js';
import { bodyObject } from './params.js';

const FIELDS = [
  'name',
  'permissions',
  'validity_seconds',
  'ip_ranges',
  'countries',
  'limit_per_min',
  'limit_per_ip_source',
  'dir_scope',
  'list_scope',
  'active',
] as const;
/** Read-only fields a client may send back unchanged (a GET reply edited and PATCHed). */
const READ_ONLY = new Set(['id', 'created_at', 'updated_at']);

/** A century: long enough for "any positive value", small enough that expiry stays an exact integer of ms. */
const MAX_VALIDITY_SECONDS = 100 * 365 * 86_400;
const MAX_LIST = 500;

function name(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '' || value.length > 200) {
    throw badRequest('INVALID_PARAMETER', '"name" must be a non-empty string of at most 200 characters.');
  }
  return value.trim();
}

function validity(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_VALIDITY_SECONDS) {
    throw badRequest(
      'INVALID_PARAMETER',
      `"validity_seconds" must be a whole number of seconds from 1 to ${MAX_VALIDITY_SECONDS}; got ${JSON.stringify(value)}.`,
      `Default ${DEFAULT_VALIDITY_SECONDS} (20 minutes).`,
    );
  }
  return value;
}

function list(value: unknown, field: string): unknown[] {
  if (value === null) return [];
  if (!Array.isArray(value)) throw badRequest('INVALID_PARAMETER', `"${field}" must be an array.`);
  if (value.length > MAX_LIST)
    throw badRequest('INVALID_PARAMETER', `"${field}" holds more than ${MAX_LIST} entries.`);
  return value;
}

function ipRanges(value: unknown): string[] {
  return [...new Set(list(value, 'ip_ranges').map((r, i) => formatRange(parseRange(r, `ip_ranges[${i}]`))))];
}

function countries(value: unknown): string[] {
  return [
    ...new Set(
      list(value, 'countries').map((c, i) => {
        if (typeof c !== 'string' || !/^[A-Za-z]{2}$/.test(c.trim())) {
          throw badRequest(
            'INVALID_PARAMETER',
            `"countries[${i}]" must be an ISO 3166-1 alpha-2 code such as "FR"; got ${JSON.stringify(c)}.`,
          );
        }
        return c.trim().toUpperCase();
      }),
    ),
  ];
}

/** `null` or 0 mean "no limit". */
function limit(value: unknown, field: string): number | null {
  if (value === null || value === 0) return null;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 1_000_000) {
    throw badRequest(
      'INVALID_PARAMETER',
      `"${field}" must be a whole number of uploads from 1 to 1000000, or null for no limit.`,
    );
  }
  return value;
}

function scope(value: unknown, field: string): string | null {
  return formatScope(parseScope(value, field));
}

function active(value: unknown): boolean {
  if (typeof value !== 'boolean') throw badRequest('INVALID_PARAMETER', '"active" must be true or false.');
  return value;
}

/** Reads the fields a body sets; unknown fields are refused so a misspelt limit is not silently ignored. */
function templateFields(body: JsonObject): Partial<TemplateFields> {
  const unknown = Object.keys(body).filter(
    (k) => !(FIELDS as readonly string[]).includes(k) && !READ_ONLY.has(k),
  );
  if (unknown.length > 0) {
    throw badRequest(
      'INVALID_PARAMETER',
      `Unknown template field${unknown.length > 1 ? 's' : ''}: ${unknown.map((u) => JSON.stringify(u)).join(', ')}.`,
      `Template fields: ${FIELDS.join(', ')}.`,
    );
  }
  const out: Partial<TemplateFields> = {};
  const set = <K extends keyof TemplateFields>(key: K, read: (v: unknown) => TemplateFields[K]): void => {
    if (body[key] !== undefined) out[key] = read(body[key]);
  };
  set('name', name);
  set('permissions', (v) => permissionList(v));
  set('validity_seconds', validity);
  set('ip_ranges', ipRanges);
  set('countries', countries);
  set('limit_per_min', (v) => limit(v, 'limit_per_min'));
  set('limit_per_ip_source', (v) => limit(v, 'limit_per_ip_source'));
  set('dir_scope', (v) => scope(v, 'dir_scope'));
  set('list_scope', (v) => scope(v, 'list_scope'));
  set('active', active);
  return out;
}

function createTemplate(call: Call): Record<string, unknown> {
  const fields = templateFields(bodyObject(call.body));
  if (fields.name === undefined)
    throw badRequest(
      'INVALID_PARAMETER',
      '"name" is required.',
      'Example: {"name": "uploader", "permissions": ["FILE_UPLOAD"]}',
    );
  if (fields.permissions === undefined)
    throw badRequest('INVALID_PARAMETER', '"permissions" is required (an array of permission names).');
  // A template hands its permissions to whoever holds its id: granting one is granting them.
  checkGrantable(call.principal!, fields.permissions);
  const template = call.ctx.templates.create({
    name: fields.name,
    permissions: fields.permissions,
    validity_seconds: fields.validity_seconds ?? DEFAULT_VALIDITY_SECONDS,
    ip_ranges: fields.ip_ranges ?? [],
    countries: fields.countries ?? [],
    limit_per_min: fields.limit_per_min ?? null,
    limit_per_ip_source: fields.limit_per_ip_source ?? null,
    dir_scope: fields.dir_scope ?? null,
    list_scope: fields.list_scope ?? null,
    active: fields.active ?? true,
  });
  return { template };
}

const templateId = (call: Call): string => {
  const id = call.params.id ?? '';
  if (!/^SECU_[0-9A-Za-z]{1,128}$/.test(id))
    throw badRequest('INVALID_PARAMETER', `"${id}" is not a security template id (SECU_...).`);
  return id;
};

/** The exchange answers the same for every failure to find an active template, whatever the id looks like. */
function exchange(call: Call): Record<string, unknown> {
  const { ctx } = call;
  const id = call.params.templateId ?? '';
  const ip = ctx.network.clientAddress(call.req);
  // Counted per presented id whether it exists or not, so the quota is no oracle for which ids do.
  const wait = ctx.sassLimits.exchanges.take(`${id}|${ip}`);
  if (wait > 0) {
    throw new ApiError(
      429,
      'TOO_MANY_KEY_EXCHANGES',
      'A security template can be exchanged at most 5 times a minute from one address.',
      `Retry after ${wait} s, and reuse a SASS key until it expires.`,
      {},
      { 'retry-after': String(wait) },
    );
  }
  const { key } = ctx.templates.exchange(id, ip);
  return { key };
}

/**
 * The template a request names, once the caller holds every permission it carries: one beyond
 * that is neither shown (its id is a credential) nor changed.
 */
function reachableTemplate(call: Call, action?: string): SecurityTemplate {
  const template = call.ctx.templates.require(templateId(call));
  checkWithinReach(call.principal!, template, 'security template', action);
  return template;
}

/**
 * A template's id is a credential for its permissions (the exchange needs nothing else), so a key
 * is shown only the templates it could have made itself; the count of the others says the list is
 * not the whole.
 */
function listTemplates(call: Call): Record<string, unknown> {
  const all = call.ctx.templates.list();
  const held = call.principal!.permissions;
  const reachable = all.filter((t) => t.permissions.every((p) => held.has(p)));
  return { templates: reachable.map(shown), beyond_reach: all.length - reachable.length };
}

function updateTemplate(call: Call): Record<string, unknown> {
  const target = reachableTemplate(call);
  const change = templateFields(bodyObject(call.body));
  if (change.permissions) checkGrantable(call.principal!, change.permissions);
  return { template: shown(call.ctx.templates.update(target.id, change)) };
}

const shown = (template: SecurityTemplate): Record<string, unknown> => ({ ...template });

export const templateRoutes: RouteSpec[] = [
  {
    method: 'GET',
    path: '/access/templates',
    versions: ['v5'],
    permissions: ['ACCESS_READ'],
    summary: 'List security templates (those holding no more than the caller)',
    handler: listTemplates,
  },
  {
    method: 'POST',
    path: '/access/templates',
    versions: ['v5'],
    permissions: ['ACCESS_MANAGE'],
    summary: 'Create a security template',
    handler: createTemplate,
  },
  {
    method: 'GET',
    path: '/access/templates/:id',
    versions: ['v5'],
    permissions: ['ACCESS_READ'],
    summary: 'Security template details',
    handler: (call) => ({ template: shown(reachableTemplate(call, 'see')) }),
  },
  {
    method: 'PATCH',
    path: '/access/templates/:id',
    versions: ['v5'],
    permissions: ['ACCESS_MANAGE'],
    summary: 'Change, deactivate (revoking its SASS keys) or reactivate a security template',
    handler: updateTemplate,
  },
  {
    method: 'DELETE',
    path: '/access/templates/:id',
    versions: ['v5'],
    permissions: ['ACCESS_MANAGE'],
    summary: 'Delete a security template and its SASS keys',
    handler: (call) => {
      const template = call.ctx.templates.delete(reachableTemplate(call).id);
      return { action: 'template_deleted', template_id: template.id };
    },
  },
  // The key exchange: the template id is the credential, so no X-Filerobot-Key is needed.
  {
    method: 'GET',
    path: '/key/:templateId',
    versions: [],
    permissions: 'public',
    summary: 'Exchange a security template for a SASS key',
    handler: exchange,
  },
  {
    method: 'GET',
    path: '/key/:templateId',
    versions: ['v4', 'v5'],
    permissions: 'public',
    summary: 'Exchange a security template for a SASS key',
    handler: exchange,
  },
];
