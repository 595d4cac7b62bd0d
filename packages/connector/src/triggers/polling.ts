import { MAX_PAGE_SIZE } from '@sfx/client';
import { z } from 'zod';
import { problemsOf } from '../errors.js';
import {
  checkOutput,
  checkTriggerInfo,
  parseConfig,
  TriggerStateError,
  type TriggerContext,
  type TriggerInfo,
} from './trigger.js';
import { walk, type WalkSource } from './watermark.js';

/**
 * What a polling trigger keeps between polls; the runner stores it as JSON and hands it back.
 * `watermark` is an ISO 8601 time (items before it were all emitted; `null`: from the
 * beginning), `seen` the ids emitted in the watermark's second (bounded; for assets.updated
 * `uuid@digest`, one per version of the asset), `truncated` whether some of those were forgotten
 * to keep `seen` bounded.
 */
/** How far this machine's clock may be ahead of the DAM's, when it must stand in for the DAM's. */
const CLOCK_SKEW_MS = 60_000;

export interface PollState {
  v: 1;
  trigger: string;
  watermark: string | null;
  seen: string[];
  truncated: boolean;
}

export const PollStateSchema = z.strictObject({
  v: z.literal(1, { error: 'must be 1: a state written by this connector version.' }),
  trigger: z.string({ error: 'must be the id of the trigger that wrote the state.' }),
  watermark: z
    .string({ error: 'must be an ISO 8601 time or null.' })
    .refine((value) => Number.isFinite(Date.parse(value)), { error: 'must be an ISO 8601 time.' })
    .nullable(),
  seen: z.array(z.string({ error: 'must be a list of ids.' }), { error: 'must be a list of ids.' }),
  truncated: z.boolean({ error: 'must be true or false.' }),
});

export interface PollOptions {
  /** Items per request, 2-4000. Default 4000 (the API's largest page). */
  pageSize?: number;
  /** Most items one poll emits; the rest come with the next poll (`more: true`). Default 10 000. */
  maxItems?: number;
  /** Most ids remembered for the watermark's second. Default 10 000. */
  maxSeen?: number;
  /** Restarts allowed when the listing moves during a poll, before it stops (`more: true`). Default 20. */
  maxRestarts?: number;
}

export interface PollResult<T> {
  /** New items, oldest first. */
  items: T[];
  /** Keep it and pass it to the next poll (JSON-serialisable). */
  state: PollState;
  /** The poll stopped early (item cap, or a listing that kept changing): poll again soon. */
  more: boolean;
}

export interface PollingTrigger<C extends z.ZodType = z.ZodType, O extends z.ZodType = z.ZodType>
  extends TriggerInfo<C, O> {
  kind: 'polling';
  /**
   * New items since `state`, oldest first, each once, following every page. Without a state the
   * poll starts from now (the newest item's time, by the DAM's clock; on an empty listing this
   * machine's clock less a minute) and emits only items newer than that which arrived while it
   * ran, unless the config gives `from`. Store the returned state (even when `items` is empty) for the next poll.
   */
  poll(ctx: TriggerContext, config: z.input<C>, state?: PollState | null, options?: PollOptions): Promise<PollResult<z.output<O>>>;
  /** Up to 3 recent items, as the trigger would emit them, for a flow editor's sample; no state involved. */
  test(ctx: TriggerContext, config: z.input<C>): Promise<z.output<O>[]>;
}

/** Where a polling trigger's items come from, for one configuration. */
export interface PollSource<T> extends WalkSource<T> {
  /** The item with the greatest timestamp, if any: where "now" is by the DAM's clock. */
  newest(): Promise<T | undefined>;
  /** Recent items, newest first, `accept`ed ones only. */
  recent(count: number): Promise<T[]>;
}

export interface PollingSpec<C extends z.ZodType, O extends z.ZodType, T> extends Omit<TriggerInfo<C, O>, 'kind'> {
  source(ctx: TriggerContext, config: z.output<C>): PollSource<T>;
  /** The time the first poll starts from, when the config names one. */
  startFrom?(config: z.output<C>): string | undefined;
}

