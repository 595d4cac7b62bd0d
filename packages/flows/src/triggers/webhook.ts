/**
 * `trigger: {type: webhook, path, secret, basicAuth}`: `POST /hooks/<path>` on `sfx serve`.
 *
 * The caller proves itself with the same checks as the connector's webhook trigger: an HMAC-SHA256
 * of the raw body under the shared secret (`X-Sfx-Signature: sha256=<hex>`, see `signBody`),
 * and/or HTTP basic auth. The reply is 202 once the run is in the journal (not when it ends), so
 * a caller that got it knows the run will happen, even across a crash; 401 on a failed check,
 * saying which check failed and never what was expected. `$trigger` is
 * `{headers, body, receivedAt}`: the headers without the credentials, the body parsed when it is
 * JSON, else its text.
 */
import { verifyBasicAuth, verifySignature } from '@sfx/connector';
import type { CompiledFlow } from '../definition/load.js';
import {
  ServiceBusyError,
  ServiceStoppingError,
  triggerValue,
  type RunningTrigger,
  type TriggerHost,
} from './host.js';

export interface HookRequest {
  headers: Record<string, string | string[] | undefined>;
  rawBody: Buffer;
}

export interface HookReply {
  status: number;
  headers?: Record<string, string>;
  body: Record<string, unknown>;
}

/** Headers that carry credentials: checked, never handed to the flow (nor journaled). */
const CREDENTIAL_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie', 'x-sfx-signature']);

export interface HookCredentials {
  secret?: string;
  basicAuth?: { user: string; pass: string };
}

/** The URL path a flow's webhook is served at: `/hooks` + its path (a path already under /hooks/ as is). */
export function hookPath(path: string): string {
  const clean = path.replace(/\/+$/, '') || '/';
  return clean === '/hooks' || clean.startsWith('/hooks/') ? clean : `/hooks${clean === '/' ? '' : clean}`;
}

/** The flow's secret and basic auth, their expressions evaluated. Throws when neither is set. */
export async function hookCredentials(host: TriggerHost, flow: CompiledFlow): Promise<HookCredentials> {
  const spec = flow.trigger;
  if (spec.type !== 'webhook') throw new TypeError(`flow ${flow.name} has no webhook trigger.`);
  const out: HookCredentials = {};
  if (spec.secret !== undefined) {
    const secret = await triggerValue(host, flow, flow.triggerTemplates.secret, spec.secret);
    if (typeof secret !== 'string' || secret.length < 8)
      throw new Error(
        'trigger.secret must give a string of at least 8 characters (is the secret set in the environment?).',
      );
    out.secret = secret;
  }
  if (spec.basicAuth) {
    const auth = (await triggerValue(host, flow, flow.triggerTemplates.basicAuth, spec.basicAuth)) as {
      username?: unknown;
      password?: unknown;
    };
    if (
      typeof auth?.username !== 'string' ||
      !auth.username ||
      typeof auth.password !== 'string' ||
      !auth.password
    )
      throw new Error(
        'trigger.basicAuth must give a non-empty username and password (is the secret set in the environment?).',
      );
    out.basicAuth = { user: auth.username, pass: auth.password };
  }
  if (!out.secret && !out.basicAuth)
    throw new Error(
      'a webhook trigger needs a secret (HMAC signature) or basicAuth, so that only its caller can start runs: add secret: "{% $secrets.HOOK_SECRET %}" and list HOOK_SECRET under secrets.',
    );
  return out;
}

export class WebhookTrigger implements RunningTrigger {
  readonly type = 'webhook';
  readonly flow: string;
  readonly path: string;
  private stopped = false;
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(
    private readonly host: TriggerHost,
    private readonly compiled: CompiledFlow,
    private readonly credentials: HookCredentials,
  ) {
    if (compiled.trigger.type !== 'webhook')
      throw new TypeError(`flow ${compiled.name} has no webhook trigger.`);
    this.flow = compiled.name;
    this.path = hookPath(compiled.trigger.path);
  }

  start(): void {
    this.host.log('info', 'webhook listening', { flow: this.flow, trigger: 'webhook', path: this.path });
  }

