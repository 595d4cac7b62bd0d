import { newAssets, updatedAssets } from './assets.js';
import type { PollingTrigger } from './polling.js';
import { damEvents, type WebhookTrigger } from './webhook.js';

/** A trigger: `kind` tells a polling one (`poll`, `test`) from a webhook one (`handle`, `subscribe`). */
export type Trigger = PollingTrigger | WebhookTrigger;

/** Every trigger, in catalogue order. */
export const TRIGGERS: readonly Trigger[] = [newAssets, updatedAssets, damEvents] as readonly Trigger[];

const byId = new Map(TRIGGERS.map((trigger) => [trigger.id, trigger]));
if (byId.size !== TRIGGERS.length) throw new Error('two triggers share an id');

/** The trigger with this id; throws listing the known ids when there is none. */
export function getTrigger(id: string): Trigger {
  const trigger = byId.get(id);
  if (trigger) return trigger;
  throw new RangeError(`No trigger "${id}". Triggers: ${TRIGGERS.map((t) => t.id).join(', ')}.`);
}

export { newAssets, updatedAssets, assetVersion } from './assets.js';
export {
  definePollingTrigger,
  PollStateSchema,
  type PollingTrigger,
  type PollingSpec,
  type PollSource,
  type PollState,
  type PollOptions,
  type PollResult,
} from './polling.js';
export {
  damEvents,
  createWebhookHandler,
  startWebhookReceiver,
  WebhookAuthError,
  WebhookPayloadError,
  type WebhookTrigger,
  type WebhookRequest,
  type WebhookOutcome,
  type HandleOptions,
  type SubscribeInput,
  type DamEventOutput,
  type DamEventsConfigInput,
  type WebhookHandlerOptions,
  type HandlerReply,
  type ReceiverOptions,
  type WebhookReceiver,
} from './webhook.js';
export { DeliveryLog } from './deliveries.js';
export { signBody, verifySignature, verifyBasicAuth } from './signature.js';
export { walk, type WatermarkState, type WalkSource, type WalkOptions, type WalkResult } from './watermark.js';
export {
  TriggerConfigError,
  TriggerStateError,
  TriggerOutputError,
  type TriggerContext,
  type TriggerInfo,
  type TriggerKind,
} from './trigger.js';
