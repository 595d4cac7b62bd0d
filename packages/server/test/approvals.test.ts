import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApprovalStore, decide } from '../src/store/approvals.js';
import { MIGRATIONS } from '../src/store/schema.js';
import { startHarness, type Harness } from './harness.js';

/** Approvals (inferred: /v5/approvals). */

interface ApprovalDoc {
  uuid: string;
  status: string;
  rule: string;
  requester: string;
  approvers: string[];
  files_uuids: string[];
  due_date: string | null;
  message: string;
  votes: Array<{ approver: string; vote: string; comment: string | null; voted_at: string }>;
  cancel_reason: string | null;
  created_at: string;
  updated_at: string;
  closed_at: string | null;
}

let h: Harness;
const missing = '6f1c1b1e-0000-4000-8000-000000000000';
let files: string[];
const secrets = new Map<string, string>();

beforeAll(async () => {
  h = await startHarness();
  files = [];
  for (const name of ['a.txt', 'b.txt', 'c.txt', 'd.txt']) {
    files.push(((await h.upload('/review', name, `content of ${name}`)).file as { uuid: string }).uuid);
  }
});
afterAll(async () => {
  await h.close();
});

/** A key holding only `permissions`, described as `description`. */
async function key(permissions: string[], description = ''): Promise<string> {
  const id = `${permissions.join('+')}|${description}`;
  if (!secrets.has(id)) {
    const r = await h.call('POST', '/access/keys', { body: { description, permissions } });
    secrets.set(id, (r.body.key as { secret: string }).secret);
  }
  return secrets.get(id)!;
}

async function create(body: Record<string, unknown>, secret?: string): Promise<ApprovalDoc> {
  const r = await h.call('POST', '/approvals', { body, key: secret });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.approval as ApprovalDoc;
}

/** A vote by the approver's own key (a VOTE-only key described as them). */
async function vote(uuid: string, approver: string, value: string, comment?: string) {
  return h.call('POST', `/approvals/${uuid}/votes`, {
    key: await key(['OBJECTS_APPROVAL_VOTE'], approver),
    body: { approver, vote: value, ...(comment === undefined ? {} : { comment }) },
  });
}