  async handle(request: HookRequest): Promise<HookReply> {
    const refused = this.authenticate(request);
    if (refused) {
      this.host.log('warn', 'webhook request refused', {
        flow: this.flow,
        trigger: 'webhook',
        code: refused.body.code,
      });
      return refused;
    }
    if (this.stopped) return stopping();
    let body: unknown;
    try {
      body = parseBody(request);
    } catch {
      return error(
        400,
        'INVALID_JSON',
        'the body is declared as JSON (content-type) but does not parse.',
        'Send valid JSON, or another content-type to get the body as text.',
      );
    }
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers)) {
      if (value === undefined || CREDENTIAL_HEADERS.has(name.toLowerCase())) continue;
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
    }
    const event = { headers, body, receivedAt: new Date(this.host.clock.now()).toISOString() };
    const work = this.host.startRun(this.compiled, { type: 'webhook', event });
    this.inFlight.add(work);
    try {
      const run = await work;
      this.host.log('info', 'webhook accepted', { flow: this.flow, trigger: 'webhook', runId: run.runId });
      return { status: 202, body: { status: 'success', flow: this.flow, runId: run.runId } };
    } catch (e) {
      if (e instanceof ServiceStoppingError) return stopping();
      if (e instanceof ServiceBusyError)
        return {
          ...error(503, 'BUSY', e.message, 'Send it again after Retry-After seconds.'),
          headers: { 'retry-after': '5' },
        };
      this.host.log('error', 'webhook run could not be started', {
        flow: this.flow,
        trigger: 'webhook',
        error: (e as Error).message,
      });
      return error(
        500,
        'RUN_NOT_STARTED',
        'the run could not be started.',
        'See the sfx serve log; send the request again.',
      );
    } finally {
      this.inFlight.delete(work);
    }
  }

  /** A reply refusing the request, or undefined when it passes every configured check. */
  private authenticate(request: HookRequest): HookReply | undefined {
    const { secret, basicAuth } = this.credentials;
    if (secret !== undefined) {
      const signature = header(request, 'x-sfx-signature');
      if (signature === undefined)
        return error(401, 'MISSING_SIGNATURE', 'the request has no X-Sfx-Signature header.', SIGN_HINT);
      if (!verifySignature(secret, request.rawBody, signature))
        return error(
          401,
          'BAD_SIGNATURE',
          'X-Sfx-Signature does not match the body: wrong secret, or the body changed on the way.',
          SIGN_HINT,
        );
    }
    if (basicAuth) {
      const challenge = { 'www-authenticate': 'Basic realm="sfx-webhook"' };
      const authorization = header(request, 'authorization');
      if (authorization === undefined)
        return {
          ...error(
            401,
            'MISSING_CREDENTIALS',
            'the request has no basic-auth credentials.',
            'Send Authorization: Basic base64(user:password).',
          ),
          headers: challenge,
        };
      if (!verifyBasicAuth(basicAuth, authorization))
        return {
          ...error(
            401,
            'BAD_CREDENTIALS',
            'the basic-auth user or password is wrong.',
            'Send the user and password the flow declares.',
          ),
          headers: challenge,
        };
    }
    return undefined;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.allSettled([...this.inFlight]);
  }
}

const SIGN_HINT =
  'Sign the raw body: X-Sfx-Signature: sha256=<hex HMAC-SHA256 of the body under the shared secret>.';

function header(request: HookRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function parseBody(request: HookRequest): unknown {
  if (request.rawBody.length === 0) return null;
  const text = request.rawBody.toString('utf8');
  const type = String(header(request, 'content-type') ?? '').toLowerCase();
  if (type.includes('json')) return JSON.parse(text) as unknown;
  return text;
}

export function error(status: number, code: string, msg: string, hint: string): HookReply {
  return { status, body: { status: 'error', code, msg, hint } };
}

function stopping(): HookReply {
  return {
    ...error(
      503,
      'STOPPING',
      'the service is stopping and takes no new runs.',
      'Send it again once it is back.',
    ),
    headers: { 'retry-after': '5' },
  };
}
