/**
 * What `uses:` can name: `<built-in>.<action>` (fs, csv, json, http, transform, log) or
 * `<connection>.<action>` for any action of the Scaleflex connector's catalogue.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { basename, resolve } from 'node:path';
import { nameSearchTerm, type FileObject } from '@sfx/client';
import { ACTIONS, TRIGGERS, type Action } from '@sfx/connector';
import { z } from 'zod';
import { defineStepAction, type BuiltinConnector, type StepAction, type StepContext } from './step-action.js';
import { nearest } from './suggest.js';
import { syncAction } from './sync/action.js';

export interface ResolvedAction {
  /** `builtin` or `connection`. */
  kind: 'builtin' | 'connection';
  /** The built-in's or the connection's name, as written before the first dot. */
  prefix: string;
  action: StepAction;
}

export class ActionRegistry {
  private readonly builtins = new Map<string, BuiltinConnector>();
  private readonly connectorActions = new Map<string, StepAction>();

  constructor(builtins: readonly BuiltinConnector[]) {
    for (const b of builtins) this.builtins.set(b.name, b);
    for (const a of ACTIONS) this.connectorActions.set(a.id, adaptConnectorAction(a));
    this.connectorActions.set(assetsSource.id, assetsSource as StepAction);
    this.connectorActions.set(syncAction.id, syncAction as StepAction);
  }

  builtinNames(): string[] {
    return [...this.builtins.keys()];
  }

  builtin(name: string): BuiltinConnector | undefined {
    return this.builtins.get(name);
  }

  /** Resolves `uses`, or says what is wrong with a did-you-mean. */
  resolve(uses: string, connections: readonly string[]): ResolvedAction | { problem: string } {
    const dot = uses.indexOf('.');
    const prefix = uses.slice(0, dot);
    const id = uses.slice(dot + 1);
    if (connections.includes(prefix)) {
      const action = this.connectorActions.get(id);
      if (action) return { kind: 'connection', prefix, action };
      if (TRIGGERS.some((t) => t.id === id))
        return { problem: `"${id}" is a trigger, not an action: use it as the flow's trigger {type: poll, uses: ${uses}}.` };
      const near = nearest(id, [...this.connectorActions.keys()]);
      return { problem: `the Scaleflex connector has no action "${id}".${near.length ? ` Did you mean ${near.map((n) => `${prefix}.${n}`).join(', ')}?` : ''} (sfx catalog lists them all.)` };
    }
    const builtin = this.builtins.get(prefix);
    if (builtin) {
      const action = builtin.actions.find((a) => a.id === id);
      if (action) return { kind: 'builtin', prefix, action };
      const near = nearest(id, builtin.actions.map((a) => a.id));
      return {
        problem: `the built-in "${prefix}" has no action "${id}"; it has ${builtin.actions.map((a) => a.id).join(', ')}.${near.length ? ` Did you mean ${prefix}.${near[0]}?` : ''}`,
      };
    }
    const known = [...connections, ...this.builtins.keys()];
    const near = nearest(prefix, known);
    return {
      problem:
        `"${prefix}" is neither a connection of this flow nor a built-in (${[...this.builtins.keys()].join(', ')}).` +
        (near.length ? ` Did you mean ${near.map((n) => `${n}.${id}`).join(', ')}?` : '') +
        (connections.length === 0 ? ` To use the Scaleflex connector, declare a connection: connections: {${prefix}: null} (the default stored connection).` : ''),
    };
  }

  /** A polling trigger of the connector (`assets.new`), for `trigger: {type: poll}`. */
  trigger(id: string): { problem: string } | { id: string } {
    if (TRIGGERS.some((t) => t.id === id && t.kind === 'polling')) return { id };
    const polling = TRIGGERS.filter((t) => t.kind === 'polling').map((t) => t.id);
    const near = nearest(id, polling);
    return { problem: `the Scaleflex connector has no polling trigger "${id}"; it has ${polling.join(', ')}.${near.length ? ` Did you mean ${near[0]}?` : ''}` };
  }
}

function adaptConnectorAction(a: Action): StepAction {
  return {
    id: a.id,
    title: a.title,
    description: a.description,
    input: a.input,
    kind: a.kind,
    idempotent: a.idempotent,
    run: (ctx, input) => a.run({ client: clientOf(ctx, a.id), signal: ctx.signal }, withLocalPaths(ctx, a.id, input)),
    ...(a.id === 'upload-asset' ? { reconcile: reconcileUpload } : {}),
  };
}

/** The local file fields of the connector's actions, as paths into their input. */
const LOCAL_PATHS: Record<string, ReadonlyArray<readonly string[]>> = {
  'upload-asset': [['source', 'path']],
  'upsert-asset': [['source', 'path']],
  'files.upload': [['path']],
  'files.upload-resumable': [['path'], ['resumeFile']],
  'airboxes.upload': [['path']],
  'raw-request': [['saveTo']],
};

