import { ApiError, badRequest } from '../errors.js';
import type { Call, RouteSpec } from '../http/route.js';
import {
  APPROVAL_STATUSES,
  approverKey,
  type Approval,
  type ApprovalRule,
  type ApprovalStatus,
  type VoteValue,
} from '../store/approvals.js';
import { bodyObject, intParam, stringParam, uuidList, uuidParam } from './params.js';
import { apiTime } from './serialize.js';

/*
 * Approvals: inferred endpoints. The reference lists the permissions OBJECTS_APPROVAL_MANAGE and
 * OBJECTS_APPROVAL_VOTE and the search keys approval_status / task_approver / task_requester /
 * task_duedate, but no endpoint (§1, rows "not found"); these are designed in the API's style.
 * Reading needs OBJECTS_LIST: what an approval says about files is what a search by
 * approval_status shows to the same key.
 */

const MAX_FILES = 1000;
const MAX_APPROVERS = 50;
const MAX_TEXT = 2000;

export function approvalObject(approval: Approval): Record<string, unknown> {
  return {
    uuid: approval.uuid,
    files_uuids: approval.files_uuids,
    status: approval.status,
    rule: approval.rule,
    requester: approval.requester,
    approvers: approval.approvers,
    due_date: approval.due_date,
    message: approval.message,
    votes: approval.votes.map((v) => ({ ...v, voted_at: apiTime(v.voted_at) })),
    cancel_reason: approval.cancel_reason,
    created_at: apiTime(approval.created_at),
    updated_at: apiTime(approval.updated_at),
    closed_at: approval.closed_at === null ? null : apiTime(approval.closed_at),
  };
}

function rejectUnknown(body: Record<string, unknown>, fields: readonly string[]): void {
  const extra = Object.keys(body).filter((k) => !fields.includes(k));
  if (extra.length > 0) {
    throw badRequest(
      'INVALID_PARAMETER',
      `Unknown field${extra.length > 1 ? 's' : ''}: ${extra.join(', ')}.`,
      `Fields: ${fields.join(', ')}.`,
    );
  }
}

/** A person named in an approval: a user id or an e-mail address, 1-254 characters. */
function person(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.trim() === '' || value.trim().length > 254 || /[\u0000-\u001f]/.test(value)) {
    throw badRequest(
      'INVALID_PARAMETER',
      `"${field}" must be a user id or e-mail address of 1-254 characters.`,
      'Example: "jane@example.com"',
    );
  }
  return value.trim();
}

function approvers(value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw badRequest(
      'INVALID_PARAMETER',
      '"approvers" must be a non-empty array of user ids or e-mail addresses.',
      'Example: {"approvers": ["jane@example.com", "legal-team"]}',
    );
  }
  if (value.length > MAX_APPROVERS) {
    throw badRequest(
      'INVALID_PARAMETER',
      `"approvers" holds ${value.length} entries; at most ${MAX_APPROVERS} are accepted.`,
    );
  }
  const seen = new Map<string, string>();
  value.forEach((raw, i) => {
    const name = person(raw, `approvers[${i}]`);
    if (!seen.has(approverKey(name))) seen.set(approverKey(name), name);
  });
  return [...seen.values()];
}

function rule(value: unknown): ApprovalRule {
  if (value === undefined || value === null) return 'all';
  if (value !== 'all' && value !== 'any') {
    throw badRequest(
      'INVALID_PARAMETER',
      `"rule" must be "all" (every approver must approve) or "any" (one approval is enough); got ${JSON.stringify(value)}.`,
    );
  }
  return value;
}

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** `YYYY-MM-DD` stays a day; a date-time is stored as UTC ISO. */
export function dueDate(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  const bad = (): ApiError =>
    badRequest(
      'INVALID_PARAMETER',
      `"due_date" must be an ISO date such as 2026-07-01 (or a date-time such as 2026-07-01T17:00:00Z); got ${JSON.stringify(value)}.`,
    );
  if (typeof value !== 'string') throw bad();
  const day = DAY.exec(value);
  if (day) {
    const date = new Date(`${value}T00:00:00Z`);
    if (Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10) !== value) throw bad();
    return value;
  }
  if (!/^\d{4}-\d{2}-\d{2}T/.test(value)) throw bad();
  const ms = Date.parse(value);
  if (!Number.isFinite(ms)) throw bad();
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function text(value: unknown, field: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || value.length > MAX_TEXT) {
    throw badRequest('INVALID_PARAMETER', `"${field}" must be a string of at most ${MAX_TEXT} characters.`);
  }
  return value;
}

