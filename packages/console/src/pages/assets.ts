/**
 * The Assets page: folder tree, grid or list with CDN thumbnails, search (the `q` grammar) with
 * filter chips, infinite scroll by keyset pages, a details panel (metadata against the metadata
 * model, tags, product link, URLs with a transform builder, rename/move with undo, delete), and
 * uploads of files and folders sent with a short-lived SASS key.
 */
import { Readable } from 'node:stream';
import { APIError, type FileObject, type Filerobot, type MetadataField, type MetaValue } from '@sfx/client';
import busboy from 'busboy';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { sessionOf } from '../auth.js';
import type { ConsoleContext, ConsolePage } from '../context.js';
import { html, type Html } from '../html.js';
import { sendFragment, sendPage } from '../layout.js';
import { originOf } from '../security.js';
import { responseEnd } from '../shared-client.js';
import { UploadKeys } from '../upload-keys.js';
import { decodeCursor, encodeCursor, nextCursor, type Cursor } from './asset-query.js';
import { cards, chips, details, fileRoute, notice, stateUrl, tagLabels, tree, TYPES, type ListState, type TreeLevel } from './asset-views.js';

const PAGE_SIZE = 60;

function listState(query: Record<string, unknown>): ListState {
  const text = (v: unknown, max = 500): string => (typeof v === 'string' ? v.slice(0, max) : '');
  let folder = text(query.folder) || '/';
  if (!folder.startsWith('/')) folder = `/${folder}`;
  return {
    folder,
    q: text(query.q).trim(),
    view: query.view === 'list' ? 'list' : 'grid',
    type: TYPES.some((t) => t.id === query.type) ? (query.type as string) : '',
  };
}

/** A DAM error as the person should read it: what the DAM said, and what to do. */
function problem(error: unknown): Html {
  if (error instanceof APIError)
    return notice('error', `The DAM refused: ${error.message}${'hint' in error && typeof error.hint === 'string' && error.hint ? ` ${error.hint}` : ''}`);
  return notice('error', `The DAM could not be reached: ${(error as Error).message}`);
}

