import { ConfigurationError } from '../core/errors.js';
import { PagePromise, type PagingOptions } from '../core/pagination.js';
import { Resource, seg, type CallOptions } from './resource.js';

/*
 * Approvals are INFERRED endpoints: the reference shows the permissions (OBJECTS_APPROVAL_MANAGE,
 * OBJECTS_APPROVAL_VOTE) and the search keys (approval_status, task_approver, ...) but no endpoint.
 * The shapes below are the sfx server's design in the API's style; the real service may differ.
 */

export type ApprovalStatus = 'pending' | 'approved' | 'rejected' | 'cancelled';
/** `all`: every approver must approve (one rejection rejects); `any`: one approval approves. */
export type ApprovalRule = 'all' | 'any';
export type ApprovalVoteValue = 'approve' | 'reject';

export interface ApprovalVote {
  approver: string;
  vote: ApprovalVoteValue;
  comment: string | null;
  voted_at: string;
}

export interface Approval {
  uuid: string;
  /** Files still under review (a deleted file leaves the list). */
  files_uuids: string[];
  status: ApprovalStatus;
  rule: ApprovalRule;
  requester: string;
  approvers: string[];
  /** `YYYY-MM-DD`, or a UTC date-time when one was given. */
  due_date: string | null;
  message: string;
  /** One per approver who voted (a later vote replaces theirs), oldest first. */
  votes: ApprovalVote[];
  /** Why it was cancelled: by request, or because every file under review was deleted. */
  cancel_reason: 'requested' | 'files_deleted' | null;
  created_at: string;
  updated_at: string;
  closed_at: string | null;
  [field: string]: unknown;
}

export interface ApprovalInput {
  files_uuids: string[];
  /** User ids or e-mail addresses (matched without case); at least one. */
  approvers: string[];
  rule?: ApprovalRule;
  /** A day (`2026-07-01` or a Date, sent as its UTC day) or an ISO date-time string. */
  due_date?: string | Date;
  message?: string;
  /** Who asks; default: the API key's description (or uuid). */
  requester?: string;
}

export interface ApprovalVoteInput {
  /**
   * Who votes; default: the API key itself (its description, or its uuid), as for `requester`. Naming
   * anyone else (voting on their behalf) needs OBJECTS_APPROVAL_MANAGE as well: a VOTE-only key
   * doing so is a PermissionDeniedError (code VOTE_ON_BEHALF_FORBIDDEN).
   */
  approver?: string;
  vote: ApprovalVoteValue;
  comment?: string;
}

export interface ApprovalListParams extends PagingOptions, CallOptions {
  status?: ApprovalStatus | ApprovalStatus[];
  file_uuid?: string;
  approver?: string;
  requester?: string;
}

export interface ApprovalListPage {
  approvals: Approval[];
  info: { total: number; limit: number; offset: number };
}

function dueDate(value: string | Date | undefined): string | undefined {
  if (value === undefined || typeof value === 'string') return value;
  if (Number.isNaN(value.getTime())) throw new ConfigurationError('"due_date" is an invalid Date.');
  return value.toISOString().slice(0, 10);
}

/** Approval requests on files and their votes (inferred endpoints, v5). */
export class Approvals extends Resource {
  /** Approval requests, newest first. Await for one page; iterate for all. Needs OBJECTS_LIST. */
  list(params: ApprovalListParams = {}): PagePromise<ApprovalListPage, Approval> {
    const { signal, timeoutMs, offset, limit, pageSize, maxItems, status, file_uuid, approver, requester } = params;
    return new PagePromise(
      (page) =>
        this.core.json<ApprovalListPage>({
          method: 'GET',
          path: '/approvals',
          version: 'v5',
          query: {
            status: Array.isArray(status) ? status.join(',') : status,
            file_uuid,
            approver,
            requester,
            limit: page.limit,
            offset: page.offset,
          },
          signal,
          timeoutMs,
        }),
      (page) => page.approvals ?? [],
      (page) => page.info?.total,
      { offset, limit, pageSize, maxItems, defaultLimit: 100 },
    );
  }

  /** Asks approvers to approve or reject files. Needs OBJECTS_APPROVAL_MANAGE. */
  async create(input: ApprovalInput, options: CallOptions = {}): Promise<Approval> {
    return (
      await this.core.json<{ approval: Approval }>({
        method: 'POST',
        path: '/approvals',
        version: 'v5',
        json: { ...input, due_date: dueDate(input.due_date) },
        ...options,
      })
    ).approval;
  }

  /** One approval request with its votes. Needs OBJECTS_LIST. */
  async get(uuid: string, options: CallOptions = {}): Promise<Approval> {
    return (
      await this.core.json<{ approval: Approval }>({
        method: 'GET',
        path: `/approvals/${seg(uuid, 'uuid')}`,
        version: 'v5',
        ...options,
      })
    ).approval;
  }

  /**
   * Records an approver's vote (replacing theirs) and returns the approval with its new status.
   * A voter who is not an approver is a PermissionDeniedError (code NOT_AN_APPROVER); a vote on a
   * closed approval a ConflictError (APPROVAL_CLOSED). Needs OBJECTS_APPROVAL_VOTE; the key votes as
   * itself unless `approver` names someone else, which needs OBJECTS_APPROVAL_MANAGE too.
   */
  async vote(
    uuid: string,
    input: ApprovalVoteInput,
    options: CallOptions = {},
  ): Promise<{ approval: Approval; vote: ApprovalVote }> {
    const reply = await this.core.json<{ approval: Approval; vote: ApprovalVote }>({
      method: 'POST',
      path: `/approvals/${seg(uuid, 'uuid')}/votes`,
      version: 'v5',
      json: input,
      ...options,
    });
    return { approval: reply.approval, vote: reply.vote };
  }

  /**
   * Cancels a pending approval; it stays readable with status `cancelled`. Cancelling it again
   * returns it unchanged; a decided one is a ConflictError. Needs OBJECTS_APPROVAL_MANAGE.
   */
  async cancel(uuid: string, options: CallOptions = {}): Promise<Approval> {
    return (
      await this.core.json<{ approval: Approval }>({
        method: 'DELETE',
        path: `/approvals/${seg(uuid, 'uuid')}`,
        version: 'v5',
        ...options,
      })
    ).approval;
  }
}
