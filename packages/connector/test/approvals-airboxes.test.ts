import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Filerobot, PermissionDeniedError } from '@sfx/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Action } from '../src/action.js';
import { airboxActions } from '../src/actions/airboxes.js';
import { approvalActions } from '../src/actions/approvals.js';
import { ACTIONS, getAction } from '../src/actions/index.js';
import { ActionInputError } from '../src/errors.js';
import type { Permission } from '../src/permissions.js';
import { DOC_SEED, type ExampleSeed } from '../src/seed.js';
import { startLocalProject, type LocalProject } from './local-project.js';

/*
 * The approvals.* and airboxes.* actions (inferred endpoints) against the local server, on a seed
 * of their own (the objects seed-project.ts creates for them, plus a folder and an asset): each
 * example runs and its output validates, a key lacking any one permission is refused naming it,
 * and the actions behave as their descriptions say.
 */

let project: LocalProject;
let root: Filerobot;
let seed: ExampleSeed;
const clientFor = (apiKey: string): Filerobot => project.clientFor(apiKey);

const mine = [...approvalActions, ...airboxActions] as unknown as Action[];

beforeAll(async () => {
  project = await startLocalProject('approvals-actions');
  root = project.root;
  const folder = await root.folders.ensure(DOC_SEED.folder.path);
  const { file } = await root.files.upload({ data: Buffer.from('hero'), name: 'hero.txt' }, { folder: folder.path });
  const approver = DOC_SEED.approval.approver;
  const approval = async (message: string) =>
    (await root.approvals.create({ files_uuids: [file.uuid], approvers: [approver], message })).uuid;
  const airbox = async (title: string) =>
    root.airboxes.create({ title, folder: `${folder.path}/airbox`, expires_at: '2099-12-31T00:00:00Z' });
  const seeded = await airbox('Seeded airbox');
  // airboxes.upload sends this local file.
  const localFile = join(project.dir, 'hero-local.txt');
  await writeFile(localFile, 'sent through the airbox');
  seed = {
    ...DOC_SEED,
    localFile,
    folder: { uuid: folder.uuid, path: folder.path },
    file: { uuid: file.uuid, name: file.name, sha1: file.hash?.sha1 ?? '' },
    approval: {
      uuid: await approval('seeded approval'),
      voteUuid: await approval('approval to vote on'),
      cancelUuid: await approval('approval to cancel'),
      approver,
    },
    airbox: { uuid: seeded.uuid, deleteUuid: (await airbox('Airbox to delete')).uuid, puid: seeded.puid, title: DOC_SEED.airbox.title },
  };
});

afterAll(async () => project?.close());

describe('the catalogue entries', () => {
  it('are registered, inferred, and say so', () => {
    const ids = ACTIONS.map((a) => a.id);
    for (const id of [
      'approvals.list',
      'approvals.create',
      'approvals.get',
      'approvals.vote',
      'approvals.cancel',
      'airboxes.list',
      'airboxes.create',
      'airboxes.get',
      'airboxes.update',
      'airboxes.delete',
      'airboxes.upload',
    ]) {
      expect(ids).toContain(id);
      const action = getAction(id);
      expect(action.endpoint).toBe('inferred');
      expect(action.description).toMatch(/inferred/i);
    }
    expect(getAction('approvals.vote').permissions).toEqual(['OBJECTS_APPROVAL_VOTE']);
    expect(getAction('approvals.create').permissions).toEqual(['OBJECTS_APPROVAL_MANAGE']);
    expect(getAction('approvals.cancel').kind).toBe('destructive');
    expect(getAction('airboxes.delete').kind).toBe('destructive');
    // The puid is the credential: no permission, and the key is not sent.
    expect(getAction('airboxes.upload').permissions).toEqual([]);
  });
});

describe.sequential('every approvals/airboxes action', () => {
  describe.each(mine.flatMap((action) => action.permissions.map((p) => [action.id, p, action] as const)))(
    '%s without %s',
    (_id, permission: Permission, action: Action) => {
      it('is refused with a permission error naming the permission', async () => {
        const client = await project.clientWithout(permission);
        const error = await action.run({ client }, action.example(seed)).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(PermissionDeniedError);
        expect((error as Error).message).toContain(permission);
      });
    },
  );

  describe.each(mine.map((action) => [action.id, action] as const))('%s', (_id, action: Action) => {
    it('runs its example and returns output of its schema', async () => {
      const example = action.example(seed);
      expect(action.input.safeParse(example).success).toBe(true);
      const output = await action.run({ client: root }, example);
      expect(action.output.safeParse(output).success).toBe(true);
    });
  });
});

