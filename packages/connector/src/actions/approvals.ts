import { z } from 'zod';
import { defineAction } from '../action.js';
import { limit, offset, uuid, uuidList } from '../schemas.js';

/*
 * Approvals are INFERRED endpoints: the reference names the permissions and the search keys
 * (approval_status, task_approver, ...) but shows no endpoint, so the sfx server designs them in
 * the API's style (docs/server.md, "Inferred endpoints"). The real service may differ.
 */

const group = 'approvals';
const INFERRED = 'Inferred endpoint: designed in the API\'s style, the real service may differ.';

const status = z.enum(['pending', 'approved', 'rejected', 'cancelled'], {
  error: 'must be "pending", "approved", "rejected" or "cancelled".',
});

const person = (what: string) =>
  z
    .string({ error: `must be a string: the ${what}'s user id or e-mail address.` })
    .trim()
    .min(1, { error: `must not be empty: give the ${what}'s user id or e-mail address.` })
    .max(254, { error: 'must be at most 254 characters long.' })
    .describe(`The ${what}: a user id or e-mail address (matched without case).`);

const day = z
  .string({ error: 'must be a string: an ISO date such as "2026-07-01".' })
  .regex(/^\d{4}-\d{2}-\d{2}(T.+)?$/, { error: 'must be an ISO date such as "2026-07-01" (or a date-time "2026-07-01T17:00:00Z").' })
  .refine((value) => !Number.isNaN(Date.parse(value)), { error: 'must be a real date, e.g. "2026-07-01".' });

const vote = z.looseObject({
  approver: z.string(),
  vote: z.enum(['approve', 'reject']),
  comment: z.string().nullable(),
  voted_at: z.string(),
});

export const approvalObject = z.looseObject({
  uuid: z.string(),
  files_uuids: z.array(z.string()),
  status,
  rule: z.enum(['all', 'any']),
  requester: z.string(),
  approvers: z.array(z.string()),
  due_date: z.string().nullable(),
  message: z.string(),
  votes: z.array(vote),
  cancel_reason: z.enum(['requested', 'files_deleted']).nullable(),
  created_at: z.string(),
  updated_at: z.string(),
  closed_at: z.string().nullable(),
});

const approvalUuid = () => uuid('approval uuid');

export const listApprovals = defineAction({
  id: 'approvals.list',
  title: 'List approvals',
  description: `Approval requests, newest first, optionally only those with a status, on a file, for an approver or from a requester. ${INFERRED}`,
  group,
  permissions: ['OBJECTS_LIST'],
  kind: 'read',
  idempotent: true,
  endpoint: 'inferred',
  input: z.strictObject({
    status: z
      .union([status, z.array(status).min(1, { error: 'needs at least one status.' })])
      .optional()
      .describe('Only approvals with this status (or one of these).'),
    file_uuid: uuid('asset uuid').optional().describe('Only approvals that hold this asset.'),
    approver: person('approver').optional(),
    requester: person('requester').optional(),
    limit: limit(100),
    offset,
  }),
  output: z.strictObject({ approvals: z.array(approvalObject), total: z.number().int() }),
  example: () => ({ status: 'pending' as const, limit: 20 }),
  run: async ({ client, signal }, input) => {
    const page = await client.approvals.list({ ...input, signal });
    return { approvals: page.approvals, total: page.info.total };
  },
});

