import { boolParam, single, uuidParam } from '../api/params.js';
import type { ServerContext } from '../context.js';
import { ApiError } from '../errors.js';
import type { Call, Principal, RouteSpec } from '../http/route.js';
import { normalizeFolderPath } from '../store/names.js';
import { formatScope, scopeAllows, scopeAllowsSubtree, type FolderScope } from './folder-scope.js';
import { inRanges } from './network.js';
import { WindowLimiter } from './rate-limit.js';
import type { SassKeyRecord } from './sass.js';

export type SassPrincipal = Extract<Principal, { kind: 'sass' }>;

/**
 * How a route meets a template's listing scope (`list_scope`):
 * - `none`: reveals nothing about assets or folders (configuration, creating a tag, uploads);
 * - `files-listing` / `folders-listing`: checked from `folder` and `recursive` before the handler;
 * - `file` / `folder`: `:uuid` names a file / folder that must lie in scope;
 * - `folder-subtree`: `:uuid` names a folder whose whole subtree is affected (delete);
 * - `refuse`: spans the library or takes ids in the body; refused to a key with a listing scope.
 */
type ListRule =
  'none' | 'files-listing' | 'folders-listing' | 'file' | 'folder' | 'folder-subtree' | 'refuse';
/**
 * How a route meets the upload scope (`dir_scope`): `upload` checks where each file lands (in the
 * handler, once names that carry paths are known), `refuse` is for routes that put content into
 * folders other than by uploading (moves, folder creation and renames), which the upload scope
 * would otherwise not bound.
 */
type PlaceRule = 'none' | 'upload' | 'refuse';

/**
 * What a route acts on, which decides how a folder scope bounds it. A folder scope says "this key
 * works inside these folders"; objects that live outside every folder are out of its reach:
 * - `assets`: files and folders, bounded by the `list` and `place` rules;
 * - `project-read`: reads project-wide objects (settings, collections, shares, approvals...);
 *   allowed when what it shows names no asset (`list: 'none'`), otherwise refused to a listing scope;
 * - `project-write`: creates, changes or deletes a project-wide object (a share, a collection, the
 *   metadata model, a bulk change): refused to a key with any folder scope, `dir_scope` or
 *   `list_scope` (SCOPE_PROJECT_WIDE), since the change reaches past the folders it was given;
 * - `key-only`: no key is read (public routes) or only the presented key's own grants.
 */
type Touches = 'assets' | 'project-read' | 'project-write' | 'key-only';

interface SassRule {
  touches: Touches;
  list: ListRule;
  place: PlaceRule;
  /** Credential management: never for SASS keys, whatever the template grants. */
  forbidden?: true;
}

const asset = (list: ListRule, place: PlaceRule = 'none'): SassRule => ({ touches: 'assets', list, place });
const onFile = asset('file');
const onFolder = asset('folder');
const refusedList = asset('refuse');
const refusedBoth = asset('refuse', 'refuse');
const keyOnly: SassRule = { touches: 'key-only', list: 'none', place: 'none' };
/** Shows only configuration, never an asset: fine for any key that holds the permission. */
const projectConfig: SassRule = { touches: 'project-read', list: 'none', place: 'none' };
/** Shows assets or counts of them across the library: not for a key with a listing scope. */
const projectListing: SassRule = { touches: 'project-read', list: 'refuse', place: 'none' };
const projectWrite: SassRule = { touches: 'project-write', list: 'none', place: 'none' };
const forbiddenRead: SassRule = { ...projectListing, forbidden: true };
const forbiddenWrite: SassRule = { ...projectWrite, forbidden: true };

/**
 * Every route's SASS rule, keyed `METHOD path` as in the route table; a test fails when a route is
 * missing here, and the type makes each entry say what it touches. A route without an entry is
 * refused to any SASS key with a scope.
 */
