import { join } from 'node:path';
import { PermissionDeniedError, type Filerobot } from '@sfx/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Action } from '../src/action.js';
import { ACTIONS } from '../src/actions/index.js';
import { PERMISSIONS, type Permission } from '../src/permissions.js';
import {
  startWebhookReceiver,
  TRIGGERS,
  type DamEventOutput,
  type Trigger,
  type WebhookReceiver,
} from '../src/triggers/index.js';
import type { ExampleSeed } from '../src/seed.js';
import { startLocalProject, type LocalProject } from './local-project.js';
import { seedProject } from './seed-project.js';

/*
 * The acceptance suite every action must pass against the local server (issue #5): its example
 * input validates, it runs, its output validates against its output schema (defineAction checks
 * it and throws ActionOutputError otherwise), and a key lacking any one of its permissions gets
 * a permission error naming that permission.
 */

let project: LocalProject;
let root: Filerobot;
let seed: ExampleSeed;
const clientWithout = (missing: Permission): Promise<Filerobot> => project.clientWithout(missing);

beforeAll(async () => {
  // URL import examples fetch an asset from this same server; webhook examples deliver to loopback.
  project = await startLocalProject('acceptance', { allowPrivateUrlImports: true });
  root = project.root;
  seed = await seedProject(root, join(project.dir, 'work'));
});

afterAll(async () => project?.close());

describe.sequential('every action', () => {
  // Refusals first, on the untouched seed, where each example has real work to do (a folder to
  // create, an asset to upload, matches to move), so no permission is skipped by a no-op. Every
  // refused run must also leave its example runnable, which the runs below then prove.
  describe.each(
    ACTIONS.flatMap((action) =>
      action.permissions.map((permission) => [action.id, permission, action] as const),
    ),
  )('%s without %s', (_id, permission, action: Action) => {
    it('is refused with a permission error naming the permission', async () => {
      const client = await clientWithout(permission);
      const error = await action.run({ client }, action.example(seed)).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(PermissionDeniedError);
      expect((error as Error).message).toContain(permission);
    });
  });

  describe.each(ACTIONS.map((action) => [action.id, action] as const))('%s', (_id, action: Action) => {
    it('validates its example, runs it against the local server and returns output of its schema', async () => {
      const example = action.example(seed);
      const parsed = action.input.safeParse(example);
      expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
      const output = await action.run({ client: root }, example);
      // run() already validated the output; check again here so a run() that skipped it fails.
      expect(action.output.safeParse(output).success).toBe(true);
    });
  });
});