describe('creating an approval', () => {
  it('needs OBJECTS_APPROVAL_MANAGE, answers the whole request, and names the key as requester', async () => {
    const manager = await key(['OBJECTS_APPROVAL_MANAGE'], 'Marketing bot');
    const body = {
      files_uuids: [files[0], files[1]],
      approvers: ['Jane@example.com', 'legal', 'jane@example.com'],
      due_date: '2030-06-30',
      message: 'Campaign visuals',
    };
    const denied = await h.call('POST', '/approvals', { body, key: await key(['OBJECTS_APPROVAL_VOTE']) });
    expect([denied.status, denied.body.code]).toEqual([403, 'PERMISSION_DENIED']);
    expect(String(denied.body.msg)).toContain('OBJECTS_APPROVAL_MANAGE');

    const r = await h.call('POST', '/approvals', { body, key: manager });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: 'success', action: 'approval_created' });
    const approval = r.body.approval as ApprovalDoc;
    expect(approval).toMatchObject({
      files_uuids: [files[0], files[1]],
      status: 'pending',
      rule: 'all',
      requester: 'Marketing bot',
      // Duplicates (compared without case) collapse to the first spelling.
      approvers: ['Jane@example.com', 'legal'],
      due_date: '2030-06-30',
      message: 'Campaign visuals',
      votes: [],
      cancel_reason: null,
      closed_at: null,
    });
    expect(approval.uuid).toMatch(/^[0-9a-f-]{36}$/);
    expect(approval.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);

    // Read after write, with OBJECTS_LIST only.
    const reader = await key(['OBJECTS_LIST']);
    const got = await h.call('GET', `/approvals/${approval.uuid}`, { key: reader });
    expect(got.status).toBe(200);
    expect(got.body.approval).toEqual(approval);
  });

  it('takes the requester from the body, else the key uuid when the key has no description', async () => {
    const anonymous = await h.call('POST', '/access/keys', { body: { permissions: ['OBJECTS_APPROVAL_MANAGE'] } });
    const keyDoc = anonymous.body.key as { uuid: string; secret: string };
    const byUuid = await create({ files_uuids: [files[2]], approvers: ['x'] }, keyDoc.secret);
    expect(byUuid.requester).toBe(keyDoc.uuid);
    const named = await create({ files_uuids: [files[2]], approvers: ['x'], requester: 'anna@example.com' });
    expect(named.requester).toBe('anna@example.com');
    // Both stay pending; cancel them so later searches see no approval on c.txt.
    for (const a of [byUuid, named]) expect((await h.call('DELETE', `/approvals/${a.uuid}`)).status).toBe(200);
  });

  it('refuses bad input with a 400 naming the field, and unknown files with a 404 listing them', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ approvers: ['a'] }, 'files_uuids'],
      [{ files_uuids: [], approvers: ['a'] }, 'files_uuids'],
      [{ files_uuids: ['nope'], approvers: ['a'] }, 'files_uuids[0]'],
      [{ files_uuids: [files[0]] }, 'approvers'],
      [{ files_uuids: [files[0]], approvers: [] }, 'approvers'],
      [{ files_uuids: [files[0]], approvers: ['  '] }, 'approvers[0]'],
      [{ files_uuids: [files[0]], approvers: [42] }, 'approvers[0]'],
      [{ files_uuids: [files[0]], approvers: ['a'], rule: 'most' }, 'rule'],
      [{ files_uuids: [files[0]], approvers: ['a'], due_date: 'tomorrow' }, 'due_date'],
      [{ files_uuids: [files[0]], approvers: ['a'], due_date: '2030-02-30' }, 'due_date'],
      [{ files_uuids: [files[0]], approvers: ['a'], message: 5 }, 'message'],
      [{ files_uuids: [files[0]], approvers: ['a'], requester: '' }, 'requester'],
      [{ files_uuids: [files[0]], approvers: ['a'], approver: 'typo' }, 'approver'],
    ];
    for (const [body, field] of cases) {
      const r = await h.call('POST', '/approvals', { body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.status).toBe('error');
      expect(String(r.body.msg), JSON.stringify(body)).toContain(field);
    }
    const noBody = await h.call('POST', '/approvals');
    expect(noBody.status).toBe(400);

    const unknown = await h.call('POST', '/approvals', { body: { files_uuids: [files[0], missing], approvers: ['a'] } });
    expect([unknown.status, unknown.body.code, unknown.body.not_found_uuids]).toEqual([404, 'FILE_NOT_FOUND', [missing]]);
    // Nothing was created by the refused requests.
    const list = await h.call('GET', `/approvals?file_uuid=${files[0]}&approver=a`);
    expect(list.body.approvals).toEqual([]);
  });

  it('keeps a date-time due date as UTC', async () => {
    const a = await create({ files_uuids: [files[3]], approvers: ['z'], due_date: '2030-01-02T10:00:00+02:00' });
    expect(a.due_date).toBe('2030-01-02T08:00:00Z');
    await h.call('DELETE', `/approvals/${a.uuid}`);
  });
});