export const SASS_RULES: Readonly<Record<string, SassRule>> = {
  'GET /files': asset('files-listing'),
  'GET /files/stats': asset('files-listing'),
  'GET /files/:uuid': onFile,
  'GET /file/:uuid': onFile,
  'POST /files': asset('none', 'upload'),
  'PUT /files': asset('none', 'upload'),
  'POST /upload': asset('none', 'upload'),
  'PATCH /files/:uuid': onFile,
  'PUT /files/:uuid/folders/:folder_uuid': refusedBoth,
  'POST /files/move': refusedBoth,
  'DELETE /files/:uuid': onFile,
  // Names its files in the body: refused to a listing scope rather than checked file by file.
  'DELETE /files': refusedList,
  'PUT /file/:uuid/meta': onFile,
  'PATCH /file/:uuid/meta': onFile,
  'PUT /file/:uuid/tags': onFile,
  'GET /get/:uuid': keyOnly,
  'GET /folders': asset('folders-listing'),
  'GET /folders/:uuid': onFolder,
  'POST /folders': asset('none', 'refuse'),
  'PATCH /folders/:uuid': asset('folder', 'refuse'),
  'PUT /folders/:uuid/folders/:dest_uuid': refusedBoth,
  'POST /folders/move': refusedBoth,
  'DELETE /folders/:uuid': asset('folder-subtree'),
  'PUT /folder/:uuid/meta': onFolder,
  'PATCH /folder/:uuid/meta': onFolder,
  'DELETE /folder/:uuid/meta': onFolder,
  'PUT /folder/:uuid/meta/:key/:value': onFolder,
  // The tag dictionary, labels, facets and products span the whole library; tagging, labelling or
  // linking one file to a product is a change to that file.
  'GET /tags': projectListing,
  'POST /tags': projectWrite,
  'PUT /file/:uuid/product': onFile,
  'DELETE /file/:uuid/product': onFile,
  'PATCH /file/:uuid/product/position': onFile,
  'PATCH /product/:ref': projectWrite,
  'PUT /product/:ref/files': projectWrite,
  'GET /products': projectListing,
  'GET /product/:ref/assets': projectListing,
  'GET /product/:ref/images': projectListing,
  'GET /labels': projectListing,
  'POST /labels': projectWrite,
  // A bulk change is one project-wide object naming any files, prepared and committed apart.
  'PUT /bulk/prepare': projectWrite,
  'POST /bulk/:bulk_uuid/commit': projectWrite,
  'GET /bulk/:bulk_uuid': projectListing,
  'GET /metadata/autocomplete': projectListing,
  'GET /filters': projectListing,
  'POST /folders/previews': refusedList,
  'GET /files/:uuid/variants': onFile,
  'GET /settings': projectConfig,
  'GET /public/settings': projectConfig,
  'GET /meta/model/fields': projectConfig,
  'GET /meta/model/fields/:uuid/options': projectConfig,
  // Metadata keys in use, with counts: a view of the assets.
  'GET /attributes/keys': projectListing,
  'GET /meta/model/fields/i18n': projectConfig,
  'PUT /meta/model/fields/i18n': projectWrite,
  'GET /meta/model/fields/options/i18n': projectConfig,
  'PUT /settings/metadata/model': projectWrite,
  // Collections are saved searches: reading one shows its definition, and listing its files goes
  // through GET /files, where the listing scope applies. Changing one changes what everyone sees.
  'GET /collections': projectConfig,
  'GET /collections/:uuid/folders': projectConfig,
  'POST /collections': projectWrite,
  'PATCH /collections/:uuid': projectWrite,
  'DELETE /collections/:uuid': projectWrite,
  // A share is a public link to files anywhere: creating or removing one is a project-wide change.
  'GET /shares': projectListing,
  'POST /shares': projectWrite,
  'GET /shares/:uuid': projectListing,
  'DELETE /shares/:uuid': projectWrite,
  'GET /s/:puid/:slug': keyOnly,
  'GET /access/keys': forbiddenRead,
  'POST /access/keys': forbiddenWrite,
  'GET /access/keys/:uuid': forbiddenRead,
  'PATCH /access/keys/:uuid': forbiddenWrite,
  'DELETE /access/keys/:uuid': forbiddenWrite,
  'GET /access/templates': forbiddenRead,
  'POST /access/templates': forbiddenWrite,
  'GET /access/templates/:id': forbiddenRead,
  'PATCH /access/templates/:id': forbiddenWrite,
  'DELETE /access/templates/:id': forbiddenWrite,
  // The presented key's own grants: for a SASS key, what its template allows, nothing more.
  'GET /access/key': keyOnly,
  // Webhooks see every change in the library and hold receiver credentials: API keys only.
  'GET /webhooks': forbiddenRead,
  'POST /webhooks': forbiddenWrite,
  'GET /webhooks/:uuid': forbiddenRead,
  'PATCH /webhooks/:uuid': forbiddenWrite,
  'DELETE /webhooks/:uuid': forbiddenWrite,
  'GET /webhooks/:uuid/deliveries': forbiddenRead,
  'POST /webhooks/:uuid/deliveries/:delivery_uuid/retry': forbiddenWrite,
  // Inferred routes (reference §1 "not found"); each acts on the file or folder its uuid names.
  'PUT /files/:uuid/visibility': onFile,
  'PUT /folders/:uuid/visibility': onFolder,
  'PUT /file/:uuid/labels': onFile,
  // Approvals name files by uuid in bodies and filters, and a vote changes a request everyone sees.
  'GET /approvals': projectListing,
  'POST /approvals': projectWrite,
  'GET /approvals/:uuid': projectListing,
  'DELETE /approvals/:uuid': projectWrite,
  'POST /approvals/:uuid/votes': projectWrite,
  // An airbox opens uploads into any folder to anyone with its link: the upload scope would not bound it.
  'GET /airboxes': projectListing,
  'POST /airboxes': projectWrite,
  'GET /airboxes/:uuid': projectListing,
  'PATCH /airboxes/:uuid': projectWrite,
  'DELETE /airboxes/:uuid': projectWrite,
  'GET /v3/a/:puid/:title': keyOnly,
  // The image editor reads a file in scope and writes a file like an upload does (scope and quotas).
  'POST /files/:uuid/edit': asset('file', 'upload'),
  'POST /files/:uuid/autotag': onFile,
  // The reference-shaped forms name their files in the body.
  'POST /ask/images/autotag': refusedList,
  'POST /ask/regenerate/:job': refusedList,
  // The puid is the credential (no key): a SASS key presented there is not even read.
  'POST /v3/a/:puid/:title': keyOnly,
  'GET /key/:templateId': keyOnly,
  'GET /cdn/*': keyOnly,
  'GET /store/*': keyOnly,
  'GET /get/:uuid/download': keyOnly,
  // Resumable (tus) uploads on the connector mirror: creation is the upload (scope and quotas are
  // settled there, once); the later requests act on that upload, which belongs to its creator and
  // whose folder the handler checks against the key's upload scope.
  'OPTIONS /connector/files': keyOnly,
  'POST /connector/files': asset('none', 'upload'),
  'HEAD /connector/files/:id': asset('none'),
  'PATCH /connector/files/:id': asset('none'),
  'DELETE /connector/files/:id': asset('none'),
  'GET /connector/json/:id': keyOnly,

};