/** Local files in a flow are relative to the flow file's folder, not to where sfx was started. */
function withLocalPaths(ctx: StepContext, id: string, input: unknown): unknown {
  const fields = LOCAL_PATHS[id];
  if (!fields || typeof input !== 'object' || input === null) return input;
  const out = structuredClone(input) as Record<string, unknown>;
  for (const path of fields) {
    let parent: Record<string, unknown> | undefined = out;
    for (const key of path.slice(0, -1)) {
      const next: unknown = parent?.[key];
      parent = typeof next === 'object' && next !== null ? (next as Record<string, unknown>) : undefined;
    }
    const last = path[path.length - 1]!;
    if (parent && typeof parent[last] === 'string') parent[last] = resolve(ctx.baseDir, parent[last] as string);
  }
  return out;
}

function clientOf(ctx: StepContext, id: string) {
  if (!ctx.client) throw new Error(`action ${id} needs a connection, and none was opened for it.`);
  return ctx.client;
}

async function sha1OfFile(path: string, signal: AbortSignal): Promise<string> {
  const hash = createHash('sha1');
  for await (const chunk of createReadStream(path, { signal })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

interface UploadInput {
  source: { path: string } | { url: string } | { base64: string };
  folder: string;
  name?: string;
}

/**
 * Did an upload whose outcome is unknown land? Looks in its folder for an asset of that name (or
 * a suffixed one) holding the same content. A URL import has no local bytes to hash: it is
 * looked for by name alone.
 */
async function reconcileUpload(ctx: StepContext, raw: unknown): Promise<{ output: unknown } | undefined> {
  const input = raw as UploadInput;
  const client = clientOf(ctx, 'upload-asset');
  let sha1: string | undefined;
  let name = input.name;
  if ('path' in input.source) {
    const path = resolve(ctx.baseDir, input.source.path);
    sha1 = await sha1OfFile(path, ctx.signal);
    name ??= basename(path);
  } else if ('base64' in input.source) {
    sha1 = createHash('sha1').update(Buffer.from(input.source.base64, 'base64')).digest('hex');
  } else {
    name ??= new URL(input.source.url).pathname.split('/').pop() || undefined;
  }
  if (!name) return undefined;
  const page = await client.files.list({ folder: input.folder, q: nameSearchTerm(name), sort: 'created_at:desc', limit: 100, signal: ctx.signal });
  const found = page.files.find((f: FileObject) => (sha1 ? f.hash?.sha1?.toLowerCase() === sha1 : f.name === name));
  if (!found) return undefined;
  const via = 'path' in input.source ? 'path' : 'base64' in input.source ? 'base64' : 'url';
  return { output: { file: found, duplicate: false, via, changed: ['content'], reconciled: true } };
}

/**
 * Every asset of a folder or search, one by one, a page at a time: a loop over a million assets
 * holds one page. Oldest first, so assets added meanwhile come at the end; the cursor is the
 * position, checked on resume against the asset last seen there.
 */
const assetsSource = defineStepAction({
  id: 'assets',
  title: 'Every asset of a folder or search (streamed)',
  description:
    'Yields the assets of a folder (recursively by default), or those matching a search, oldest first, one page of `pageSize` at a time. Loop over it with forEach; a resumed run goes on after the last asset done.',
  input: z.strictObject({
    folder: z.string().startsWith('/', { error: 'must be a folder path starting with /.' }).default('/'),
    recursive: z.boolean().default(true),
    q: z.string().min(1).optional().describe('Search expression (the API\'s q grammar).'),
    pageSize: z.number().int().min(1).max(4000).default(1000),
  }),
  kind: 'read',
  idempotent: true,
  async *items(ctx, input, after) {
    const client = clientOf(ctx, 'assets');
    let offset = after === undefined ? 0 : Number(after.split(':')[0]) + 1;
    const seen = after === undefined ? undefined : after.split(':')[1];
    for (;;) {
      const page = await client.files.list({
        folder: input.folder,
        recursive: input.recursive,
        ...(input.q ? { q: input.q } : {}),
        sort: 'created_at:asc',
        offset,
        limit: input.pageSize,
        signal: ctx.signal,
      });
      for (const [i, file] of page.files.entries()) {
        // An asset deleted before the resume shifts the listing: step back past what was seen.
        if (seen && i === 0 && offset > 0 && file.uuid !== seen) ctx.log('debug', 'the listing shifted since the last page', { offset });
        yield { item: file, cursor: `${offset + i}:${file.uuid}` };
      }
      if (page.files.length < input.pageSize) return;
      offset += page.files.length;
    }
  },
});