describe('voting', () => {
  it('rule "all": pending until every approver approved; a second vote replaces the first; closed approvals take no votes', async () => {
    const a = await create({ files_uuids: [files[0]], approvers: ['jane@example.com', 'bob'] });
    const first = await vote(a.uuid, 'JANE@example.com', 'reject', 'too dark');
    expect(first.status).toBe(200);
    // Under "all", one rejection rejects at once, and the approval closes.
    expect((first.body.approval as ApprovalDoc).status).toBe('rejected');
    expect(first.body.vote).toMatchObject({ approver: 'jane@example.com', vote: 'reject', comment: 'too dark' });
    const late = await vote(a.uuid, 'bob', 'approve');
    expect([late.status, late.body.code]).toEqual([409, 'APPROVAL_CLOSED']);

    const b = await create({ files_uuids: [files[0]], approvers: ['jane@example.com', 'bob'] });
    const one = await vote(b.uuid, 'jane@example.com', 'approve', 'first look');
    expect((one.body.approval as ApprovalDoc).status).toBe('pending');
    const again = await vote(b.uuid, 'jane@example.com', 'approve', 'second look');
    const votes = (again.body.approval as ApprovalDoc).votes;
    expect(votes).toHaveLength(1);
    expect(votes[0]).toMatchObject({ approver: 'jane@example.com', vote: 'approve', comment: 'second look' });
    const last = await vote(b.uuid, 'bob', 'approve');
    const closed = last.body.approval as ApprovalDoc;
    expect(closed.status).toBe('approved');
    expect(closed.closed_at).not.toBeNull();
    expect(closed.votes.map((v) => v.approver)).toEqual(['jane@example.com', 'bob']);
    expect((await vote(b.uuid, 'bob', 'reject')).status).toBe(409);
    expect(((await h.call('GET', `/approvals/${b.uuid}`)).body.approval as ApprovalDoc).status).toBe('approved');
  });

  it('rule "any": one approval approves; rejected only when every approver rejected', async () => {
    const a = await create({ files_uuids: [files[1]], approvers: ['a1', 'a2', 'a3'], rule: 'any' });
    expect(((await vote(a.uuid, 'a1', 'reject')).body.approval as ApprovalDoc).status).toBe('pending');
    expect(((await vote(a.uuid, 'a2', 'approve')).body.approval as ApprovalDoc).status).toBe('approved');

    const b = await create({ files_uuids: [files[1]], approvers: ['a1', 'a2'], rule: 'any' });
    expect(((await vote(b.uuid, 'a1', 'reject')).body.approval as ApprovalDoc).status).toBe('pending');
    expect(((await vote(b.uuid, 'a2', 'reject')).body.approval as ApprovalDoc).status).toBe('rejected');
  });

  it('refuses a voter who is not an approver (403), a bad vote (400 naming the field), unknown approvals (404) and keys without OBJECTS_APPROVAL_VOTE', async () => {
    const a = await create({ files_uuids: [files[2]], approvers: ['jane'] });
    const stranger = await vote(a.uuid, 'mallory', 'approve');
    expect([stranger.status, stranger.body.code]).toEqual([403, 'NOT_AN_APPROVER']);
    expect(String(stranger.body.msg)).toContain('mallory');
    // The hint does not tell a stranger who the approvers are.
    expect(JSON.stringify(stranger.body)).not.toContain('jane');

    const bad: Array<[Record<string, unknown>, string]> = [
      [{ approver: 42, vote: 'approve' }, 'approver'],
      [{ approver: 'jane', vote: 'yes' }, 'vote'],
      [{ approver: 'jane' }, 'vote'],
      [{ approver: 'jane', vote: 'approve', comment: ['x'] }, 'comment'],
      [{ approver: 'jane', vote: 'approve', score: 5 }, 'score'],
    ];
    const voter = await key(['OBJECTS_APPROVAL_VOTE'], 'jane');
    for (const [body, field] of bad) {
      const r = await h.call('POST', `/approvals/${a.uuid}/votes`, { key: voter, body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(String(r.body.msg)).toContain(field);
    }
    const unknown = await h.call('POST', `/approvals/${missing}/votes`, { key: voter, body: { approver: 'jane', vote: 'approve' } });
    expect([unknown.status, unknown.body.code]).toEqual([404, 'APPROVAL_NOT_FOUND']);
    const badUuid = await h.call('POST', '/approvals/nope/votes', { key: voter, body: { approver: 'jane', vote: 'approve' } });
    expect([badUuid.status, badUuid.body.code]).toEqual([400, 'INVALID_UUID']);
    const manager = await key(['OBJECTS_APPROVAL_MANAGE']);
    const denied = await h.call('POST', `/approvals/${a.uuid}/votes`, { key: manager, body: { approver: 'jane', vote: 'approve' } });
    expect([denied.status, denied.body.code]).toEqual([403, 'PERMISSION_DENIED']);
    // None of the refused votes counted.
    expect(((await h.call('GET', `/approvals/${a.uuid}`)).body.approval as ApprovalDoc).votes).toEqual([]);
    await h.call('DELETE', `/approvals/${a.uuid}`);
  });

  it('ties the voter to the key: a VOTE-only key votes as itself; voting for someone else needs OBJECTS_APPROVAL_MANAGE too', async () => {
    const a = await create({ files_uuids: [files[2]], approvers: ['jane', 'bob'] });
    const janeKey = await key(['OBJECTS_APPROVAL_VOTE'], 'Jane');
    // No approver: the key's identity (its description), as `requester` takes it.
    const own = await h.call('POST', `/approvals/${a.uuid}/votes`, { key: janeKey, body: { vote: 'approve' } });
    expect(own.status, JSON.stringify(own.body)).toBe(200);
    expect(own.body.vote).toMatchObject({ approver: 'jane', vote: 'approve' });
    // Jane's key cannot vote as bob, and learns nothing about who else may vote.
    const forged = await h.call('POST', `/approvals/${a.uuid}/votes`, { key: janeKey, body: { approver: 'bob', vote: 'approve' } });
    expect([forged.status, forged.body.code]).toEqual([403, 'VOTE_ON_BEHALF_FORBIDDEN']);
    expect(String(forged.body.msg)).toContain('OBJECTS_APPROVAL_MANAGE');
    const anonymousVoter = await key(['OBJECTS_APPROVAL_VOTE']);
    const nobody = await h.call('POST', `/approvals/${a.uuid}/votes`, { key: anonymousVoter, body: { vote: 'approve' } });
    expect([nobody.status, nobody.body.code]).toEqual([403, 'NOT_AN_APPROVER']);
    expect(JSON.stringify(nobody.body)).not.toMatch(/jane|bob/i);
    expect(((await h.call('GET', `/approvals/${a.uuid}`)).body.approval as ApprovalDoc).votes.map((v) => v.approver)).toEqual(['jane']);
    // A key that also manages approvals records a vote on an approver's behalf.
    const manager = await key(['OBJECTS_APPROVAL_VOTE', 'OBJECTS_APPROVAL_MANAGE']);
    const behalf = await h.call('POST', `/approvals/${a.uuid}/votes`, { key: manager, body: { approver: 'bob', vote: 'approve' } });
    expect(behalf.status, JSON.stringify(behalf.body)).toBe(200);
    expect(behalf.body.vote).toMatchObject({ approver: 'bob', vote: 'approve' });
    expect((behalf.body.approval as ApprovalDoc).status).toBe('approved');
  });
});

describe('cancelling', () => {
  it('cancels a pending approval (kept, with its votes), again is a no-op, a decided one is 409, unknown is 404', async () => {
    const a = await create({ files_uuids: [files[3]], approvers: ['p', 'q'] });
    await vote(a.uuid, 'p', 'approve');
    const denied = await h.call('DELETE', `/approvals/${a.uuid}`, { key: await key(['OBJECTS_LIST']) });
    expect(denied.status).toBe(403);
    const r = await h.call('DELETE', `/approvals/${a.uuid}`, { key: await key(['OBJECTS_APPROVAL_MANAGE']) });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ action: 'approval_cancelled', approval_uuid: a.uuid });
    const cancelled = r.body.approval as ApprovalDoc;
    expect(cancelled).toMatchObject({ status: 'cancelled', cancel_reason: 'requested' });
    expect(cancelled.votes).toHaveLength(1);
    const again = await h.call('DELETE', `/approvals/${a.uuid}`);
    expect([again.status, (again.body.approval as ApprovalDoc).status]).toEqual([200, 'cancelled']);
    expect((await vote(a.uuid, 'q', 'approve')).status).toBe(409);

    const b = await create({ files_uuids: [files[3]], approvers: ['p'] });
    await vote(b.uuid, 'p', 'approve');
    const decided = await h.call('DELETE', `/approvals/${b.uuid}`);
    expect([decided.status, decided.body.code]).toEqual([409, 'APPROVAL_CLOSED']);

    expect((await h.call('DELETE', `/approvals/${missing}`)).status).toBe(404);
    expect((await h.call('GET', `/approvals/${missing}`)).body.code).toBe('APPROVAL_NOT_FOUND');
  });
});