export const assetsPage: ConsolePage = (ui, ctx) => {
  const keys = new UploadKeys(ctx.options.uploadKeyTtlSeconds ?? 900);
  ui.addHook('onClose', async () => keys.close());
  ctx.onForget((connection) => keys.forget(connection));

  /**
   * The session's connection (or the default), and its client, held until `reply` is over;
   * undefined when none is stored.
   */
  async function connectionOf(request: FastifyRequest, reply: FastifyReply): Promise<{ name: string; all: string[]; client: Filerobot } | undefined> {
    const all = await ctx.options.connections.list();
    if (!all.length) return undefined;
    const session = sessionOf(request);
    const chosen = all.find((c) => c.name === session.connection) ?? all.find((c) => c.isDefault) ?? all[0]!;
    return { name: chosen.name, all: all.map((c) => c.name), client: await ctx.client(chosen.name, reply) };
  }

  async function page(client: Filerobot, state: ListState, cursor: Cursor | undefined): Promise<{ files: FileObject[]; next?: string }> {
    const type = TYPES.find((t) => t.id === state.type);
    const skip = cursor?.skip ?? 0;
    const reply = await client.files.list({
      folder: state.folder,
      recursive: true,
      ...(state.q ? { q: state.q } : {}),
      ...(type ? { mime: type.mime } : {}),
      ...(cursor ? { created_before: cursor.before, offset: skip } : {}),
      sort: 'created_at:desc',
      limit: PAGE_SIZE,
    });
    const files = reply.files ?? [];
    for (const f of files) {
      const origin = originOf(f.url?.cdn);
      if (origin) ctx.allowImages(origin);
    }
    const next = nextCursor(cursor, files, PAGE_SIZE);
    return { files, ...(next ? { next: encodeCursor(next) } : {}) };
  }

  async function folderTree(client: Filerobot, folder: string): Promise<TreeLevel[]> {
    const parts = folder.split('/').filter(Boolean);
    const paths = ['/', ...parts.map((_, i) => `/${parts.slice(0, i + 1).join('/')}`)];
    const levels: TreeLevel[] = [];
    for (const path of paths) {
      const reply = await client.folders.list({ folder: path, limit: 200 }).catch(() => undefined);
      if (!reply) break;
      const folders = (reply.folders ?? []).slice().sort((a, b) => a.name.localeCompare(b.name));
      levels.push({ path, folders });
    }
    return levels;
  }

  async function metadataFields(client: Filerobot): Promise<MetadataField[]> {
    const settings = await client.settings.get().catch(() => undefined);
    const model = settings?.metadata?.model ?? [];
    return model
      .filter((entry) => !entry.applies_to || entry.applies_to === 'FILES')
      .flatMap((entry) => entry.groups.flatMap((g) => g.fields));
  }

  ui.get('/assets', async (request, reply) => {
    const state = listState(request.query as Record<string, unknown>);
    const conn = await connectionOf(request, reply);
    if (!conn)
      return sendPage(reply, request, {
        title: 'Assets',
        nav: 'assets',
        body: html`<h1>Assets</h1><div class="empty"><p>No connection yet, so there are no assets to show.</p><p>Add one on the <a href="/ui/connections">Connections</a> page, or from a terminal: <code>sfx connection add NAME --endpoint URL --api-key env:FILEROBOT_KEY</code>.</p></div>`,
      });
    let body: Html;
    try {
      const [first, levels] = await Promise.all([page(conn.client, state, undefined), folderTree(conn.client, state.folder)]);
      const sel = typeof (request.query as Record<string, unknown>).sel === 'string' ? ((request.query as Record<string, string>).sel) : undefined;
      const selected = sel ? await conn.client.files.get(sel).catch(() => undefined) : undefined;
      const fields = selected ? await metadataFields(conn.client) : [];
      const tagCounts = new Map<string, number>();
      for (const f of first.files) for (const t of tagLabels(f)) tagCounts.set(t, (tagCounts.get(t) ?? 0) + 1);
      const suggestions = [...tagCounts.entries()].sort((a, b) => b[1] - a[1]).map(([t]) => t);
      body = html`<div class="assets ${state.view}">
<div class="assets-head">
<h1>Assets <span class="muted">in ${state.folder === '/' ? 'all folders' : state.folder}</span></h1>
${conn.all.length > 1 ? html`<form class="row" method="post" action="/ui/assets/connection">
<input type="hidden" name="_csrf" value="${sessionOf(request).csrf}">
<label for="connection">Connection</label>
<select id="connection" name="connection">${conn.all.map((n) => html`<option${n === conn.name ? ' selected' : ''}>${n}</option>`)}</select>
<button type="submit">Switch</button></form>` : html`<p class="muted">Connection: ${conn.name}</p>`}
</div>
<form class="search" method="get" action="/ui/assets" role="search">
${state.folder !== '/' ? html`<input type="hidden" name="folder" value="${state.folder}">` : ''}
${state.view !== 'grid' ? html`<input type="hidden" name="view" value="${state.view}">` : ''}
${state.type ? html`<input type="hidden" name="type" value="${state.type}">` : ''}
<label for="q" class="visually-hidden">Search assets</label>
<input id="q" name="q" type="search" value="${state.q}" placeholder='Search: "red shoe"  #summer  title:Sneaker  size>100000' aria-describedby="q-help">
<button type="submit" class="primary">Search</button>
<span class="views" role="group" aria-label="View">
<a class="button" href="${stateUrl(state, { view: 'grid' })}"${state.view === 'grid' ? html` aria-current="true"` : ''}>Grid</a>
<a class="button" href="${stateUrl(state, { view: 'list' })}"${state.view === 'list' ? html` aria-current="true"` : ''}>List</a>
</span>
<p id="q-help" class="hint">Words in double quotes search the text; <code>#tag</code> a tag; <code>key:value</code> a metadata field; terms are combined with AND.</p>
</form>
${chips(state, suggestions)}
<div class="assets-body">
${tree(levels, state)}
<section class="results" aria-labelledby="results-title">
<h2 id="results-title" class="visually-hidden">Results</h2>
<section id="dropzone" class="dropzone" data-folder="${state.folder}" aria-label="Upload to ${state.folder}">
<p>Drop files or folders here to upload them to <strong>${state.folder}</strong>, or
<input id="pick-files" class="visually-hidden" type="file" multiple><label class="button" for="pick-files">choose files</label>
<input id="pick-folder" class="visually-hidden" type="file" webkitdirectory multiple><label class="button" for="pick-folder">choose a folder</label></p>
<ul id="uploads" class="uploads" aria-live="polite"></ul>
</section>
${first.files.length
  ? html`<ul id="results" class="cards" data-refresh="${stateUrl(state, {}, '/ui/assets/page')}">${cards(first.files, state, first.next)}</ul>`
  : html`<div id="results" class="empty" data-refresh="${stateUrl(state, {}, '/ui/assets/page')}">${state.q || state.type
      ? html`<p>No asset matches this search.</p><p><a href="${stateUrl(state, { q: '', type: '' })}">Clear the filters</a>, or search in <a href="${stateUrl(state, { folder: '/' })}">all folders</a>.</p>`
      : html`<p>No assets in ${state.folder} yet.</p><p>Drop files or a folder above to upload them, or run a flow that imports some (Flows page).</p>`}</div>`}
</section>
<aside id="details" class="details" aria-label="Asset details">${selected ? details({ file: selected, fields, state }) : html`<p class="hint">Select an asset to see and edit its details.</p>`}</aside>
</div>
</div>
<p id="status" class="visually-hidden" role="status"></p>`;
    } catch (error) {
      body = html`<h1>Assets</h1>${problem(error)}<p>Check the connection on the <a href="/ui/connections">Connections</a> page.</p>`;
    }
    return sendPage(reply, request, { title: 'Assets', nav: 'assets', body, scripts: ['assets.js'] });
  });

  ui.get('/assets/page', async (request, reply) => {
    const query = request.query as Record<string, unknown>;
    const state = listState(query);
    const conn = await connectionOf(request, reply);
    if (!conn) return sendFragment(reply, html``);
    const cursor = decodeCursor(query.cursor);
    try {
      const next = await page(conn.client, state, cursor);
      if (!cursor && !next.files.length) return sendFragment(reply, html`<li class="hint">No assets here yet.</li>`);
      return sendFragment(reply, cards(next.files, state, next.next));
    } catch (error) {
      return sendFragment(reply, html`<li class="more">${problem(error)}</li>`);
    }
  });

  ui.post('/assets/connection', async (request, reply) => {
    const name = (request.body as Record<string, unknown> | undefined)?.connection;
    const all = await ctx.options.connections.list();
    if (typeof name === 'string' && all.some((c) => c.name === name)) sessionOf(request).connection = name;
    return reply.redirect('/ui/assets', 303);
  });

  // ---- one asset ----

  type Action = (client: Filerobot, file: FileObject, body: Record<string, unknown>) => Promise<{ file?: FileObject; notice: Html; gone?: boolean }>;

  const asset = (path: string, action: Action): void => {
    ui.post(`/assets/file/:uuid/${path}`, async (request, reply) => {
      const { uuid } = request.params as { uuid: string };
      const conn = await connectionOf(request, reply);
      if (!conn) return sendFragment(reply, notice('error', 'No connection: add one on the Connections page.'), 400);
      const state = listState(request.query as Record<string, unknown>);
      try {
        const file = await conn.client.files.get(uuid);
        const out = await action(conn.client, file, (request.body ?? {}) as Record<string, unknown>);
        if (out.gone) return sendFragment(reply, html`${out.notice}<ul hidden><li id="card-${uuid}" hx-swap-oob="delete"></li></ul>`);
        const fresh = await conn.client.files.get(uuid);
        return sendFragment(reply, details({ file: fresh, fields: await metadataFields(conn.client), state, notice: out.notice }));
      } catch (error) {
        if (error instanceof BadInput) return sendFragment(reply, notice('error', error.message), 422);
        return sendFragment(reply, problem(error), error instanceof APIError && error.status < 500 ? error.status : 502);
      }
    });
  };

  ui.get('/assets/file/:uuid', async (request, reply) => {
    const { uuid } = request.params as { uuid: string };
    const conn = await connectionOf(request, reply);
    if (!conn) return sendFragment(reply, notice('error', 'No connection: add one on the Connections page.'), 400);
    try {
      const file = await conn.client.files.get(uuid);
      const origin = originOf(file.url?.cdn);
      if (origin) ctx.allowImages(origin);
      return sendFragment(reply, details({ file, fields: await metadataFields(conn.client), state: listState(request.query as Record<string, unknown>) }));
    } catch (error) {
      return sendFragment(reply, problem(error), error instanceof APIError && error.status < 500 ? error.status : 502);
    }
  });

  asset('meta', async (client, file, body) => {
    const fields = await metadataFields(client);
    const meta = metaFromForm(body, fields, file.meta ?? {});
    await client.meta.update(file.uuid, meta);
    return { notice: notice('ok', 'Metadata saved.') };
  });

  asset('tags', async (client, file, body) => {
    const wanted = String(body.tags ?? '')
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean);
    if (wanted.some((t) => t.length > 100)) throw new BadInput('A tag is longer than 100 characters: shorten it.');
    const existing: string[] = [];
    const known = new Set<string>();
    for (const refs of Object.values(file.tags ?? {}))
      for (const ref of refs as Array<{ sid: string; label: string }>)
        if (wanted.includes(ref.label)) {
          existing.push(ref.sid);
          known.add(ref.label);
        }
    await client.tags.set(file.uuid, { existing, add: wanted.filter((t) => !known.has(t)) });
    return { notice: notice('ok', wanted.length ? `Tags saved: ${wanted.join(', ')}.` : 'All tags removed.') };
  });

  asset('product', async (client, file, body) => {
    const ref = String(body.ref ?? '').trim();
    if (!ref) {
      if (file.product?.ref) await client.products.detach(file.uuid);
      return { notice: notice('ok', 'Product link removed.') };
    }
    const position = String(body.position ?? '').trim();
    if (position && !/^[1-9]\d{0,5}$/.test(position)) throw new BadInput('Position must be a whole number from 1, or empty.');
    await client.products.attach(file.uuid, { ref, ...(position ? { position: Number(position) } : {}) });
    return { notice: notice('ok', `Linked to product ${ref}.`) };
  });

  asset('rename', async (client, file, body) => {
    const name = String(body.name ?? '').trim();
    if (!name || /[/\\]/.test(name)) throw new BadInput('Give a name without slashes, e.g. red-shoe.jpg.');
    if (name === file.name) return { notice: notice('ok', 'The name is unchanged.') };
    await client.files.rename(file.uuid, name);
    return {
      notice: notice('ok', `Renamed ${file.name} to ${name}.`, { action: `${fileRoute(file)}/rename`, fields: { name: file.name }, label: `Undo: rename back to ${file.name}` }),
    };
  });

  asset('move', async (client, file, body) => {
    const folder = String(body.folder ?? '').trim();
    if (!folder.startsWith('/')) throw new BadInput('Give a folder path starting with /, e.g. /products/shoes.');
    const from = file.folder?.name ?? '/';
    if (folder === from) return { notice: notice('ok', `Already in ${folder}.`) };
    const target = await client.folders.ensure(folder);
    await client.files.move(file.uuid, target.uuid);
    return { notice: notice('ok', `Moved from ${from} to ${target.path}.`, { action: `${fileRoute(file)}/move`, fields: { folder: from }, label: `Undo: move back to ${from}` }) };
  });

  asset('delete', async (client, file) => {
    await client.files.delete(file.uuid);
    return { gone: true, notice: notice('ok', `Deleted ${file.name}. The DAM keeps no copy to restore.`) };
  });

  // ---- uploads ----

  ui.post('/assets/upload', async (request, reply) => uploadRoute(request, reply, ctx, keys, connectionOf));
};

