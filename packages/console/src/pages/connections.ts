/**
 * Connections: the stored connections (never their secrets), a form made from the connector's
 * connection JSON Schema, a test that says precisely why a connection fails and what the key may
 * do, and remove. Secrets typed in the form go to the store's secrets file and never come back
 * to the browser: the list shows only where a secret is kept (an `env:NAME` or the secrets file).
 */
import type { FastifyRequest } from 'fastify';
import {
  CONNECTOR_ID,
  CONNECTOR_VERSION,
  InvalidConnectionError,
  parseConnection,
  toJsonSchema,
  ConnectionSchema,
  type ConnectionTestResult,
  type JsonSchema,
} from '@sfx/connector';
import type { ConsolePage } from '../context.js';
import { html, type Html } from '../html.js';
import { sendFragment, sendPage } from '../layout.js';
import type { ConsoleConnections, ConsoleNewConnection } from '../options.js';
import { redirect } from './flows.js';
import { seg } from './format.js';

interface Field {
  name: string;
  type: 'text' | 'url' | 'select' | 'secret';
  required: boolean;
  description: string;
  options?: string[];
}

/** The form's fields, from the connection JSON Schema (the `connector` field is filled in by us). */
export function connectionFields(schema: JsonSchema = toJsonSchema(ConnectionSchema, 'input')): Field[] {
  const s = schema as { properties?: Record<string, Record<string, unknown>>; required?: string[] };
  const required = new Set(s.required ?? []);
  return Object.entries(s.properties ?? {})
    .filter(([name]) => name !== 'connector')
    .map(([name, prop]) => ({
      name,
      type: Array.isArray(prop.enum) ? 'select' : prop['x-secret'] || prop.writeOnly ? 'secret' : name.endsWith('Url') ? 'url' : 'text',
      required: required.has(name),
      description: typeof prop.description === 'string' ? prop.description : '',
      ...(Array.isArray(prop.enum) ? { options: prop.enum.map(String) } : {}),
    }));
}

const ENV_REF = /^env:([A-Za-z_][A-Za-z0-9_]*)$/;

type FieldErrors = Record<string, string>;

function fieldControl(field: Field, value: string, error: string | undefined): Html {
  const id = `conn-${field.name}`;
  const described = `${id}-hint${error ? ` ${id}-error` : ''}`;
  const common = html` id="${id}" name="${field.name}" aria-describedby="${described}"${field.required ? html` required` : ''}${error ? html` aria-invalid="true"` : ''}`;
  let control: Html;
  if (field.type === 'select')
    control = html`<select${common}>${field.required ? '' : html`<option value="">(default)</option>`}${(field.options ?? []).map(
      (o) => html`<option value="${o}"${o === value ? html` selected` : ''}>${o}</option>`,
    )}</select>`;
  else if (field.type === 'secret')
    // Never filled in from what was sent: a secret is typed, stored, and not shown again.
    control = html`<input${common} type="password" autocomplete="off" spellcheck="false">`;
  else control = html`<input${common} type="${field.type === 'url' ? 'url' : 'text'}" value="${value}" spellcheck="false">`;
  return html`<div class="field"><label for="${id}">${field.name}${field.required ? '' : html` <span class="muted">(optional)</span>`}</label>${control}
<span class="hint" id="${id}-hint">${field.description}</span>${error ? html`<span class="error" id="${id}-error">${error}</span>` : ''}</div>`;
}

function addForm(values: Record<string, string> = {}, errors: FieldErrors = {}, notice?: Html): Html {
  return html`<form id="connection-form" class="connection-form" method="post" action="/ui/connections" hx-post="/ui/connections" hx-target="this" hx-swap="outerHTML">
${notice ?? ''}
${connectionFields().map((f) => fieldControl(f, values[f.name] ?? (f.name === 'authentication' ? 'apikey' : ''), errors[f.name]))}
<div class="field checkbox"><input type="checkbox" id="conn-skip-test" name="skipTest" value="1"${values.skipTest ? html` checked` : ''}><label for="conn-skip-test">Save without testing it first</label></div>
<button type="submit" class="primary">Test and save</button>
</form>`;
}