describe('listing', () => {
  it('filters by status, file, approver and requester, newest first, with paging', async () => {
    const reader = await key(['OBJECTS_LIST']);
    const list = async (query: string) => {
      const r = await h.call('GET', `/approvals?${query}`, { key: reader });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      return r.body as { approvals: ApprovalDoc[]; info: { total: number; limit: number; offset: number } };
    };
    const x = await create({ files_uuids: [files[0], files[2]], approvers: ['lister-1'], requester: 'req-A' });
    const y = await create({ files_uuids: [files[2]], approvers: ['lister-1', 'lister-2'], requester: 'req-B' });
    const mine = await list('approver=LISTER-1');
    expect(mine.approvals.map((a) => a.uuid)).toEqual([y.uuid, x.uuid]);
    expect(mine.info.total).toBe(2);
    expect((await list('approver=lister-2')).approvals.map((a) => a.uuid)).toEqual([y.uuid]);
    expect((await list('requester=req-a')).approvals.map((a) => a.uuid)).toEqual([x.uuid]);
    const onFile = await list(`file_uuid=${files[2]}&status=pending`);
    expect(onFile.approvals.map((a) => a.uuid)).toEqual([y.uuid, x.uuid]);
    const page = await list('approver=lister-1&limit=1&offset=1');
    expect([page.approvals.map((a) => a.uuid), page.info]).toEqual([[x.uuid], { total: 2, limit: 1, offset: 1 }]);
    await h.call('DELETE', `/approvals/${x.uuid}`);
    expect((await list('approver=lister-1&status=cancelled')).approvals.map((a) => a.uuid)).toEqual([x.uuid]);
    expect((await list('approver=lister-1&status=pending,cancelled')).info.total).toBe(2);
    expect((await list(`file_uuid=${missing}`)).approvals).toEqual([]);
    for (const query of ['status=open', 'limit=0', 'file_uuid=nope']) {
      const r = await h.call('GET', `/approvals?${query}`, { key: reader });
      expect(r.status, query).toBe(400);
      expect(String(r.body.msg)).toContain(query.split('=')[0]!);
    }
    const denied = await h.call('GET', '/approvals', { key: await key(['OBJECTS_APPROVAL_VOTE']) });
    expect([denied.status, String(denied.body.msg)]).toEqual([403, expect.stringContaining('OBJECTS_LIST')]);
    await h.call('DELETE', `/approvals/${y.uuid}`);
  });
});