export function sassRuleFor(spec: Pick<RouteSpec, 'method' | 'path'>): SassRule | undefined {
  return SASS_RULES[`${spec.method} ${spec.path}`];
}

/** A template allows at most this many exchanges per minute from one address, as the real API documents. */
export const EXCHANGES_PER_MINUTE = 5;

/** The quotas SASS keys draw on; one set per server, on the server's clock. */
export class SassLimiters {
  /** Keyed by (presented template id, client address), whether or not the id exists. */
  readonly exchanges: WindowLimiter;
  /** Uploaded files per SASS key (`limit_per_min`). */
  readonly uploadsPerKey: WindowLimiter;
  /** Uploaded files per (template, client address) across all its keys (`limit_per_ip_source`). */
  readonly uploadsPerSource: WindowLimiter;

  constructor(clock: () => number) {
    this.exchanges = new WindowLimiter(EXCHANGES_PER_MINUTE, clock);
    // The limit comes from the template on each call; these defaults are never used.
    this.uploadsPerKey = new WindowLimiter(1, clock);
    this.uploadsPerSource = new WindowLimiter(1, clock);
  }
}

const refused = (code: string, msg: string, hint: string): ApiError => new ApiError(403, code, msg, hint);

/**
 * Turns a presented SASS key into a principal, in the order of DESIGN §4: the key itself
 * (unknown, revoked, expired: in `templates.authenticate`), then the caller's address against
 * `ip_ranges`, then its country against `countries`. The reasons go to the debug log; replies
 * say what was refused, not the template's settings.
 */
export function authenticateSass(call: Pick<Call, 'req' | 'ctx'>, secret: string): SassPrincipal {
  const { ctx, req } = call;
  const sass = ctx.templates.authenticate(secret);
  const template = sass.template;
  const ip = ctx.network.clientAddress(req);
  if (template.ip_ranges.length > 0 && !inRanges(ip, template.ip_ranges)) {
    ctx.log('debug', 'SASS key refused: address outside the template ranges', {
      template: template.name,
      sassKey: sass.id,
      ip,
    });
    throw refused(
      'IP_NOT_ALLOWED',
      'This SASS key cannot be used from your network address.',
      'Its security template allows only some IP ranges; call from one of them, or ask for the template to be changed.',
    );
  }
  if (template.countries.length > 0) {
    const country = ctx.network.country(req, ip);
    if (!country || !template.countries.includes(country)) {
      ctx.log('debug', 'SASS key refused: country not allowed', {
        template: template.name,
        sassKey: sass.id,
        ip,
        country: country ?? 'unknown',
      });
      throw refused(
        'COUNTRY_NOT_ALLOWED',
        'This SASS key cannot be used from your country.',
        'Its security template allows only some countries; an address whose country is unknown is refused too.',
      );
    }
  }
  return { kind: 'sass', id: `sass:${sass.id}`, sass, ip, permissions: new Set(template.permissions) };
}

