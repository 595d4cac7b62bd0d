import { randomUUID } from 'node:crypto';
import type { Database, Statement } from 'better-sqlite3';
import { ApiError, conflict, notFound } from '../errors.js';
import { now } from './metadata-store.js';

export type ApprovalStatus = 'pending' | 'approved' | 'rejected' | 'cancelled';
export type ApprovalRule = 'all' | 'any';
export type VoteValue = 'approve' | 'reject';

export const APPROVAL_STATUSES: readonly ApprovalStatus[] = ['pending', 'approved', 'rejected', 'cancelled'];

export interface Vote {
  approver: string;
  vote: VoteValue;
  comment: string | null;
  voted_at: string;
}

/** An approval request as the API shows it (times as stored, ISO with milliseconds). */
export interface Approval {
  uuid: string;
  status: ApprovalStatus;
  rule: ApprovalRule;
  requester: string;
  approvers: string[];
  files_uuids: string[];
  due_date: string | null;
  message: string;
  votes: Vote[];
  cancel_reason: 'requested' | 'files_deleted' | null;
  created_at: string;
  updated_at: string;
  closed_at: string | null;
}

export interface NewApproval {
  /** Row ids of existing files, in the order given. */
  fileIds: number[];
  approvers: string[];
  rule: ApprovalRule;
  requester: string;
  dueDate: string | null;
  message: string;
}

export interface ApprovalFilter {
  status?: ApprovalStatus[];
  /** Row id of a file; approvals holding it. */
  fileId?: number;
  approver?: string;
  requester?: string;
  limit: number;
  offset: number;
}

interface ApprovalRow {
  id: number;
  uuid: string;
  status: ApprovalStatus;
  rule: ApprovalRule;
  requester: string;
  due_date: string | null;
  message: string;
  cancel_reason: Approval['cancel_reason'];
  created_at: string;
  updated_at: string;
  closed_at: string | null;
}

interface ApproverRow {
  approver_key: string;
  approver: string;
  vote: VoteValue | null;
  comment: string | null;
  voted_at: string | null;
}

/** How approvers are matched: trimmed and case-insensitive (they are often e-mail addresses). */
export const approverKey = (approver: string): string => approver.trim().toLowerCase();

/**
 * The status the votes give: under `all`, every approver must approve and one rejection rejects;
 * under `any`, one approval approves and only every approver rejecting rejects.
 */
export function decide(rule: ApprovalRule, votes: ReadonlyArray<VoteValue | null>): ApprovalStatus {
  const approvals = votes.filter((v) => v === 'approve').length;
  const rejections = votes.filter((v) => v === 'reject').length;
  if (rule === 'all') {
    if (rejections > 0) return 'rejected';
    return approvals === votes.length ? 'approved' : 'pending';
  }
  if (approvals > 0) return 'approved';
  return rejections === votes.length ? 'rejected' : 'pending';
}

/** Approval requests on files, their approvers and votes (inferred endpoints: reference §1 "not found"). */
export class ApprovalStore {
  private readonly stmt: Record<'byUuid' | 'files' | 'approvers', Statement>;

  constructor(private readonly db: Database) {
    this.stmt = {
      byUuid: db.prepare('SELECT * FROM approvals WHERE uuid = ?'),
      files: db.prepare(
        'SELECT f.uuid FROM approval_files af JOIN files f ON f.id = af.file_id WHERE af.approval_id = ? ORDER BY af.position',
      ),
      approvers: db.prepare(
        'SELECT approver_key, approver, vote, comment, voted_at FROM approval_approvers WHERE approval_id = ? ORDER BY position',
      ),
    };
  }

  create(input: NewApproval): Approval {
    return this.db
      .transaction(() => {
        const at = now();
        const uuid = randomUUID();
        const id = this.db
          .prepare(
            `INSERT INTO approvals (uuid, status, rule, requester, due_date, message, created_at, updated_at)
             VALUES (?, 'pending', ?, ?, ?, ?, ?, ?)`,
          )
          .run(uuid, input.rule, input.requester, input.dueDate, input.message, at, at).lastInsertRowid;
        const file = this.db.prepare('INSERT INTO approval_files (approval_id, file_id, position) VALUES (?, ?, ?)');
        input.fileIds.forEach((fileId, i) => file.run(id, fileId, i));
        const approver = this.db.prepare(
          'INSERT INTO approval_approvers (approval_id, approver_key, approver, position) VALUES (?, ?, ?, ?)',
        );
        input.approvers.forEach((name, i) => approver.run(id, approverKey(name), name, i));
        return this.require(uuid);
      })
      .immediate();
  }

  require(uuid: string): Approval {
    const row = this.stmt.byUuid.get(uuid) as ApprovalRow | undefined;
    if (!row) {
      throw notFound(
        'APPROVAL_NOT_FOUND',
        `No approval has the uuid ${uuid}.`,
        'List approvals with GET /v5/approvals.',
      );
    }
    return this.toApproval(row);
  }