describe('search grammar and deleted files', () => {
  it('approval_status / task_* search the latest approval of each file that was not cancelled', async () => {
    const own: string[] = [];
    for (const name of ['s1.txt', 's2.txt', 's3.txt']) {
      own.push(((await h.upload('/review/search', name, `search ${name}`)).file as { uuid: string }).uuid);
    }
    const [s1, s2, s3] = own as [string, string, string];
    const q = async (expression: string) => {
      const r = await h.call('GET', `/files?folder=/review/search&q=${encodeURIComponent(expression)}`);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      return (r.body.files as Array<{ uuid: string }>).map((f) => f.uuid).sort();
    };
    const first = await create({ files_uuids: [s1, s2], approvers: ['rev@example.com'], requester: 'studio', due_date: '2031-03-15' });
    expect(await q('approval_status:pending')).toEqual([s1, s2].sort());
    expect(await q('approval_status:empty')).toEqual([s3]);
    expect(await q('task_approver:REV@example.com')).toEqual([s1, s2].sort());
    expect(await q('task_requester:studio')).toEqual([s1, s2].sort());
    expect(await q('task_duedate:2031-03-15')).toEqual([s1, s2].sort());
    expect(await q('task_duedate<2031-03-01')).toEqual([]);
    await vote(first.uuid, 'rev@example.com', 'approve');
    expect(await q('approval_status:approved')).toEqual([s1, s2].sort());
    expect(await q('-approval_status:approved')).toEqual([s3]);

    // A newer request on s2 is what counts for s2; cancelling it brings the earlier one back.
    const second = await create({ files_uuids: [s2], approvers: ['other'] });
    expect(await q('approval_status:approved')).toEqual([s1]);
    expect(await q('approval_status:pending')).toEqual([s2]);
    expect(await q('task_approver:other')).toEqual([s2]);
    await h.call('DELETE', `/approvals/${second.uuid}`);
    expect(await q('approval_status:approved')).toEqual([s1, s2].sort());
    expect(await q('approval_status:cancelled')).toEqual([]);
    // meta.approval_status still reaches a metadata key of that name.
    expect(await q('meta.approval_status:approved')).toEqual([]);
  });

  it('a deleted file leaves its approvals; a pending approval left with no file is cancelled (files_deleted)', async () => {
    const a1 = ((await h.upload('/review/gone', 'g1.txt', 'gone 1')).file as { uuid: string }).uuid;
    const a2 = ((await h.upload('/review/gone', 'g2.txt', 'gone 2')).file as { uuid: string }).uuid;
    const both = await create({ files_uuids: [a1, a2], approvers: ['d'] });
    const decided = await create({ files_uuids: [a1], approvers: ['d'] });
    await vote(decided.uuid, 'd', 'reject');
    const only = await create({ files_uuids: [a2], approvers: ['d'] });

    expect((await h.call('DELETE', `/files/${a1}`)).status).toBe(200);
    const afterOne = (await h.call('GET', `/approvals/${both.uuid}`)).body.approval as ApprovalDoc;
    expect([afterOne.files_uuids, afterOne.status]).toEqual([[a2], 'pending']);
    // A decided approval keeps its decision, now about no file.
    const decidedAfter = (await h.call('GET', `/approvals/${decided.uuid}`)).body.approval as ApprovalDoc;
    expect([decidedAfter.files_uuids, decidedAfter.status]).toEqual([[], 'rejected']);

    // Deleting the folder deletes a2 with it: both remaining approvals lose their last file.
    const folder = (await h.call('GET', '/folders?folder=/review')).body.folders as Array<{ uuid: string; name: string }>;
    const gone = folder.find((f) => f.name === 'gone')!;
    expect((await h.call('DELETE', `/folders/${gone.uuid}`)).status).toBe(200);
    for (const uuid of [both.uuid, only.uuid]) {
      const after = (await h.call('GET', `/approvals/${uuid}`)).body.approval as ApprovalDoc;
      expect(after).toMatchObject({ files_uuids: [], status: 'cancelled', cancel_reason: 'files_deleted' });
      expect(after.closed_at).not.toBeNull();
    }
    expect((await h.call('GET', `/approvals?file_uuid=${a2}`)).body.approvals).toEqual([]);
  });
});