/** Who the calling key is in approvals: its description (or its uuid when it has none); a SASS key's template name. */
function keyIdentity(call: Call): string {
  const principal = call.principal;
  if (principal?.kind === 'api-key') return principal.key.description.trim() || principal.key.uuid;
  if (principal?.kind === 'sass') return principal.sass.template.name;
  return 'unknown';
}

/** Who asks: the body's `requester`, else the key's identity. */
function requester(call: Call, value: unknown): string {
  if (value !== undefined && value !== null) return person(value, 'requester');
  return keyIdentity(call);
}

/**
 * Who votes: the key itself (its identity, as `requester` has it) unless the body names someone
 * else, which only a key that also holds OBJECTS_APPROVAL_MANAGE may do (voting on their behalf).
 */
function voter(call: Call, value: unknown): string {
  const self = keyIdentity(call);
  if (value === undefined || value === null) return self;
  const named = person(value, 'approver');
  if (approverKey(named) === approverKey(self) || call.principal?.permissions.has('OBJECTS_APPROVAL_MANAGE')) return named;
  throw new ApiError(
    403,
    'VOTE_ON_BEHALF_FORBIDDEN',
    `This key votes as ${JSON.stringify(self)}; voting as ${JSON.stringify(named)} needs OBJECTS_APPROVAL_MANAGE as well.`,
    `Leave "approver" out (or send ${JSON.stringify(self)}) to vote as this key, use the key of that approver (its description names them), or a key that also has OBJECTS_APPROVAL_MANAGE.`,
  );
}

function createApproval(call: Call): Record<string, unknown> {
  const body = bodyObject(call.body);
  rejectUnknown(body, ['files_uuids', 'approvers', 'rule', 'due_date', 'message', 'requester']);
  if (body.files_uuids === undefined) {
    throw badRequest(
      'INVALID_PARAMETER',
      '"files_uuids" is required: the files to review.',
      'Example: {"files_uuids": ["<uuid>"], "approvers": ["jane@example.com"]}',
    );
  }
  const uuids = uuidList(body.files_uuids, 'files_uuids', MAX_FILES);
  const input = {
    approvers: approvers(body.approvers),
    rule: rule(body.rule),
    dueDate: dueDate(body.due_date),
    message: text(body.message, 'message') ?? '',
    requester: requester(call, body.requester),
  };
  const { store, catalog } = call.ctx;
  const approval = store.transaction(() => {
    const missing: string[] = [];
    const fileIds: number[] = [];
    for (const uuid of uuids) {
      const file = store.fileByUuid(uuid);
      if (file) fileIds.push(file.id);
      else missing.push(uuid);
    }
    if (missing.length > 0) {
      throw new ApiError(
        404,
        'FILE_NOT_FOUND',
        `${missing.length} of the files to review do not exist.`,
        'Remove the uuids listed in "not_found_uuids".',
        { not_found_uuids: missing },
      );
    }
    return catalog.approvals.create({ ...input, fileIds });
  });
  return { action: 'approval_created', approval: approvalObject(approval) };
}

function statusFilter(value: unknown): ApprovalStatus[] | undefined {
  const raw = stringParam(value, 'status', 200);
  if (raw === undefined || raw.trim() === '') return undefined;
  const values = raw.split(',').map((v) => v.trim().toLowerCase());
  const unknown = values.filter((v) => !(APPROVAL_STATUSES as readonly string[]).includes(v));
  if (unknown.length > 0) {
    throw badRequest(
      'INVALID_PARAMETER',
      `"status" must be one or more of ${APPROVAL_STATUSES.join(', ')} (comma-separated); got ${JSON.stringify(raw)}.`,
    );
  }
  return values as ApprovalStatus[];
}