class BadInput extends Error {}

/** The form's meta.* fields, checked against the model, merged over what the asset has. */
function metaFromForm(body: Record<string, unknown>, fields: MetadataField[], current: Record<string, MetaValue>): Record<string, MetaValue> {
  const out: Record<string, MetaValue> = {};
  const byKey = new Map(fields.map((f) => [f.key, f]));
  const keys = new Set([...fields.map((f) => f.key), ...Object.keys(current), ...Object.keys(body).filter((k) => k.startsWith('meta.')).map((k) => k.slice(5))]);
  for (const key of keys) {
    const field = byKey.get(key);
    const raw = body[`meta.${key}`];
    const type = field?.type.toLowerCase() ?? 'text';
    if (type === 'boolean') {
      out[key] = raw === 'true';
      continue;
    }
    if (raw === undefined) continue;
    const values = (Array.isArray(raw) ? raw : [raw]).map(String);
    if (type === 'multi-select') {
      out[key] = values.filter(Boolean);
    } else {
      const value = values[0] ?? '';
      if (field?.required && value.trim() === '') throw new BadInput(`${key} is required: give it a value.`);
      if ((type === 'numeric' || type === 'number') && value !== '' && !Number.isFinite(Number(value)))
        throw new BadInput(`${key} must be a number, e.g. 42 or 3.5.`);
      out[key] = (type === 'numeric' || type === 'number') && value !== '' ? Number(value) : value;
    }
    if (field?.possible_values?.length && type.includes('select')) {
      const allowed = new Set(field.possible_values.map((p) => p.api_value));
      const chosen = Array.isArray(out[key]) ? (out[key] as string[]) : [String(out[key])];
      const bad = chosen.filter((v) => v !== '' && !allowed.has(v));
      if (bad.length) throw new BadInput(`${key} cannot be ${bad.join(', ')}: choose one of ${[...allowed].join(', ')}.`);
    }
  }
  const newKey = String(body.newKey ?? '').trim();
  if (newKey) {
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(newKey)) throw new BadInput('A new field name takes letters, digits, _ . and - only.');
    out[newKey] = String(body.newValue ?? '');
  }
  return out;
}