function outsideScope(what: string, scope: FolderScope, hint?: string): ApiError {
  return refused(
    'OUTSIDE_FOLDER_SCOPE',
    `${what} is outside this SASS key's folder scope (${formatScope(scope)}).`,
    hint ?? 'Stay within the folder scope of the security template.',
  );
}

function listingFolder(call: Call): string {
  return normalizeFolderPath(single(call.query.folder) ?? '/', 'folder');
}

/**
 * The checks that need only the request, before the permission check (DESIGN §4 puts folder scope
 * first): routes SASS keys may never use, routes a scoped key may not use, and the folder of a
 * listing or search. Recursive listings from a parent of the scope are refused, not clamped, so
 * a caller never mistakes a partial answer for the whole.
 */
export function authorizeSass(call: Call, spec: RouteSpec, principal: SassPrincipal): void {
  const rule = sassRuleFor(spec) ?? { touches: 'project-write', list: 'refuse', place: 'refuse' };
  const { listScope, dirScope } = principal.sass.template;
  if (rule.forbidden) {
    throw refused(
      'SASS_KEY_NOT_ALLOWED',
      `SASS keys cannot call ${spec.method} ${spec.path}.`,
      'Managing API keys, security templates and webhooks needs a secret API key with the permission.',
    );
  }
  if (rule.touches === 'project-write' && (dirScope || listScope)) {
    const scopes = [
      dirScope ? `dir_scope ${formatScope(dirScope)}` : undefined,
      listScope ? `list_scope ${formatScope(listScope)}` : undefined,
    ].filter(Boolean);
    throw refused(
      'SCOPE_PROJECT_WIDE',
      `${spec.method} ${spec.path} changes a project-wide object, which a SASS key limited to folders (${scopes.join(', ')}) cannot do.`,
      'Project-wide objects (collections, labels, tags, products, shares, approvals, airboxes, bulk changes, the metadata model) are changed with an API key or a SASS key whose template has no folder scope.',
    );
  }
  if (listScope && rule.list === 'refuse') {
    throw refused(
      'OUTSIDE_FOLDER_SCOPE',
      `${spec.method} ${spec.path} spans the whole library, which a SASS key with a listing scope (${formatScope(listScope)}) cannot see.`,
      'List or search with GET /files?folder=... inside the scope instead.',
    );
  }
  if (dirScope && rule.place === 'refuse') {
    throw refused(
      'OUTSIDE_FOLDER_SCOPE',
      `${spec.method} ${spec.path} places content in folders, which a SASS key with an upload scope (${formatScope(dirScope)}) may do only by uploading.`,
      'Upload into the scope with POST /files?folder=... instead.',
    );
  }
  if (!listScope) return;
  if (rule.list === 'files-listing') {
    const folder = listingFolder(call);
    // Mirrors the handler: a collection listing is recursive unless told otherwise.
    const recursive = boolParam(call.query.recursive, 'recursive', call.query.collection_uuid !== undefined);
    if (recursive ? !scopeAllowsSubtree(listScope, folder) : !scopeAllows(listScope, folder)) {
      throw outsideScope(
        recursive ? `A recursive listing of ${folder}` : `The folder ${folder}`,
        listScope,
        recursive
          ? 'List recursively only from a folder whose whole subtree is in scope; a parent of the scope is refused, not clamped.'
          : undefined,
      );
    }
  }
  if (rule.list === 'folders-listing') {
    const folder = listingFolder(call);
    // The folders listed are below `folder`, so the whole subtree must be in scope.
    if (!scopeAllowsSubtree(listScope, folder)) throw outsideScope(`The subfolders of ${folder}`, listScope);
  }
}

/**
 * The checks that read the database (the folder of the file or folder a route acts on), after the
 * permission check so a key without the permission learns nothing about ids; then the early
 * upload quota check, so an upload over quota is refused before its body is read.
 */