const DEFAULTS: Required<PollOptions> = { pageSize: MAX_PAGE_SIZE, maxItems: 10_000, maxSeen: 10_000, maxRestarts: 20 };

export function definePollingTrigger<C extends z.ZodType, O extends z.ZodType, T>(
  spec: PollingSpec<C, O, T>,
): PollingTrigger<C, O> {
  checkTriggerInfo(spec);
  const { source: sourceOf, startFrom, ...info } = spec;
  const trigger: PollingTrigger<C, O> = {
    ...info,
    kind: 'polling',
    async poll(ctx, rawConfig, rawState, rawOptions = {}) {
      const config = parseConfig(spec, rawConfig);
      const options = pollOptions(rawOptions);
      const source = sourceOf(ctx, config);
      let start: PollState;
      // Items at or before `silentUntil` (ms) move the watermark without being emitted.
      let silentUntil = -Infinity;
      if (rawState === undefined || rawState === null) {
        const from = startFrom?.(config);
        if (from !== undefined) {
          // Timestamps are whole seconds: `from` with milliseconds starts at its second.
          const second = Math.floor(Date.parse(from) / 1000) * 1000;
          start = { v: 1, trigger: spec.id, watermark: new Date(second).toISOString(), seen: [], truncated: false };
        } else {
          // "Now" by the DAM's clock: the newest item's second, and whatever shares it.
          const newest = await source.newest();
          if (newest === undefined) {
            // Nothing matches yet. Starting from the beginning would emit old assets that match later
            // (moved in, tagged): start from this machine's now, less a margin for clock skew.
            const now = Math.floor((Date.now() - CLOCK_SKEW_MS) / 1000) * 1000;
            return { items: [], state: { v: 1, trigger: spec.id, watermark: new Date(now).toISOString(), seen: [], truncated: false }, more: false };
          }
          silentUntil = source.timestamp(newest);
          start = { v: 1, trigger: spec.id, watermark: new Date(silentUntil).toISOString(), seen: [], truncated: false };
        }
      } else {
        start = checkState(spec.id, rawState);
      }
      // Items after "now" arrived while this first poll ran: they are new, so they are emitted.
      const accept = source.accept;
      const walked = await walk(
        silentUntil === -Infinity
          ? source
          : { ...source, accept: (item) => source.timestamp(item) > silentUntil && (accept ? accept.call(source, item) : true) },
        start,
        { ...options, signal: ctx.signal },
      );
      return {
        items: walked.items.map((item) => checkOutput(spec, item)),
        state: { v: 1, trigger: spec.id, ...walked.state },
        more: walked.more,
      };
    },
    async test(ctx, rawConfig) {
      const config = parseConfig(spec, rawConfig);
      ctx.signal?.throwIfAborted();
      const recent = await sourceOf(ctx, config).recent(3);
      return recent.slice(0, 3).map((item) => checkOutput(spec, item));
    },
  };
  return Object.freeze(trigger);
}

function checkState(triggerId: string, raw: unknown): PollState {
  const parsed = PollStateSchema.safeParse(raw);
  if (!parsed.success) throw new TriggerStateError(triggerId, problemsOf(parsed.error.issues));
  if (parsed.data.trigger !== triggerId)
    throw new TriggerStateError(triggerId, [
      { path: 'trigger', message: `was written by trigger "${parsed.data.trigger}": each trigger keeps its own state.` },
    ]);
  return parsed.data;
}

function pollOptions(options: PollOptions): Required<PollOptions> {
  const merged = { ...DEFAULTS, ...options };
  const whole = (name: keyof PollOptions, min: number, max = Number.MAX_SAFE_INTEGER): void => {
    const value = merged[name];
    if (!Number.isInteger(value) || value < min || value > max)
      throw new RangeError(`poll option ${name} must be a whole number from ${min} to ${max}; got ${String(value)}.`);
  };
  whole('pageSize', 2, MAX_PAGE_SIZE);
  whole('maxItems', 1);
  whole('maxSeen', 1);
  whole('maxRestarts', 0);
  return merged;
}