async function uploadRoute(
  request: FastifyRequest,
  reply: FastifyReply,
  ctx: ConsoleContext,
  keys: UploadKeys,
  connectionOf: (request: FastifyRequest, reply: FastifyReply) => Promise<{ name: string; client: Filerobot } | undefined>,
): Promise<FastifyReply> {
  const fail = (status: number, code: string, msg: string, hint: string): FastifyReply => reply.code(status).send({ status: 'error', code, msg, hint });
  if (!request.headers['content-type']?.startsWith('multipart/form-data'))
    return fail(400, 'NOT_MULTIPART', 'an upload is a multipart/form-data body with a "file" field.', 'Send the file from the Assets page.');
  const conn = await connectionOf(request, reply);
  if (!conn) return fail(400, 'NO_CONNECTION', 'no connection is stored.', 'Add one on the Connections page.');
  const query = request.query as Record<string, unknown>;
  const base = typeof query.folder === 'string' && query.folder.startsWith('/') ? query.folder : '/';
  // A file of a dropped folder keeps its place inside it: "photos/2024/a.jpg" lands in <base>/photos/2024.
  const relative = typeof query.path === 'string' ? query.path : '';
  if (relative.split('/').some((part) => part === '..' || part === '.'))
    return fail(400, 'BAD_PATH', `the path ${relative} has . or .. in it.`, 'Drop the folder itself, not a link out of it.');
  const dirs = relative.split('/').filter(Boolean).slice(0, -1);
  const folder = `${base.replace(/\/+$/, '')}/${dirs.join('/')}`.replace(/\/+$/, '') || '/';
  // The key is for the drop's folder and below: the files of a dropped folder land in its subfolders.
  let uploader: Filerobot;
  try {
    uploader = await keys.uploader(conn.name, conn.client, base, responseEnd(reply.raw));
  } catch (error) {
    // The connection's key cannot mint one (revoked, replaced by a wrong one): the DAM's answer, not a 500.
    if (!(error instanceof APIError)) throw error;
    return fail(error.status >= 400 && error.status < 600 ? error.status : 502, error.code ?? 'UPLOAD_KEY_FAILED', `no upload key could be made with the connection ${conn.name}: ${error.message}`, 'Test the connection on the Connections page.');
  }
  return new Promise<FastifyReply>((resolve) => {
    let handled = false;
    // One file per request, and no room for a flood of other parts.
    const parser = busboy({ headers: request.headers, limits: { files: 1, fields: 8, parts: 9, fieldSize: 64 * 1024 } });
    parser.on('file', (_field, stream, info) => {
      handled = true;
      const name = (info.filename || 'upload').split(/[\\/]/).pop()!;
      uploader.files
        .upload({ data: Readable.from(stream), name }, { folder, ...(info.mimeType ? { contentType: info.mimeType } : {}), via: 'multipart' })
        .then(
          (result) => {
            const cdn = originOf(result.file.url?.cdn);
            if (cdn) ctx.allowImages(cdn);
            resolve(reply.send({ status: 'success', file: { uuid: result.file.uuid, name: result.file.name, folder } }));
          },
          (error: unknown) => {
            stream.resume();
            const status = error instanceof APIError ? error.status : 502;
            resolve(fail(status >= 400 && status < 600 ? status : 502, error instanceof APIError ? error.code ?? 'UPLOAD_FAILED' : 'UPLOAD_FAILED', (error as Error).message, 'Try again; if it keeps failing, check the connection on the Connections page.'));
          },
        );
    });
    parser.on('close', () => {
      if (!handled) resolve(fail(400, 'NO_FILE', 'the upload has no "file" field.', 'Send the file from the Assets page.'));
    });
    parser.on('error', (error: Error) => resolve(fail(400, 'BAD_MULTIPART', error.message, 'Send the file again.')));
    request.raw.pipe(parser);
  });
}