describe.sequential('every trigger', () => {
  const polling = TRIGGERS.filter((t) => t.kind === 'polling');
  const webhooks = TRIGGERS.filter((t) => t.kind === 'webhook');

  it.each(TRIGGERS.map((t) => [t.id, t] as const))(
    '%s: its example configuration validates',
    (_id, trigger: Trigger) => {
      const parsed = trigger.input.safeParse(trigger.example(seed));
      expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
    },
  );

  describe.each(
    TRIGGERS.flatMap((trigger) =>
      trigger.permissions.map((permission) => [trigger.id, permission, trigger] as const),
    ),
  )('%s without %s', (_id, permission, trigger: Trigger) => {
    it('is refused with a permission error naming the permission', async () => {
      const client = await clientWithout(permission);
      const attempt =
        trigger.kind === 'polling'
          ? trigger.poll({ client }, trigger.example(seed))
          : trigger.subscribe(
              { client },
              { url: 'http://127.0.0.1:9/hook', events: ['*'], secret: 'a-secret-of-enough-length' },
            );
      const error = await attempt.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(PermissionDeniedError);
      expect((error as Error).message).toContain(permission);
    });
  });

  describe.each(polling.map((t) => [t.id, t] as const))('%s', (_id, trigger) => {
    if (trigger.kind !== 'polling') return;
    it('starts from now, then emits a change made in its folder exactly once, as its output schema', async () => {
      const config = trigger.example(seed);
      const first = await trigger.poll({ client: root }, config);
      expect(first.items).toEqual([]);
      // A change after the watermark's second: a new asset for `assets.new`, an edit of an
      // existing one for `assets.updated` (its example ignores assets created since the last poll).
      await new Promise((r) => setTimeout(r, 1100));
      let changed: string;
      if (trigger.id === 'assets.new') {
        const { file } = await root.files.upload(
          { data: Buffer.from(`fresh for ${trigger.id}`), name: `${trigger.id}.txt` },
          { folder: seed.folder.path },
        );
        changed = file.uuid;
      } else {
        await root.meta.update(seed.file.uuid, { copyright: `changed for ${trigger.id}` });
        changed = seed.file.uuid;
      }
      const second = await trigger.poll({ client: root }, config, JSON.parse(JSON.stringify(first.state)));
      const uuids = second.items.map((item) => (item as { uuid: string }).uuid);
      expect(uuids.filter((u) => u === changed)).toHaveLength(1);
      for (const item of second.items) expect(trigger.output.safeParse(item).success).toBe(true);
      const third = await trigger.poll({ client: root }, config, second.state);
      expect(third.items).toEqual([]);
    });

    it('gives a few samples in test mode', async () => {
      const samples = await trigger.test({ client: root }, trigger.example(seed));
      expect(samples.length).toBeGreaterThan(0);
      expect(samples.length).toBeLessThanOrEqual(3);
      for (const item of samples) expect(trigger.output.safeParse(item).success).toBe(true);
    });
  });

  describe.each(webhooks.map((t) => [t.id, t] as const))('%s', (_id, trigger) => {
    if (trigger.kind !== 'webhook') return;
    let receiver: WebhookReceiver | undefined;
    afterAll(async () => receiver?.close());

    it('gives a few samples in test mode, shaped as the first selected event', async () => {
      const config = trigger.example(seed) as { events: string[] };
      const samples = await trigger.test({ client: root }, config);
      expect(samples.length).toBeGreaterThan(0);
      expect(samples.length).toBeLessThanOrEqual(3);
      for (const item of samples) {
        expect(trigger.output.safeParse(item).success).toBe(true);
        expect(item).toMatchObject({ event: config.events[0], id: expect.stringMatching(/^sample:/) });
      }
      const folderOnly = await trigger.test({ client: root }, { ...config, events: ['folder.created'] });
      for (const item of folderOnly) expect(item).toMatchObject({ event: 'folder.created', folder: expect.any(Object) });
      expect(folderOnly.length).toBeGreaterThan(0);
    });

    it("receives the server's signed delivery of a change in its folder, as its output schema", async () => {
      const env = { SFX_WEBHOOK_SECRET: 'acceptance-webhook-secret' };
      const events: DamEventOutput[] = [];
      receiver = await startWebhookReceiver({
        config: trigger.example(seed) as Parameters<typeof startWebhookReceiver>[0]['config'],
        env,
        onEvent: (e) => void events.push(e),
      });
      const hook = await trigger.subscribe(
        { client: root },
        { url: receiver.url, events: ['*'], secret: env.SFX_WEBHOOK_SECRET },
      );
      const { file } = await root.files.upload(
        { data: Buffer.from('hooked'), name: 'hooked.txt' },
        { folder: seed.folder.path },
      );
      const deadline = Date.now() + 10_000;
      while (!events.some((e) => e.file?.uuid === file.uuid) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      const event = events.find((e) => e.file?.uuid === file.uuid);
      expect(event).toMatchObject({ event: 'file.uploaded' });
      expect(trigger.output.safeParse(event).success).toBe(true);
      await expect(trigger.unsubscribe({ client: root }, hook.uuid)).resolves.toMatchObject({
        deleted: true,
      });
    });
  });
});

describe('what the examples did', () => {
  it('deleted, moved and renamed what the destructive examples name', async () => {
    await expect(root.files.get(seed.files.delete)).rejects.toMatchObject({ status: 404 });
    const moved = await root.files.get(seed.files.move);
    expect(moved.folder).toMatchObject({ uuid: seed.targetFolder.uuid });
    const renamed = await root.files.get(seed.files.rename);
    expect(renamed.name).toBe('renamed.txt');
  });

  it('running a delete again reports the asset as already gone instead of failing', async () => {
    const remove = ACTIONS.find((a) => a.id === 'files.delete')!;
    await expect(remove.run({ client: root }, { uuid: seed.files.delete })).resolves.toMatchObject({
      deleted: false,
      reason: 'not_found',
    });
  });

  it('folders.ensure takes a folder made between its lookup and its create (the 403 "already exists") as found', async () => {
    const ensure = ACTIONS.find((a) => a.id === 'folders.ensure')!;
    const path = '/raced/ensure';
    const made = await root.folders.create(path);
    let lookups = 0;
    // The first lookup ran before the other writer's create landed.
    const late = Object.create(root.folders) as Filerobot['folders'];
    late.findByPath = (p, options) => (lookups++ === 0 ? Promise.resolve(undefined) : root.folders.findByPath(p, options));
    const racing = Object.assign(Object.create(root) as Filerobot, { folders: late });
    await expect(ensure.run({ client: racing }, { path })).resolves.toMatchObject({ folder: { uuid: made.uuid }, created: false });
    expect(lookups).toBe(2);
  });

  it('rejects a bad input before any request, naming the field', async () => {
    const get = ACTIONS.find((a) => a.id === 'files.get')!;
    await expect(get.run({ client: root }, { uuid: 42 })).rejects.toThrow(/uuid/);
  });
});

describe('upsert-asset', () => {
  const upsert = ACTIONS.find((a) => a.id === 'upsert-asset')!;

  it('finds an asset whose name the search grammar would misread (#, -), and adds missing tags', async () => {
    const folder = `${seed.folder.path}/upsert-names`;
    for (const name of ['#1.txt', '-minus.txt']) {
      // Content of its own: the same content twice in a folder is a duplicate, not a second asset.
      const own = { base64: Buffer.from(`upsert ${name}`).toString('base64') };
      const first = (await upsert.run({ client: root }, { source: own, folder, name })) as { status: string };
      const second = (await upsert.run({ client: root }, { source: own, folder, name })) as { status: string };
      expect([name, first.status, second.status]).toEqual([name, 'created', 'unchanged']);
    }
    const page = await root.files.list({ folder });
    expect(page.files.map((f) => f.name).sort()).toEqual(['#1.txt', '-minus.txt']);

    const content = { base64: Buffer.from('upsert #1.txt').toString('base64') };
    const tagged = (await upsert.run({ client: root }, { source: content, folder, name: '#1.txt', tags: ['two'] })) as {
      status: string;
      changed: string[];
      file: { tags?: Record<string, Array<{ label: string }>> };
    };
    expect([tagged.status, tagged.changed]).toEqual(['updated', ['tags']]);
    expect(Object.values(tagged.file.tags ?? {}).flat().map((t) => t.label)).toContain('two');
  });
});

describe('the catalogue', () => {
  it('needs only known permissions and has a unique id per action', () => {
    const ids = new Set(ACTIONS.map((a) => a.id));
    expect(ids.size).toBe(ACTIONS.length);
    for (const action of ACTIONS) for (const p of action.permissions) expect(PERMISSIONS).toContain(p);
  });
});