  list(filter: ApprovalFilter): { approvals: Approval[]; total: number } {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.status && filter.status.length > 0) {
      where.push(`a.status IN (${filter.status.map(() => '?').join(', ')})`);
      params.push(...filter.status);
    }
    if (filter.fileId !== undefined) {
      where.push('a.id IN (SELECT approval_id FROM approval_files WHERE file_id = ?)');
      params.push(filter.fileId);
    }
    if (filter.approver !== undefined) {
      where.push('a.id IN (SELECT approval_id FROM approval_approvers WHERE approver_key = ?)');
      params.push(approverKey(filter.approver));
    }
    if (filter.requester !== undefined) {
      where.push('lower(a.requester) = ?');
      params.push(filter.requester.trim().toLowerCase());
    }
    const whereSql = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    const total = (this.db.prepare(`SELECT count(*) AS n FROM approvals a ${whereSql}`).get(...params) as { n: number })
      .n;
    const rows = this.db
      .prepare(`SELECT a.* FROM approvals a ${whereSql} ORDER BY a.id DESC LIMIT ? OFFSET ?`)
      .all(...params, filter.limit, filter.offset) as ApprovalRow[];
    return { approvals: rows.map((r) => this.toApproval(r)), total };
  }

  /**
   * Records (or replaces) one approver's vote on a pending approval and settles its status.
   * `approver` must be one of its approvers (403), and the approval still open (409).
   */
  vote(uuid: string, approver: string, vote: VoteValue, comment: string | null): { approval: Approval; vote: Vote } {
    return this.db
      .transaction(() => {
        const approval = this.require(uuid);
        const row = this.rowOf(uuid);
        const key = approverKey(approver);
        const listed = this.db
          .prepare('SELECT approver FROM approval_approvers WHERE approval_id = ? AND approver_key = ?')
          .get(row.id, key) as { approver: string } | undefined;
        if (!listed) {
          throw new ApiError(
            403,
            'NOT_AN_APPROVER',
            `${JSON.stringify(approver)} is not an approver of approval ${uuid}.`,
            'Only the approvers named when it was created can vote; ask its requester to add you in a new request.',
          );
        }
        if (approval.status !== 'pending') {
          throw conflict(
            'APPROVAL_CLOSED',
            `Approval ${uuid} is ${approval.status}; votes are only taken while it is pending.`,
            'Create a new approval request to review the files again.',
          );
        }
        const at = now();
        this.db
          .prepare(
            'UPDATE approval_approvers SET vote = ?, comment = ?, voted_at = ? WHERE approval_id = ? AND approver_key = ?',
          )
          .run(vote, comment, at, row.id, key);
        const votes = (
          this.db.prepare('SELECT vote FROM approval_approvers WHERE approval_id = ?').all(row.id) as Array<{
            vote: VoteValue | null;
          }>
        ).map((v) => v.vote);
        const status = decide(approval.rule, votes);
        this.db
          .prepare('UPDATE approvals SET status = ?, updated_at = ?, closed_at = ? WHERE id = ?')
          .run(status, at, status === 'pending' ? null : at, row.id);
        return {
          approval: this.require(uuid),
          vote: { approver: listed.approver, vote, comment, voted_at: at },
        };
      })
      .immediate();
  }

  /**
   * Cancels a pending approval (its votes are kept). Cancelling one already cancelled changes
   * nothing; one already approved or rejected is a 409: its decision stands.
   */
  cancel(uuid: string): Approval {
    return this.db
      .transaction(() => {
        const approval = this.require(uuid);
        if (approval.status === 'cancelled') return approval;
        if (approval.status !== 'pending') {
          throw conflict(
            'APPROVAL_CLOSED',
            `Approval ${uuid} is already ${approval.status}; a decided approval cannot be cancelled.`,
            'Create a new approval request to review the files again.',
          );
        }
        const at = now();
        this.db
          .prepare(
            `UPDATE approvals SET status = 'cancelled', cancel_reason = 'requested', updated_at = ?, closed_at = ? WHERE uuid = ?`,
          )
          .run(at, at, uuid);
        return this.require(uuid);
      })
      .immediate();
  }

  private rowOf(uuid: string): ApprovalRow {
    return this.stmt.byUuid.get(uuid) as ApprovalRow;
  }

  private toApproval(row: ApprovalRow): Approval {
    const files = this.stmt.files.all(row.id) as Array<{ uuid: string }>;
    const approvers = this.stmt.approvers.all(row.id) as ApproverRow[];
    const votes = approvers
      .filter((a) => a.vote !== null)
      .map((a) => ({ approver: a.approver, vote: a.vote!, comment: a.comment, voted_at: a.voted_at! }))
      .sort((a, b) => (a.voted_at < b.voted_at ? -1 : a.voted_at > b.voted_at ? 1 : 0));
    return {
      uuid: row.uuid,
      status: row.status,
      rule: row.rule,
      requester: row.requester,
      approvers: approvers.map((a) => a.approver),
      files_uuids: files.map((f) => f.uuid),
      due_date: row.due_date,
      message: row.message,
      votes,
      cancel_reason: row.cancel_reason,
      created_at: row.created_at,
      updated_at: row.updated_at,
      closed_at: row.closed_at,
    };
  }
}
