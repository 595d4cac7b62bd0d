import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BadRequestError,
  ConflictError,
  NotFoundError,
  PermissionDeniedError,
  type Filerobot,
} from '../src/index.js';
import { startFixture, type Fixture } from './server-fixture.js';

/** Contract of client.approvals and client.airboxes (inferred endpoints) against the local server. */

let fx: Fixture;
let client: Filerobot;
let files: string[];
const missing = '6f1c1b1e-0000-4000-8000-000000000000';

beforeAll(async () => {
  fx = await startFixture();
  client = fx.client();
  const report = await client.files.uploadMany(
    ['one', 'two', 'three'].map((n) => ({ source: Buffer.from(`review ${n}`), name: `${n}.txt` })),
    { folder: '/review' },
  );
  files = report.results.flatMap((r) => (r.ok ? [r.file.uuid] : []));
  expect(files).toHaveLength(3);
});

afterAll(async () => {
  await fx.close();
});

/** A client whose key holds only these permissions. */
async function clientWith(...permissions: string[]): Promise<Filerobot> {
  return clientAs(`only ${permissions.join('+')}`, ...permissions);
}

/** A client whose key, described as `description` (its identity as a voter), holds only these permissions. */
async function clientAs(description: string, ...permissions: string[]): Promise<Filerobot> {
  const key = await client.access.keys.create({ description, permissions });
  return fx.client({ apiKey: key.secret! });
}