describe('the approvals migration', () => {
  it('upgrades a database holding files, whose later deletion then leaves the approvals', () => {
    const db = new BetterSqlite3(':memory:');
    db.pragma('foreign_keys = ON');
    const last = MIGRATIONS.length - 1;
    for (const step of MIGRATIONS.slice(0, last)) step(db);
    const at = new Date().toISOString();
    db.prepare(`INSERT INTO folders (id, uuid, parent_id, name, path, created_at, updated_at) VALUES (1, 'root', NULL, '', '/', ?, ?)`).run(at, at);
    const insert = db.prepare(
      `INSERT INTO files (uuid, folder_id, name, extension, type, size, sha1, blob_id, created_at, modified_at)
       VALUES (?, 1, ?, 'txt', 'text/plain', 1, 'x', ?, ?, ?)`,
    );
    const ids = ['old-1', 'old-2'].map((name) => Number(insert.run(`${name}-uuid`, `${name}.txt`, name, at, at).lastInsertRowid));
    MIGRATIONS[last]!(db);

    const store = new ApprovalStore(db);
    const approval = store.create({ fileIds: ids, approvers: ['a'], rule: 'all', requester: 'r', dueDate: null, message: '' });
    expect(approval.files_uuids).toEqual(['old-1-uuid', 'old-2-uuid']);
    db.prepare('DELETE FROM files WHERE id = ?').run(ids[0]);
    expect(store.require(approval.uuid)).toMatchObject({ files_uuids: ['old-2-uuid'], status: 'pending' });
    db.prepare('DELETE FROM files WHERE id = ?').run(ids[1]);
    expect(store.require(approval.uuid)).toMatchObject({ files_uuids: [], status: 'cancelled', cancel_reason: 'files_deleted' });
  });

  it('decides by rule', () => {
    expect(decide('all', ['approve', null])).toBe('pending');
    expect(decide('all', ['approve', 'approve'])).toBe('approved');
    expect(decide('all', [null, 'reject'])).toBe('rejected');
    expect(decide('any', ['reject', null])).toBe('pending');
    expect(decide('any', ['reject', 'approve'])).toBe('approved');
    expect(decide('any', ['reject', 'reject'])).toBe('rejected');
  });
});
