/**
 * `trigger: {type: poll, uses: <connection>.<trigger>, with, every}`: the connector's polling
 * trigger (assets.new, assets.updated), run every `every` with the flow connection's client.
 *
 * One run per event (per new asset, per asset version), with `$trigger` = the asset: a run is
 * then about one thing, fails or is retried alone, and shows as one line in `sfx runs`.
 *
 * Delivery is at least once, and a journaled run is never started twice: the runs of a poll's
 * events are created (journaled) first, and the trigger's state (watermark + ids seen) is saved
 * only after them. A crash in between polls the same events again on restart; each event's id is
 * the run's trigger id, which the journal holds once per flow, so those already started are
 * skipped.
 *
 * The state is kept per flow and per `uses`: editing `with` (another folder) goes on from the
 * saved watermark instead of starting from now.
 */
import {
  assetVersion,
  getTrigger,
  PollStateSchema,
  type PollingTrigger,
  type PollState,
} from '@sfx/connector';
import type { FileObject } from '@sfx/client';
import type { CompiledFlow } from '../definition/load.js';
import type { TimerHandle } from './clock.js';
import { ServiceStoppingError, triggerValue, withConnection, type RunningTrigger, type TriggerHost } from './host.js';

/** Most events taken from one poll; the rest come with the next poll, at once. */
const MAX_EVENTS_PER_POLL = 500;

export class PollTrigger implements RunningTrigger {
  readonly type = 'poll';
  readonly flow: string;
  private readonly connection: string;
  private readonly trigger: PollingTrigger;
  private readonly every: number;
  private readonly key: string;
  private timer: TimerHandle | undefined;
  private stopped = false;
  private polling: Promise<void> | undefined;
  private readonly abort = new AbortController();

  constructor(
    private readonly host: TriggerHost,
    private readonly compiled: CompiledFlow,
  ) {
    const spec = compiled.trigger;
    if (spec.type !== 'poll') throw new TypeError(`flow ${compiled.name} has no poll trigger.`);
    const dot = spec.uses.indexOf('.');
    this.flow = compiled.name;
    this.connection = spec.uses.slice(0, dot);
    this.trigger = getTrigger(spec.uses.slice(dot + 1)) as PollingTrigger;
    this.every = spec.every;
    this.key = `poll:${spec.uses}`;
  }

  /** Fails (and the service skips the flow) when `with` or the connection cannot work. */
  async start(): Promise<void> {
    const config = await triggerValue(this.host, this.compiled, this.compiled.triggerTemplates.with, {});
    const parsed = this.trigger.input.safeParse(config);
    if (!parsed.success)
      throw new Error(
        `trigger.with does not suit ${this.trigger.id}: ${parsed.error.issues.map((i) => `${['with', ...i.path.map(String)].join('.')}: ${i.message}`).join('; ')} (sfx describe ${this.trigger.id} lists its fields).`,
      );
    await this.host.openConnection(this.compiled, this.connection);
    this.host.log('info', 'polling started', {
      flow: this.flow,
      trigger: this.trigger.id,
      everyMs: this.every,
    });
    this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = this.host.clock.setTimer(() => {
      this.polling = this.pollOnce()
        .then(
          (more) => this.schedule(more ? 0 : this.every),
          (error: unknown) => {
            if (!(error instanceof ServiceStoppingError) && !this.stopped)
              this.host.log('error', 'poll failed; trying again at the next interval', {
                flow: this.flow,
                trigger: this.trigger.id,
                error: (error as Error).message,
              });
            this.schedule(this.every);
          },
        )
        .finally(() => (this.polling = undefined));
    }, ms);
  }

  /** One poll: its events' runs journaled, then its state saved. True when more events wait. */
  async pollOnce(): Promise<boolean> {
    const store = this.host.store;
    const saved = await store.getTriggerState(this.flow, this.key);
    const state = saved === undefined ? null : (PollStateSchema.parse(JSON.parse(saved)) as PollState);
    const config = await triggerValue(this.host, this.compiled, this.compiled.triggerTemplates.with, {});
    const result = await withConnection(this.host, this.compiled, this.connection, (client) =>
      this.trigger.poll({ client, signal: this.abort.signal }, config, state, { maxItems: MAX_EVENTS_PER_POLL }),
    );
    let started = 0;
    let duplicates = 0;
    for (const item of result.items) {
      const id = `${this.trigger.id}:${this.eventId(item as FileObject)}`;
      const run = await this.host.startRun(this.compiled, { type: 'poll', event: item, id });
      if (run.duplicate) {
        duplicates++;
        this.host.log('info', 'event already has a run', {
          flow: this.flow,
          trigger: this.trigger.id,
          runId: run.runId,
          event: id,
        });
      } else started++;
    }
    // Only now: every event above has its run in the journal.
    await store.setTriggerState(this.flow, this.key, JSON.stringify(result.state));
    this.host.log(result.items.length ? 'info' : 'debug', 'polled', {
      flow: this.flow,
      trigger: this.trigger.id,
      events: result.items.length,
      started,
      duplicates,
      more: result.more,
    });
    return result.more;
  }

  /** A new asset is one event; an updated one is one event per version. */
  private eventId(file: FileObject): string {
    return this.trigger.id === 'assets.updated' ? assetVersion(file) : file.uuid;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    this.abort.abort();
    await this.polling?.catch(() => undefined);
  }
}