function listApprovals(call: Call): Record<string, unknown> {
  const { query } = call;
  const limit = intParam(query.limit, 'limit', { min: 1, max: 4000, fallback: 100 });
  const offset = intParam(query.offset, 'offset', { min: 0, max: Number.MAX_SAFE_INTEGER, fallback: 0 });
  const status = statusFilter(query.status);
  const fileUuidRaw = stringParam(query.file_uuid, 'file_uuid', 100);
  const approver = stringParam(query.approver, 'approver', 254);
  const requesterName = stringParam(query.requester, 'requester', 254);
  let fileId: number | undefined;
  if (fileUuidRaw !== undefined && fileUuidRaw !== '') {
    // A file that does not exist (or no longer does) is in no approval.
    const file = call.ctx.store.fileByUuid(uuidParam(fileUuidRaw, 'file_uuid'));
    if (!file) return { approvals: [], info: { total: 0, limit, offset } };
    fileId = file.id;
  }
  const { approvals, total } = call.ctx.catalog.approvals.list({
    status,
    fileId,
    approver: approver === '' ? undefined : approver,
    requester: requesterName === '' ? undefined : requesterName,
    limit,
    offset,
  });
  return { approvals: approvals.map(approvalObject), info: { total, limit, offset } };
}

function vote(call: Call): Record<string, unknown> {
  const uuid = uuidParam(call.params.uuid, 'uuid');
  const { approvals } = call.ctx.catalog;
  approvals.require(uuid);
  const body = bodyObject(call.body);
  rejectUnknown(body, ['approver', 'vote', 'comment']);
  if (body.vote !== 'approve' && body.vote !== 'reject') {
    throw badRequest(
      'INVALID_PARAMETER',
      `"vote" must be "approve" or "reject"; got ${JSON.stringify(body.vote)}.`,
      'Example: {"vote": "approve", "comment": "Looks good"} (add "approver" to vote for someone else, with OBJECTS_APPROVAL_MANAGE)',
    );
  }
  const approver = voter(call, body.approver);
  const result = approvals.vote(uuid, approver, body.vote as VoteValue, text(body.comment, 'comment'));
  return {
    action: 'approval_voted',
    approval: approvalObject(result.approval),
    vote: { ...result.vote, voted_at: apiTime(result.vote.voted_at) },
  };
}

export const approvalRoutes: RouteSpec[] = [
  {
    method: 'GET',
    path: '/approvals',
    versions: ['v5'],
    permissions: ['OBJECTS_LIST'],
    summary: 'List approval requests, newest first; filter by status, file_uuid, approver, requester (inferred)',
    handler: listApprovals,
  },
  {
    method: 'POST',
    path: '/approvals',
    versions: ['v5'],
    permissions: ['OBJECTS_APPROVAL_MANAGE'],
    summary: 'Ask approvers to approve or reject files (inferred)',
    handler: createApproval,
  },
  {
    method: 'GET',
    path: '/approvals/:uuid',
    versions: ['v5'],
    permissions: ['OBJECTS_LIST'],
    summary: 'Approval request details with its votes (inferred)',
    handler: (call) => ({
      approval: approvalObject(call.ctx.catalog.approvals.require(uuidParam(call.params.uuid, 'uuid'))),
    }),
  },
  {
    method: 'DELETE',
    path: '/approvals/:uuid',
    versions: ['v5'],
    permissions: ['OBJECTS_APPROVAL_MANAGE'],
    summary: 'Cancel a pending approval request; it stays readable with status "cancelled" (inferred)',
    handler: (call) => {
      const approval = call.ctx.catalog.approvals.cancel(uuidParam(call.params.uuid, 'uuid'));
      return { action: 'approval_cancelled', approval_uuid: approval.uuid, approval: approvalObject(approval) };
    },
  },
  {
    method: 'POST',
    path: '/approvals/:uuid/votes',
    versions: ['v5'],
    permissions: ['OBJECTS_APPROVAL_VOTE'],
    summary: "Record an approver's vote (a new vote replaces theirs) and settle the status (inferred)",
    handler: vote,
  },
];