export const createApproval = defineAction({
  id: 'approvals.create',
  title: 'Request an approval',
  description: `Asks approvers to approve or reject assets: with rule "all" every approver must approve (one rejection rejects), with "any" one approval is enough. The requester defaults to the API key's description. ${INFERRED}`,
  group,
  permissions: ['OBJECTS_APPROVAL_MANAGE'],
  kind: 'write',
  idempotent: false,
  endpoint: 'inferred',
  input: z.strictObject({
    files_uuids: uuidList('asset uuid'),
    approvers: z
      .array(person('approver'), { error: 'must be a list of user ids or e-mail addresses.' })
      .min(1, { error: 'needs at least one approver.' })
      .max(50, { error: 'takes at most 50 approvers.' }),
    rule: z
      .enum(['all', 'any'], { error: 'must be "all" (every approver approves) or "any" (one is enough).' })
      .optional()
      .describe('"all" (default): every approver must approve; "any": one approval is enough.'),
    due_date: day.optional().describe('When the decision is due: "2026-07-01" or a date-time.'),
    message: z.string().max(2000, { error: 'must be at most 2000 characters long.' }).optional().describe('A note for the approvers.'),
    requester: person('requester').optional(),
  }),
  output: z.strictObject({ approval: approvalObject }),
  example: (seed) => ({
    files_uuids: [seed.file.uuid],
    approvers: ['jane@example.com', 'legal@example.com'],
    rule: 'all' as const,
    due_date: '2099-06-30',
    message: 'Hero image for the summer campaign',
  }),
  run: async ({ client, signal }, input) => ({ approval: await client.approvals.create(input, { signal }) }),
});

export const getApproval = defineAction({
  id: 'approvals.get',
  title: 'Get an approval',
  description: `An approval request with its status and votes. ${INFERRED}`,
  group,
  permissions: ['OBJECTS_LIST'],
  kind: 'read',
  idempotent: true,
  endpoint: 'inferred',
  input: z.strictObject({ uuid: approvalUuid() }),
  output: z.strictObject({ approval: approvalObject }),
  example: (seed) => ({ uuid: seed.approval.uuid }),
  run: async ({ client, signal }, input) => ({ approval: await client.approvals.get(input.uuid, { signal }) }),
});

export const voteApproval = defineAction({
  id: 'approvals.vote',
  title: 'Vote on an approval',
  description: `Records an approver's vote ("approve" or "reject"); a later vote by the same approver replaces theirs, and the approval's status follows its rule. The API key votes as itself (its description, else its uuid) unless "approver" names someone else, which needs OBJECTS_APPROVAL_MANAGE too (else a permission error, VOTE_ON_BEHALF_FORBIDDEN). Someone who is not an approver gets a permission error (NOT_AN_APPROVER), a vote on a closed approval a conflict (APPROVAL_CLOSED). ${INFERRED}`,
  group,
  permissions: ['OBJECTS_APPROVAL_VOTE'],
  kind: 'write',
  // The same vote again leaves the same state (once the approval closed, it is refused as closed).
  idempotent: true,
  endpoint: 'inferred',
  input: z.strictObject({
    uuid: approvalUuid(),
    approver: person('approver')
      .optional()
      .describe(
        "Who votes: a user id or e-mail address (matched without case). Default: the API key itself (its description, else its uuid); naming someone else needs OBJECTS_APPROVAL_MANAGE too.",
      ),
    vote: z.enum(['approve', 'reject'], { error: 'must be "approve" or "reject".' }).describe('The decision.'),
    comment: z.string().max(2000, { error: 'must be at most 2000 characters long.' }).optional().describe('Why, for the requester.'),
  }),
  output: z.strictObject({ approval: approvalObject, vote }),
  example: (seed) => ({ uuid: seed.approval.voteUuid, approver: seed.approval.approver, vote: 'approve' as const, comment: 'Good to go' }),
  run: async ({ client, signal }, input) => {
    const { uuid: approval, ...body } = input;
    return client.approvals.vote(approval, body, { signal });
  },
});

export const cancelApproval = defineAction({
  id: 'approvals.cancel',
  title: 'Cancel an approval',
  description: `Cancels a pending approval request: it stays readable with status "cancelled" and its votes. Cancelling it again changes nothing; an approved or rejected one cannot be cancelled (conflict). ${INFERRED}`,
  group,
  permissions: ['OBJECTS_APPROVAL_MANAGE'],
  kind: 'destructive',
  idempotent: true,
  endpoint: 'inferred',
  input: z.strictObject({ uuid: approvalUuid() }),
  output: z.strictObject({ approval: approvalObject }),
  example: (seed) => ({ uuid: seed.approval.cancelUuid }),
  run: async ({ client, signal }, input) => ({ approval: await client.approvals.cancel(input.uuid, { signal }) }),
});

export const approvalActions = [listApprovals, createApproval, getApproval, voteApproval, cancelApproval];
