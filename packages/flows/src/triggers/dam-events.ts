/**
 * `trigger: {type: dam.events, connection, events, folder, secret}`: the DAM pushes its events
 * (uploads, moves, metadata changes ...) to `POST /events/<flow>` on `sfx serve`.
 *
 * On start the service subscribes that URL through the connection (`/v5/webhooks`), reusing a
 * subscription it made before for the same URL, and never removes it on stop: the DAM retries
 * the deliveries that fall while the service is down, and they start their runs once it is back.
 * Each delivery is verified (the connector's dam.events checks: signature, event type, folder),
 * and starts one run with `$trigger` = the event. The event id is the run's trigger id, so a
 * redelivery (the DAM's retry, or one after a restart) is acknowledged without a second run. The
 * DAM gets its 2xx once the run is journaled.
 */
import {
  createWebhookHandler,
  damEvents,
  DeliveryLog,
  type DamEventOutput,
  type HandlerReply,
} from '@sfx/connector';
import type { Filerobot } from '@sfx/client';
import type { CompiledFlow } from '../definition/load.js';
import { triggerValue, withConnection, type RunningTrigger, type TriggerHost } from './host.js';
import type { HookRequest } from './webhook.js';

/** The URL path a flow's DAM events are delivered to. */
export function eventsPath(flow: string): string {
  return `/events/${flow.replace(/[^A-Za-z0-9._-]+/g, '-')}`;
}

export class DamEventsTrigger implements RunningTrigger {
  readonly type = 'dam.events';
  readonly flow: string;
  readonly path: string;
  private handler: ((request: HookRequest) => Promise<HandlerReply>) | undefined;
  private readonly inFlight = new Set<Promise<unknown>>();
  private stopped = false;

  constructor(
    private readonly host: TriggerHost,
    private readonly compiled: CompiledFlow,
    /** Where the DAM reaches this service: `http(s)://host:port`, no trailing slash (known once listening). */
    private readonly publicUrl: () => string,
  ) {
    if (compiled.trigger.type !== 'dam.events')
      throw new TypeError(`flow ${compiled.name} has no dam.events trigger.`);
    this.flow = compiled.name;
    this.path = eventsPath(compiled.name);
  }

  get url(): string {
    return `${this.publicUrl()}${this.path}`;
  }

  async start(): Promise<void> {
    const spec = this.compiled.trigger;
    if (spec.type !== 'dam.events') return;
    const secret = await triggerValue(
      this.host,
      this.compiled,
      this.compiled.triggerTemplates.secret,
      spec.secret,
    );
    if (typeof secret !== 'string' || secret.length < 8)
      throw new Error(
        'trigger.secret must give a string of at least 8 characters: the DAM signs each delivery with it (is the secret set in the environment?).',
      );
    const events = spec.events?.length ? spec.events : ['*'];
    const config = { events, secret, ...(spec.folder ? { folder: spec.folder } : {}) } as Parameters<
      typeof createWebhookHandler
    >[0]['config'];
    this.handler = createWebhookHandler({
      config,
      log: new DeliveryLog(),
      onEvent: (event) => this.onEvent(event),
      onError: (error) =>
        this.host.log('warn', 'DAM delivery refused or failed', {
          flow: this.flow,
          trigger: 'dam.events',
          error: error.message,
        }),
    });
    await withConnection(this.host, this.compiled, spec.connection, (client) => this.subscribe(client, config.events, secret));
  }

  /** Subscribes this flow's URL to the DAM's events, or updates the subscription it already has. */
  private async subscribe(client: Filerobot, events: unknown, secret: string): Promise<void> {
    const existing = (await client.webhooks.list()).find((w) => w.url === this.url);
    const description = `sfx serve: flow ${this.flow}`;
    if (existing) {
      // The secret is write-only: set it again so it is the one this process checks.
      await client.webhooks.update(existing.uuid, {
        events: events as never,
        secret,
        active: true,
        description,
      });
      this.host.log('info', 'DAM events subscription updated', {
        flow: this.flow,
        trigger: 'dam.events',
        webhook: existing.uuid,
        url: this.url,
      });
    } else {
      const created = await damEvents.subscribe(
        { client },
        { url: this.url, events: events as never, secret, description },
      );
      this.host.log('info', 'DAM events subscribed', {
        flow: this.flow,
        trigger: 'dam.events',
        webhook: created.uuid,
        url: this.url,
      });
    }
  }

  private async onEvent(event: DamEventOutput): Promise<void> {
    const work = this.host.startRun(this.compiled, { type: 'dam.events', event, id: `event:${event.id}` });
    this.inFlight.add(work);
    try {
      const run = await work;
      this.host.log('info', run.duplicate ? 'DAM event already has a run' : 'DAM event accepted', {
        flow: this.flow,
        trigger: 'dam.events',
        runId: run.runId,
        event: event.event,
        eventId: event.id,
      });
    } finally {
      this.inFlight.delete(work);
    }
  }

  async handle(request: HookRequest): Promise<HandlerReply> {
    if (this.stopped || !this.handler)
      return {
        status: 503,
        headers: { 'content-type': 'application/json', 'retry-after': '5' },
        body: JSON.stringify({ status: 'error', code: 'STOPPING' }),
      };
    return this.handler(request);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.allSettled([...this.inFlight]);
  }
}