export function testResult(name: string, result: ConnectionTestResult): Html {
  const perms = result.grantedPermissions
    ? html`<p class="perms">Granted: ${result.grantedPermissions.length ? result.grantedPermissions.map((p) => html`<code>${p}</code> `) : 'no permission'}</p>
${result.missingPermissions?.length ? html`<p class="perms muted">Not granted: ${result.missingPermissions.map((p) => html`<code>${p}</code> `)}</p>` : ''}`
    : html`<p class="muted">The API does not say which permissions the key has.</p>`;
  if (result.ok)
    return html`<div class="notice ok" role="status"><p><strong>${name} works</strong>${result.project ? html`: project <code>${result.project.token}</code>, API ${result.project.apiVersion}` : ''}.</p>
${result.limitations ? html`<p>${result.limitations}</p>` : ''}${perms}</div>`;
  return html`<div class="notice error" role="alert"><p><strong>${name} fails</strong> (${result.code ?? 'unknown'}): ${result.reason ?? 'no reason given.'}</p>${result.grantedPermissions ? perms : ''}</div>`;
}

function formValues(body: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries((body as Record<string, unknown> | undefined) ?? {}))
    if (typeof v === 'string' && k !== '_csrf') out[k] = v.trim();
  return out;
}

/** The form as a connection to store: a secret written `env:NAME` is kept as that reference. */
function toNewConnection(values: Record<string, string>): ConsoleNewConnection {
  const secret = (value: string | undefined): { env: string } | { value: string } | undefined => {
    if (!value) return undefined;
    const ref = ENV_REF.exec(value);
    return ref ? { env: ref[1]! } : { value };
  };
  const apiKey = secret(values.apiKey);
  const securityTemplate = secret(values.securityTemplate);
  return {
    name: values.name ?? '',
    endpointUrl: values.endpointUrl ?? '',
    authentication: values.authentication === 'sass' ? 'sass' : 'apikey',
    ...(values.token ? { token: values.token } : {}),
    ...(values.apiVersion === 'v4' || values.apiVersion === 'v5' ? { apiVersion: values.apiVersion } : {}),
    ...(apiKey ? { apiKey } : {}),
    ...(securityTemplate ? { securityTemplate } : {}),
  };
}

/** Field problems before anything is stored or sent (the connector's own checks). */
function check(values: Record<string, string>): FieldErrors {
  const placeholder = (v: string | undefined): string | undefined => (v ? (ENV_REF.test(v) ? v : 'secret:placeholder') : undefined);
  const candidate = {
    connector: `${CONNECTOR_ID}@${CONNECTOR_VERSION}`,
    name: values.name ?? '',
    endpointUrl: values.endpointUrl ?? '',
    authentication: values.authentication,
    ...(values.token ? { token: values.token } : {}),
    ...(values.apiVersion ? { apiVersion: values.apiVersion } : {}),
    ...(placeholder(values.apiKey) ? { apiKey: placeholder(values.apiKey) } : {}),
    ...(placeholder(values.securityTemplate) ? { securityTemplate: placeholder(values.securityTemplate) } : {}),
  };
  try {
    parseConnection(candidate);
    return {};
  } catch (error) {
    if (!(error instanceof InvalidConnectionError)) throw error;
    const errors: FieldErrors = {};
    for (const p of error.problems) errors[p.path || 'name'] ??= `${p.path || 'connection'} ${p.message}`;
    return errors;
  }
}

function unsupported(what: string): Error {
  return Object.assign(new Error(`this console cannot ${what} connections.`), {
    statusCode: 501,
    code: 'NOT_SUPPORTED',
    hint: 'Use the sfx connection commands instead (sfx connection --help).',
  });
}