describe('what the examples did', () => {
  it('voted, cancelled, updated and deleted what they name', async () => {
    const voted = await root.approvals.get(seed.approval.voteUuid);
    expect(voted).toMatchObject({ status: 'approved', votes: [{ approver: seed.approval.approver, vote: 'approve' }] });
    expect((await root.approvals.get(seed.approval.cancelUuid)).status).toBe('cancelled');
    expect((await root.approvals.get(seed.approval.uuid)).status).toBe('pending');
    expect((await root.airboxes.get(seed.airbox.uuid)).description).toBe('Open for the summer campaign');
    await expect(root.airboxes.get(seed.airbox.deleteUuid)).rejects.toMatchObject({ status: 404 });
    // airboxes.upload stored the local file in the airbox's folder under the name it gave, with its meta.
    const landed = await root.files.list({ folder: `${seed.folder.path}/airbox` });
    expect(landed.files.map((f) => [f.name, f.meta, f.size])).toEqual([
      ['from-the-agency.jpg', { title: { en: 'Sent through the airbox' } }, expect.objectContaining({ bytes: 'sent through the airbox'.length })],
    ]);
  });

  it('airboxes.upload works with no key at all, and a closed airbox is a not-found error', async () => {
    // No key at all: the airbox's puid is the credential.
    const anonymous = new Filerobot({ endpoint: `${project.server.url}/${project.server.token}`, retry: { maxRetries: 0 } });
    const upload = getAction('airboxes.upload');
    const done = (await upload.run({ client: anonymous }, { puid: seed.airbox.puid, path: seed.localFile, name: 'anonymous.txt' })) as { uploaded: number };
    expect(done.uploaded).toBe(1);
    const closed = await root.airboxes.create({ title: 'Closed', folder: '/closed-airbox', active: false });
    await expect(upload.run({ client: anonymous }, { puid: closed.puid, path: seed.localFile })).rejects.toMatchObject({
      status: 404,
      code: 'AIRBOX_NOT_FOUND',
    });
    await anonymous.close();
  });

  it('a second delete reports the airbox gone; a second cancel changes nothing; a vote on a closed approval is a conflict', async () => {
    await expect(getAction('airboxes.delete').run({ client: root }, { uuid: seed.airbox.deleteUuid })).resolves.toEqual({
      uuid: seed.airbox.deleteUuid,
      deleted: false,
      reason: 'not_found',
    });
    const again = (await getAction('approvals.cancel').run({ client: root }, { uuid: seed.approval.cancelUuid })) as {
      approval: { status: string };
    };
    expect(again.approval.status).toBe('cancelled');
    await expect(
      getAction('approvals.vote').run({ client: root }, { uuid: seed.approval.voteUuid, approver: seed.approval.approver, vote: 'reject' }),
    ).rejects.toMatchObject({ status: 409, code: 'APPROVAL_CLOSED' });
  });

  it('approvals.vote without approver votes as the key; a VOTE-only key cannot vote for someone else', async () => {
    const { uuid } = await root.approvals.create({ files_uuids: [seed.file.uuid], approvers: ['ann@example.com', 'ben@example.com'] });
    const annKey = await root.access.keys.create({ description: 'ann@example.com', permissions: ['OBJECTS_APPROVAL_VOTE'] });
    const ann = clientFor(annKey.secret!);
    const own = (await getAction('approvals.vote').run({ client: ann }, { uuid, vote: 'approve' })) as { vote: { approver: string } };
    expect(own.vote.approver).toBe('ann@example.com');
    await expect(
      getAction('approvals.vote').run({ client: ann }, { uuid, approver: 'ben@example.com', vote: 'approve' }),
    ).rejects.toMatchObject({ status: 403, code: 'VOTE_ON_BEHALF_FORBIDDEN' });
    await root.approvals.cancel(uuid);
  });

  it('lists with filters', async () => {
    const pending = (await getAction('approvals.list').run({ client: root }, { status: ['pending'], file_uuid: seed.file.uuid })) as {
      approvals: Array<{ uuid: string }>;
      total: number;
    };
    // The seeded one to read, and the one approvals.create made.
    expect(pending.total).toBe(2);
    expect(pending.approvals.map((a) => a.uuid)).toContain(seed.approval.uuid);
  });

  it('rejects bad input before any request, naming the field', async () => {
    const cases: Array<[string, Record<string, unknown>, RegExp]> = [
      ['approvals.create', { files_uuids: [seed.file.uuid], approvers: [] }, /approvers/],
      ['approvals.create', { files_uuids: [seed.file.uuid], approvers: ['a'], due_date: 'tomorrow' }, /due_date/],
      ['approvals.create', { files_uuids: [seed.file.uuid], approvers: ['a'], rule: 'most' }, /rule/],
      ['approvals.vote', { uuid: seed.approval.uuid, approver: 'a', vote: 'yes' }, /vote/],
      ['approvals.list', { status: 'open' }, /status/],
      ['airboxes.create', { title: 'x', folder: 'relative' }, /folder/],
      ['airboxes.create', { title: 'x', folder: '/x', max_file_size: 0 }, /max_file_size/],
      ['airboxes.update', { uuid: seed.airbox.uuid }, /at least one field/],
      ['airboxes.upload', { puid: 'a/b', path: seed.localFile }, /puid/],
      ['airboxes.upload', { puid: seed.airbox.puid, path: seed.localFile, name: 'sub/x.txt' }, /name/],
    ];
    for (const [id, input, message] of cases) {
      const error = await getAction(id).run({ client: root }, input).catch((e: unknown) => e);
      expect(error, `${id} ${JSON.stringify(input)}`).toBeInstanceOf(ActionInputError);
      expect((error as Error).message).toMatch(message);
    }
  });
});
