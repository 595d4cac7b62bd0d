export { systemClock, ManualClock, type Clock, type TimerHandle } from './clock.js';
export {
  ServiceStoppingError,
  ServiceBusyError,
  type TriggerHost,
  type RunningTrigger,
  type StartedRun,
  type Log,
  type LogLevel,
} from './host.js';
export { ScheduleTrigger, scheduleEnabled, setScheduleEnabled, SCHEDULE_STATE_KEY } from './schedule.js';
export { PollTrigger } from './poll.js';
export {
  WebhookTrigger,
  hookPath,
  hookCredentials,
  type HookRequest,
  type HookReply,
  type HookCredentials,
} from './webhook.js';
export { DamEventsTrigger, eventsPath } from './dam-events.js';