export const connectionsPage: ConsolePage = (ui, ctx) => {
  const store = (): ConsoleConnections => ctx.options.connections;

  ui.get('/connections', async (request, reply) => {
    const list = await store().list();
    const body = html`<h1>Connections</h1>
${list.length
  ? html`<div class="table-wrap"><table>
<caption class="visually-hidden">Stored connections</caption>
<thead><tr><th scope="col">Name</th><th scope="col">Endpoint</th><th scope="col">Authentication</th><th scope="col">Secret kept in</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
${list.map(
      (c, i) => html`<tbody class="connection"><tr>
<td>${c.name}${c.isDefault ? html` <span class="badge">default</span>` : ''}</td><td><code>${c.endpointUrl}</code></td><td>${c.authentication}</td><td>${c.secret ?? ''}</td>
<td class="actions">
${store().test ? html`<button type="button" hx-post="/ui/connections/${seg(c.name)}/test" hx-target="#test-${i}" hx-disabled-elt="this" aria-label="Test ${c.name}">Test</button>` : ''}
${store().remove ? html`<button type="button" class="danger" hx-post="/ui/connections/${seg(c.name)}/remove" hx-confirm="Remove the connection ${c.name}? Flows that use it stop working." hx-target="closest tbody" hx-swap="outerHTML" aria-label="Remove ${c.name}">Remove</button>` : ''}
</td></tr>
<tr class="test-row"><td colspan="5"><div id="test-${i}" aria-live="polite"></div></td></tr></tbody>`,
    )}</table></div>`
  : html`<div class="empty"><p>No connection yet.</p><p>Add one below: the API URL of your Filerobot project (or of <code>sfx server</code>) and a key. Flows and the Assets page use it.</p></div>`}
<h2>Add a connection</h2>
${store().add ? addForm() : html`<p class="muted">Add connections with <code>sfx connection add</code>.</p>`}`;
    return sendPage(reply, request, { title: 'Connections', nav: 'connections', body });
  });

  ui.post('/connections', async (request: FastifyRequest, reply) => {
    const add = store().add;
    if (!add) throw unsupported('add');
    const values = formValues(request.body);
    const again = (errors: FieldErrors, notice?: Html) =>
      request.headers['hx-request'] === 'true'
        ? sendFragment(reply, addForm(values, errors, notice))
        : sendPage(reply, request, { title: 'Connections', nav: 'connections', status: 400, body: html`<h1>Add a connection</h1>${addForm(values, errors, notice)}` });
    const errors = check(values);
    if (Object.keys(errors).length)
      return again(errors, html`<div class="notice error" role="alert"><p>Not saved: ${Object.keys(errors).length === 1 ? 'a field needs' : 'some fields need'} fixing.</p></div>`);
    const connection = toNewConnection(values);
    try {
      if (!values.skipTest && store().test) {
        const result = await store().test!(connection);
        if (!result.ok) return again({}, html`<div class="notice error" role="alert"><p>Not saved: it failed the test.</p></div>${testResult(connection.name, result)}`);
      }
      await add(connection);
      // A connection of that name may have been removed and is now back with other credentials.
      await ctx.forgetConnection(connection.name);
    } catch (error) {
      const problems = (error as { problems?: Array<{ path: string; message: string }> }).problems;
      if (problems?.length) return again(Object.fromEntries(problems.map((p) => [p.path || 'name', `${p.path || 'connection'} ${p.message}`])));
      return again({}, html`<div class="notice error" role="alert"><p>${(error as Error).message}</p></div>`);
    }
    return redirect(request, reply, '/ui/connections');
  });

  ui.post('/connections/:name/test', async (request, reply) => {
    const { name } = request.params as { name: string };
    const test = store().test;
    if (!test) throw unsupported('test');
    return sendFragment(reply, testResult(name, await test(name)));
  });

  ui.post('/connections/:name/remove', async (request, reply) => {
    const { name } = request.params as { name: string };
    const remove = store().remove;
    if (!remove) throw unsupported('remove');
    const removed = await remove(name);
    await ctx.forgetConnection(name);
    if (request.headers['hx-request'] !== 'true') return redirect(request, reply, '/ui/connections');
    return sendFragment(
      reply,
      html`<tbody><tr><td colspan="5"><div class="notice ${removed ? 'ok' : 'error'}" role="status">${removed ? `Removed ${name}.` : `No connection named ${name}.`}</div></td></tr></tbody>`,
    );
  });
};