export function admitSass(call: Call, spec: RouteSpec, principal: SassPrincipal): void {
  const rule = sassRuleFor(spec);
  const template = principal.sass.template;
  const { listScope } = template;
  if (
    listScope &&
    rule &&
    (rule.list === 'file' || rule.list === 'folder' || rule.list === 'folder-subtree')
  ) {
    // Unknown ids fall through to the handler's own 404.
    const uuid = uuidParam(call.params.uuid, 'uuid');
    if (rule.list === 'file') {
      const file = call.ctx.store.fileByUuid(uuid);
      if (file && !scopeAllows(listScope, file.folder_path)) throw outsideScope('This file', listScope);
    } else {
      const folder = call.ctx.store.folderByUuid(uuid);
      const ok =
        rule.list === 'folder'
          ? scopeAllows(listScope, folder?.path ?? '')
          : scopeAllowsSubtree(listScope, folder?.path ?? '');
      if (folder && !ok)
        throw outsideScope(rule.list === 'folder' ? 'This folder' : 'This folder or one below it', listScope);
    }
  }
  if (rule?.place === 'upload') {
    const wait = uploadWait(call.ctx, principal, 1);
    if (wait > 0) throw tooManyUploads(principal.sass, wait);
  }
}

function uploadWait(ctx: ServerContext, principal: SassPrincipal, files: number): number {
  const t = principal.sass.template;
  const { uploadsPerKey, uploadsPerSource } = ctx.sassLimits;
  return Math.max(
    t.limit_per_min ? uploadsPerKey.wait(principal.id, files, t.limit_per_min) : 0,
    t.limit_per_ip_source
      ? uploadsPerSource.wait(`${t.id}|${principal.ip}`, files, t.limit_per_ip_source)
      : 0,
  );
}

function tooManyUploads(sass: SassKeyRecord, wait: number): ApiError {
  const t = sass.template;
  const limits = [
    t.limit_per_min ? `${t.limit_per_min} uploads a minute per key` : undefined,
    t.limit_per_ip_source ? `${t.limit_per_ip_source} uploads a minute per source address` : undefined,
  ].filter(Boolean);
  return new ApiError(
    429,
    'TOO_MANY_UPLOADS',
    `This SASS key's security template allows ${limits.join(' and ')}.`,
    `Retry after ${wait} s.`,
    {},
    { 'retry-after': String(wait) },
  );
}

function checkPlacement(scope: FolderScope, folder: string): void {
  if (!scopeAllows(scope, folder)) {
    throw outsideScope(
      `Uploading into ${folder}`,
      scope,
      'Upload into the folder scope of the security template; names that carry a folder path count too.',
    );
  }
}

/** The upload scope check alone, for a target known before the body is read (streamed PUT). */
export function sassUploadPlaceable(call: Call): ((folder: string) => void) | undefined {
  const principal = call.principal;
  if (principal?.kind !== 'sass') return undefined;
  const scope = principal.sass.template.dirScope;
  return scope ? (folder) => checkPlacement(scope, folder) : undefined;
}

/**
 * What an upload request must pass once every file's final folder is known (names may carry
 * paths): every file inside the upload scope, then the per-minute quotas, counted per file and
 * only when the whole request is admitted. Undefined for principals with no such rules.
 */
export function sassUploadAdmission(
  call: Call,
): ((files: ReadonlyArray<{ folder: string }>) => void) | undefined {
  const principal = call.principal;
  if (principal?.kind !== 'sass') return undefined;
  const t = principal.sass.template;
  return (files) => {
    if (t.dirScope) for (const file of files) checkPlacement(t.dirScope, file.folder);
    const most = Math.min(t.limit_per_min ?? Infinity, t.limit_per_ip_source ?? Infinity);
    if (files.length > most) {
      throw new ApiError(
        400,
        'TOO_MANY_FILES',
        `This request holds ${files.length} files; this SASS key may upload at most ${most} a minute.`,
        `Send at most ${most} files per request.`,
      );
    }
    const wait = uploadWait(call.ctx, principal, files.length);
    if (wait > 0) throw tooManyUploads(principal.sass, wait);
    const { uploadsPerKey, uploadsPerSource } = call.ctx.sassLimits;
    if (t.limit_per_min) uploadsPerKey.take(principal.id, files.length, t.limit_per_min);
    if (t.limit_per_ip_source)
      uploadsPerSource.take(`${t.id}|${principal.ip}`, files.length, t.limit_per_ip_source);
  };
}
