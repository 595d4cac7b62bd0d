/**
 * The shape of a flow file (YAML), checked before anything else: a problem here is reported at
 * the line and column of the value, with what to write instead.
 */
import { z } from 'zod';

const ID = /^[A-Za-z][A-Za-z0-9_-]*$/;
const NAME = /^[A-Za-z0-9][A-Za-z0-9 ._-]*$/;

/** `500ms`, `30s`, `5m`, `2h`, `1d`, or a number of seconds. */
export const duration = z
  .union([z.number().nonnegative(), z.string()], { error: 'must be a duration: 30s, 5m, 2h, 500ms, or a number of seconds.' })
  .transform((value, ctx) => {
    if (typeof value === 'number') return Math.round(value * 1000);
    const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(value);
    if (!m) {
      ctx.addIssue({ code: 'custom', message: `"${value}" is not a duration: write 30s, 5m, 2h, 500ms, or a number of seconds.` });
      return z.NEVER;
    }
    const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
    return Math.round(Number(m[1]) * unit);
  });

const stepId = z
  .string({ error: 'must be a string: the step id, e.g. "upload".' })
  .regex(ID, { error: 'must start with a letter and hold only letters, digits, - and _ (e.g. "upload-images").' });

const uses = z
  .string({ error: 'must be a string: "<connection>.<action>" or "<built-in>.<action>", e.g. "dam.upload-asset" or "csv.read".' })
  .regex(/^[A-Za-z][A-Za-z0-9_-]*\.[a-z][a-z0-9.-]*$/, {
    error: 'must be "<connection>.<action>" or "<built-in>.<action>", e.g. "dam.upload-asset" or "csv.read".',
  });

/** Values that may hold `{% %}` expressions: checked by the expression compiler, not here. */
const anyValue = z.unknown();
const expressionText = z.string({ error: 'must be a string holding an expression, e.g. "{% $item.size > 0 %}".' });

export const RetrySchema = z.strictObject({
  attempts: z.number().int().min(1).max(20, { error: 'must be at most 20.' }).default(3).describe('Attempts in all, the first included.'),
  backoff: duration.default(1000).describe('Wait before the second attempt; doubles each time.'),
  maxBackoff: duration.default(60_000).describe('Longest wait between attempts.'),
  jitter: z.boolean().default(true).describe('Wait a random part of the backoff, so retries spread out.'),
  on: z
    .array(z.string().min(1), { error: 'must be a list of error kinds or codes, e.g. [rate-limit, server, connection, timeout].' })
    .default(['rate-limit', 'server', 'connection', 'timeout'])
    .describe('Error kinds (rate-limit, server, connection, timeout, not-found, conflict, any) or API codes that are retried.'),
});

const fallbackStep = z.strictObject({ uses, with: z.record(z.string(), anyValue).optional() });

export const StepSchema = z.strictObject({
  id: stepId,
  name: z.string().optional().describe('A title shown in progress and run reports.'),
  uses,
  with: z.record(z.string(), anyValue, { error: 'must be a map of the action\'s inputs, e.g. {folder: /in}.' }).optional(),
  if: z.union([z.boolean(), expressionText]).optional(),
  forEach: anyValue.optional(),
  concurrency: z.number().int().min(1).max(256, { error: 'must be at most 256.' }).default(1),
  batchSize: z.number().int().min(1).max(10_000, { error: 'must be at most 10000.' }).optional(),
  toleratedFailurePercent: z.number().min(0).max(100, { error: 'must be from 0 to 100.' }).default(0),
  retry: RetrySchema.optional(),
  onError: z
    .union([z.enum(['fail', 'continue']), fallbackStep], {
      error: 'must be "fail", "continue", or a fallback step {uses: ..., with: ...}.',
    })
    .optional()
    .describe('Default "fail"; "continue" when toleratedFailurePercent is given.'),
  timeout: duration.optional(),
  output: anyValue.optional(),
});

const inputType = z.enum(['string', 'number', 'integer', 'boolean', 'object', 'array'], {
  error: 'must be one of string, number, integer, boolean, object, array.',
});

export const InputSchema = z.strictObject({
  type: inputType.default('string'),
  description: z.string().optional(),
  default: z.unknown().optional(),
  enum: z.array(z.unknown()).optional(),
});

const cron = z.string({ error: 'must be a cron expression, e.g. "0 2 * * *" (2 AM every day).' }).min(1);

export const TriggerSchema = z.discriminatedUnion(
  'type',
  [
    z.strictObject({ type: z.literal('manual') }),
    z.strictObject({
      type: z.literal('schedule'),
      cron,
      timezone: z.string().optional().describe('An IANA time zone, e.g. Europe/Paris; default the machine\'s.'),
    }),
    z.strictObject({
      type: z.literal('poll'),
      uses: uses.describe('"<connection>.<trigger>", e.g. "dam.assets.new".'),
      with: z.record(z.string(), anyValue).optional(),
      every: duration.default(60_000),
    }),
    z.strictObject({
      type: z.literal('webhook'),
      path: z.string().regex(/^\/[A-Za-z0-9/_-]*$/, { error: 'must be a path like /hooks/new-products.' }),
      secret: z.string().optional().describe('Shared secret for the HMAC signature check, usually "{% $secrets.HOOK_SECRET %}".'),
      basicAuth: z.strictObject({ username: z.string(), password: z.string() }).optional(),
    }),
    z.strictObject({
      type: z.literal('dam.events'),
      connection: z.string().regex(ID, { error: 'must name a connection of the flow.' }),
      events: z.array(z.string()).optional(),
      folder: z.string().optional(),
      secret: z.string().optional(),
    }),
  ],
  { error: 'must have a type: manual, schedule, poll, webhook or dam.events.' },
);

const connectionRef = z.union(
  [
    z.string().min(1).describe('The name of a stored connection (sfx connection add).'),
    z.null().describe('The default stored connection.'),
    z.record(z.string(), z.unknown()).describe('A connection given in full (endpointUrl, apiKey: env:NAME, ...).'),
  ],
  { error: 'must be a stored connection\'s name, null (the default connection), or a connection {endpointUrl, apiKey, ...}.' },
);

export const FlowSchema = z.strictObject({
  name: z
    .string({ error: 'must be a string naming the flow, e.g. "import-products".' })
    .regex(NAME, { error: 'must start with a letter or digit and hold only letters, digits, spaces, ., - and _.' }),
  description: z.string().optional(),
  trigger: z
    .union([z.literal('manual'), TriggerSchema], { error: 'must be "manual" or a trigger {type: schedule|poll|webhook|dam.events, ...}.' })
    .default({ type: 'manual' })
    .transform((t) => (t === 'manual' ? ({ type: 'manual' } as const) : t)),
  connections: z.record(z.string().regex(ID, { error: 'must start with a letter: letters, digits, - and _.' }), connectionRef).default({}),
  inputs: z.record(z.string().regex(ID, { error: 'must start with a letter: letters, digits, - and _.' }), InputSchema).default({}),
  env: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'must be an environment variable name.' })).default([]),
  secrets: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'must be a secret name (letters, digits and _).' })).default([]),
  steps: z.array(StepSchema, { error: 'must be a list of steps, each {id, uses, with}.' }).min(1, { error: 'must hold at least one step.' }),
});

export type FlowFile = z.output<typeof FlowSchema>;
export type StepFile = z.output<typeof StepSchema>;
export type TriggerFile = FlowFile['trigger'];
export type RetryFile = z.output<typeof RetrySchema>;
export type InputFile = z.output<typeof InputSchema>;