describe('approvals', () => {
  it('creates, reads, lists, votes to a decision and refuses votes after it', async () => {
    const manager = await clientWith('OBJECTS_APPROVAL_MANAGE');
    const approval = await manager.approvals.create({
      files_uuids: [files[0]!, files[1]!],
      approvers: ['jane@example.com', 'bob'],
      due_date: new Date('2030-06-30T12:00:00Z'),
      message: 'Campaign',
    });
    expect(approval).toMatchObject({
      status: 'pending',
      rule: 'all',
      requester: 'only OBJECTS_APPROVAL_MANAGE',
      approvers: ['jane@example.com', 'bob'],
      files_uuids: [files[0], files[1]],
      due_date: '2030-06-30',
      votes: [],
    });

    const reader = await clientWith('OBJECTS_LIST');
    expect(await reader.approvals.get(approval.uuid)).toEqual(approval);
    const page = await reader.approvals.list({ file_uuid: files[1], status: ['pending'] });
    expect(page.approvals.map((a) => a.uuid)).toEqual([approval.uuid]);
    expect(page.info.total).toBe(1);

    // Jane's own key votes as her (no approver: the key's description); it cannot vote as bob.
    const jane = await clientAs('JANE@example.com', 'OBJECTS_APPROVAL_VOTE');
    const first = await jane.approvals.vote(approval.uuid, { vote: 'approve', comment: 'ok' });
    expect(first.approval.status).toBe('pending');
    expect(first.vote).toMatchObject({ approver: 'jane@example.com', vote: 'approve', comment: 'ok' });
    const forged = await jane.approvals.vote(approval.uuid, { approver: 'bob', vote: 'approve' }).catch((e: unknown) => e);
    expect(forged).toBeInstanceOf(PermissionDeniedError);
    expect((forged as PermissionDeniedError).code).toBe('VOTE_ON_BEHALF_FORBIDDEN');
    // A key that also manages approvals votes on bob's behalf.
    const voter = await clientWith('OBJECTS_APPROVAL_VOTE', 'OBJECTS_APPROVAL_MANAGE');
    const second = await voter.approvals.vote(approval.uuid, { approver: 'bob', vote: 'approve' });
    expect(second.approval.status).toBe('approved');
    expect(second.approval.votes.map((v) => v.approver)).toEqual(['jane@example.com', 'bob']);

    const late = await voter.approvals.vote(approval.uuid, { approver: 'bob', vote: 'reject' }).catch((e: unknown) => e);
    expect(late).toBeInstanceOf(ConflictError);
    expect((late as ConflictError).code).toBe('APPROVAL_CLOSED');
    await expect(manager.approvals.cancel(approval.uuid)).rejects.toBeInstanceOf(ConflictError);

    // Files can be found by their approval status.
    const found = await client.files.list({ folder: '/review', q: 'approval_status:approved' });
    expect(found.files?.map((f) => f.uuid).sort()).toEqual([files[0], files[1]].sort());
  });

  it('cancels (idempotently) and iterates every approval', async () => {
    const a = await client.approvals.create({ files_uuids: [files[2]!], approvers: ['x'], rule: 'any' });
    const b = await client.approvals.create({ files_uuids: [files[2]!], approvers: ['y'], requester: 'studio' });
    expect((await client.approvals.cancel(a.uuid)).status).toBe('cancelled');
    expect((await client.approvals.cancel(a.uuid)).cancel_reason).toBe('requested');
    const all: string[] = [];
    for await (const approval of client.approvals.list({ file_uuid: files[2], pageSize: 1 })) all.push(approval.uuid);
    expect(all).toEqual([b.uuid, a.uuid]);
    expect((await client.approvals.list({ requester: 'studio' })).approvals.map((x) => x.uuid)).toEqual([b.uuid]);
  });

  it('maps refusals to typed errors: missing permission, not an approver, bad input, unknown uuid', async () => {
    const approval = await client.approvals.create({ files_uuids: [files[2]!], approvers: ['jane'] });
    const reader = await clientWith('OBJECTS_LIST');
    const denied = await reader.approvals.vote(approval.uuid, { approver: 'jane', vote: 'approve' }).catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(PermissionDeniedError);
    expect((denied as Error).message).toContain('OBJECTS_APPROVAL_VOTE');
    await expect(reader.approvals.create({ files_uuids: [files[2]!], approvers: ['a'] })).rejects.toBeInstanceOf(PermissionDeniedError);
    const voter = await clientWith('OBJECTS_APPROVAL_VOTE');
    await expect(voter.approvals.list()).rejects.toBeInstanceOf(PermissionDeniedError);

    const stranger = await client.approvals.vote(approval.uuid, { approver: 'mallory', vote: 'approve' }).catch((e: unknown) => e);
    expect(stranger).toBeInstanceOf(PermissionDeniedError);
    expect((stranger as PermissionDeniedError).code).toBe('NOT_AN_APPROVER');

    const bad = await client.approvals.create({ files_uuids: [files[2]!], approvers: [] }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(BadRequestError);
    expect((bad as Error).message).toContain('approvers');
    await expect(client.approvals.get(missing)).rejects.toBeInstanceOf(NotFoundError);
    await expect(client.approvals.cancel(missing)).rejects.toBeInstanceOf(NotFoundError);
    const noFile = await client.approvals.create({ files_uuids: [missing], approvers: ['a'] }).catch((e: unknown) => e);
    expect(noFile).toBeInstanceOf(NotFoundError);
  });
});

describe('airboxes', () => {
  it('creates, reads, lists, updates, reads the public config without a key, and deletes', async () => {
    const manager = await clientWith('OBJECTS_AIRBOX_MANAGE');
    const airbox = await manager.airboxes.create({
      title: 'Agency uploads',
      folder: '/inbox/agency',
      description: 'Drop here',
      expires_at: new Date('2099-01-01T00:00:00Z'),
      max_file_size: 1_000_000,
    });
    expect(airbox).toMatchObject({ title: 'Agency uploads', folder: '/inbox/agency', active: true, expires_at: '2099-01-01T00:00:00Z' });
    expect(airbox.folder_uuid).toBe((await client.folders.ensure('/inbox/agency')).uuid);
    expect(await manager.airboxes.get(airbox.uuid)).toEqual(airbox);
    expect((await manager.airboxes.list()).airboxes.map((a) => a.uuid)).toContain(airbox.uuid);

    // The public read: a client with no key at all.
    const anonymous = fx.client({ apiKey: undefined });
    const config = await anonymous.airboxes.publicConfig(airbox.puid, 'agency-uploads');
    expect(config).toMatchObject({ puid: airbox.puid, title: 'Agency uploads', description: 'Drop here', upload: { max_file_size: 1_000_000 } });

    const closed = await manager.airboxes.update(airbox.uuid, { active: false, expires_at: null, max_file_size: null });
    expect(closed).toMatchObject({ active: false, expires_at: null, max_file_size: null });
    await expect(anonymous.airboxes.publicConfig(airbox.puid)).rejects.toBeInstanceOf(NotFoundError);

    await manager.airboxes.delete(airbox.uuid);
    await expect(manager.airboxes.get(airbox.uuid)).rejects.toBeInstanceOf(NotFoundError);
    await expect(manager.airboxes.delete(airbox.uuid)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('maps refusals to typed errors', async () => {
    const other = await clientWith('OBJECTS_LIST', 'OBJECTS_APPROVAL_MANAGE');
    const denied = await other.airboxes.list().catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(PermissionDeniedError);
    expect((denied as Error).message).toContain('OBJECTS_AIRBOX_MANAGE');
    await expect(other.airboxes.create({ title: 'x', folder: '/x' })).rejects.toBeInstanceOf(PermissionDeniedError);
    const bad = await client.airboxes.create({ title: 'x', folder: '/x', max_file_size: -1 }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(BadRequestError);
    expect((bad as Error).message).toContain('max_file_size');
    await expect(client.airboxes.update(missing, { active: true })).rejects.toBeInstanceOf(NotFoundError);
    await expect(client.airboxes.get(missing)).rejects.toBeInstanceOf(NotFoundError);
  });
});
