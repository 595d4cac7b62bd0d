/**
 * Flows: the flows of `sfx serve`'s folder with their trigger and next tick, a schedule switch, a
 * YAML editor checked as `sfx flow validate` checks (problems at line:column, inline in the editor
 * through browser/flow-editor.ts, and as a list that works without it), and Run now with a form
 * made from the flow's inputs.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ServiceRequestError, type FlowListing, type FlowService, type Problem } from '@sfx/flows';
import type { ConsolePage } from '../context.js';
import { html, type Html } from '../html.js';
import { sendFragment, sendPage } from '../layout.js';
import { badge, isoWhen, seg, when } from './format.js';

type InputSpec = FlowListing['inputs'][string];

const NEW_FLOW = `name: my-flow
description: What this flow does, in one sentence.
trigger: manual
inputs:
  folder: { type: string, default: /, description: the DAM folder to list }
connections:
  dam: null   # the default connection
steps:
  - id: hello
    uses: log.info
    with:
      message: "{% 'Listing ' & $inputs.folder %}"
`;

/** The service, or a page saying the console runs without one (registered outside sfx serve). */
export function serviceOf(service: FlowService | undefined): FlowService {
  if (!service)
    throw new ServiceRequestError(
      'UNKNOWN_FLOW',
      'this console was started without a flows service.',
      'Start it with sfx serve --flows <folder> (or npm start) to see flows and runs.',
    );
  return service;
}

function isHx(request: FastifyRequest): boolean {
  return request.headers['hx-request'] === 'true';
}

/** After a write: htmx follows HX-Redirect, a plain form a 303. */
export function redirect(request: FastifyRequest, reply: FastifyReply, to: string): FastifyReply {
  if (isHx(request)) return reply.header('HX-Redirect', to).code(204).send();
  return reply.redirect(to, 303);
}

/** A refusal shown where the htmx request swaps its answer (htmx swaps 2xx answers only). */
export function refusal(error: ServiceRequestError): Html {
  return html`<div class="notice error" role="alert"><p>${error.message}</p><p>${error.hint}</p>${error.problems.length ? problemList(error.problems) : ''}</div>`;
}

export function problemList(problems: Problem[]): Html {
  return html`<ul class="problems">${problems.map(
    (p) =>
      html`<li><a href="#flow-text" class="at" data-line="${p.line}" data-column="${p.column}">${p.file ? `${p.file}:` : ''}${p.line}:${p.column}</a> ${p.path ? html`<code>${p.path}</code> ` : ''}${p.message}</li>`,
  )}</ul>`;
}

function scheduleCell(flow: string, schedule: NonNullable<FlowListing['schedule']>): Html {
  const label = schedule.enabled ? 'On' : 'Off';
  return html`<div class="schedule">
<button type="button" class="switch" role="switch" aria-checked="${schedule.enabled ? 'true' : 'false'}"
  aria-label="Schedule of ${flow}: ${label}" hx-post="/ui/flows/${seg(flow)}/schedule"
  hx-vals="${JSON.stringify({ enabled: schedule.enabled ? 'false' : 'true' })}" hx-target="closest .schedule" hx-swap="outerHTML">${label}</button>
<span class="muted">${schedule.enabled ? (schedule.next ? `next ${isoWhen(schedule.next)}` : 'no further tick') : 'ticks are skipped'}</span>
</div>`;
}

function triggerCell(flow: FlowListing): Html {
  return html`<span class="trigger">${flow.trigger.type}</span> <span class="muted">${flow.trigger.detail}</span>`;
}

function inputField(name: string, spec: InputSpec): Html {
  const id = `input-${name}`;
  const required = spec.default === undefined;
  const given = spec.default === undefined ? '' : typeof spec.default === 'string' ? spec.default : JSON.stringify(spec.default);
  const describe = html`<span class="hint" id="${id}-hint">${spec.type}${required ? ', required' : ''}${spec.description ? ` · ${spec.description}` : ''}</span>`;
  let control: Html;
  if (spec.enum?.length || spec.type === 'boolean') {
    const options = spec.enum?.length ? spec.enum : [true, false];
    control = html`<select id="${id}" name="${name}" aria-describedby="${id}-hint"${required ? html` required` : ''}>
${required ? html`<option value="">choose…</option>` : ''}${options.map((o) => {
      const value = typeof o === 'string' ? o : JSON.stringify(o);
      return html`<option value="${value}"${value === given ? html` selected` : ''}>${value}</option>`;
    })}</select>`;
  } else if (spec.type === 'object' || spec.type === 'array') {
    control = html`<textarea id="${id}" name="${name}" rows="3" aria-describedby="${id}-hint" placeholder="JSON"${required ? html` required` : ''}>${given}</textarea>`;
  } else {
    const type = spec.type === 'number' || spec.type === 'integer' ? 'number' : 'text';
    control = html`<input id="${id}" name="${name}" type="${type}"${spec.type === 'integer' ? html` step="1"` : spec.type === 'number' ? html` step="any"` : ''} value="${given}" aria-describedby="${id}-hint"${required ? html` required` : ''}>`;
  }
  return html`<div class="field"><label for="${id}">${name}</label>${control}${describe}</div>`;
}

function runForm(flow: FlowListing): Html {
  const inputs = Object.entries(flow.inputs);
  return html`<form class="run-form" method="post" action="/ui/flows/${seg(flow.name)}/run" hx-post="/ui/flows/${seg(flow.name)}/run" hx-target="#run-result">
${inputs.length ? inputs.map(([name, spec]) => inputField(name, spec)) : html`<p class="muted">This flow takes no inputs.</p>`}
${flow.trigger.type === 'manual' ? '' : html`<p class="hint">Started by hand, the run gets an empty <code>$trigger</code>.</p>`}
<button type="submit" class="primary">Run now</button>
</form>
<div id="run-result" aria-live="polite"></div>`;
}

function flowsTable(flows: FlowListing[]): Html {
  return html`<div class="table-wrap"><table>
<caption class="visually-hidden">Flows</caption>
<thead><tr><th scope="col">Flow</th><th scope="col">Trigger</th><th scope="col">Schedule</th><th scope="col">Last run</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
<tbody>${flows.map(
    (f) => html`<tr>
<td><a href="/ui/flows/${seg(f.name)}">${f.name}</a>${f.description ? html`<div class="muted">${f.description}</div>` : ''}</td>
<td>${triggerCell(f)}</td>
<td>${f.schedule ? scheduleCell(f.name, f.schedule) : html`<span class="muted">-</span>`}</td>
<td>${f.lastRun ? html`<a href="/ui/runs/${seg(f.lastRun.id)}">${badge(f.lastRun.status)}</a> <span class="muted">${when(f.lastRun.startedAt)}</span>` : html`<span class="muted">never run</span>`}${f.running ? html` <span class="muted">(${f.running} running)</span>` : ''}</td>
<td class="actions"><a class="button" href="/ui/flows/${seg(f.name)}#run">Run…</a> <a class="button" href="/ui/flows/files/${seg(f.file)}">Edit</a></td>
</tr>`,
  )}</tbody></table></div>`;
}

function editor(options: { file?: string; text: string; problems: Problem[] }): Html {
  const { file, text, problems } = options;
  return html`<form id="flow-form" class="flow-form" method="post" action="/ui/flows/save" hx-post="/ui/flows/save" hx-target="#flow-result">
${file
  ? html`<input type="hidden" name="file" value="${file}">`
  : html`<div class="field"><label for="flow-file">File name</label><input id="flow-file" name="file" required pattern="[A-Za-z0-9][A-Za-z0-9._\\-]*\\.ya?ml" value="my-flow.yaml" aria-describedby="flow-file-hint"><span class="hint" id="flow-file-hint">In the flows folder, ending in .yaml</span></div>`}
<div class="editor" data-flow-editor data-file="${file ?? ''}">
<label for="flow-text">Flow YAML</label>
<textarea id="flow-text" name="text" rows="28" spellcheck="false" autocapitalize="off" autocomplete="off">${text}</textarea>
</div>
<div class="buttons">
<button type="button" hx-post="/ui/flows/check" hx-include="#flow-form" hx-target="#flow-result">Check</button>
<button type="submit" class="primary">Save</button>
<a class="button" href="/ui/flows">Back to flows</a>
</div>
</form>
<div id="flow-result" aria-live="polite">${problems.length ? checkResult(problems) : ''}</div>`;
}

function checkResult(problems: Problem[], flow?: { name: string; trigger: string; steps: number }): Html {
  if (!problems.length)
    return html`<div class="notice ok" role="status"><p>Valid${flow ? html`: <strong>${flow.name}</strong>, ${flow.steps} step${flow.steps === 1 ? '' : 's'}, trigger ${flow.trigger}` : ''}.</p></div>`;
  return html`<div class="notice error" role="alert" data-problems="${JSON.stringify(problems)}"><p>${problems.length} problem${problems.length === 1 ? '' : 's'}:</p>${problemList(problems)}</div>`;
}

function formText(body: unknown, field: string): string {
  const value = (body as Record<string, unknown> | undefined)?.[field];
  return typeof value === 'string' ? value : '';
}

export const flowsPage: ConsolePage = (ui, ctx) => {
  const service = (): FlowService => serviceOf(ctx.options.service);

  ui.get('/flows', async (request, reply) => {
    const { flows, skipped } = await service().listFlows();
    const body = html`<div class="page-head"><h1>Flows</h1><a class="button primary" href="/ui/flows/new">New flow</a></div>
${flows.length
  ? flowsTable(flows)
  : html`<div class="empty"><p>No flow is loaded yet.</p><p>Write one with <a href="/ui/flows/new">New flow</a>, or put a flow file (*.yaml) in the flows folder of <code>sfx serve --flows</code>; <code>examples/flows</code> has some to start from.</p></div>`}
${skipped.length
  ? html`<h2>Files that do not load</h2><p class="hint">sfx serve skips these until they validate.</p>
<ul class="skipped">${skipped.map((s) => html`<li><a href="/ui/flows/files/${seg(s.file)}">${s.file}</a>${problemList(s.problems)}</li>`)}</ul>`
  : ''}`;
    return sendPage(reply, request, { title: 'Flows', nav: 'flows', body });
  });

  ui.get('/flows/new', async (request, reply) =>
    sendPage(reply, request, {
      title: 'New flow',
      nav: 'flows',
      scripts: ['flow-editor.js'],
      body: html`<h1>New flow</h1><p class="hint">Problems show at their line and column as you type; Save keeps the file only once it validates. Writing flows: docs/flows.md.</p>${editor({ text: NEW_FLOW, problems: [] })}`,
    }),
  );

  ui.get('/flows/files/:file', async (request, reply) => {
    const { file } = request.params as { file: string };
    const text = await service().readFlowFile(file);
    const { problems } = service().checkFlow(text, file);
    return sendPage(reply, request, {
      title: `Edit ${file}`,
      nav: 'flows',
      scripts: ['flow-editor.js'],
      body: html`<h1>Edit <code>${file}</code></h1>${editor({ file, text, problems })}`,
    });
  });

  ui.post('/flows/check', async (request, reply) => {
    const text = formText(request.body, 'text');
    const file = formText(request.body, 'file') || undefined;
    let check;
    try {
      check = service().checkFlow(text, file);
    } catch (error) {
      if (error instanceof ServiceRequestError && error.code === 'INVALID_FILE_NAME') check = service().checkFlow(text);
      else throw error;
    }
    if (request.headers.accept?.includes('application/json')) return reply.send(check);
    return sendFragment(reply, checkResult(check.problems, check.flow));
  });

  ui.post('/flows/save', async (request, reply) => {
    const file = formText(request.body, 'file');
    const text = formText(request.body, 'text');
    try {
      const saved = await service().saveFlowFile(file, text);
      if (!isHx(request)) return redirect(request, reply, `/ui/flows/files/${seg(file)}`);
      return sendFragment(
        reply,
        saved.loaded
          ? html`<div class="notice ok" role="status"><p>Saved <code>${file}</code>: flow <a href="/ui/flows/${seg(saved.flow)}">${saved.flow}</a> is loaded.</p></div>`
          : html`<div class="notice error" role="alert"><p>Saved <code>${file}</code>, but sfx serve could not start its trigger:</p>${problemList(saved.problems)}</div>`,
      );
    } catch (error) {
      if (!(error instanceof ServiceRequestError) || !isHx(request)) throw error;
      return sendFragment(
        reply,
        error.code === 'INVALID_FLOW'
          ? html`<div class="notice error" role="alert" data-problems="${JSON.stringify(error.problems)}"><p>Not saved: ${error.problems.length} problem${error.problems.length === 1 ? '' : 's'}.</p>${problemList(error.problems)}</div>`
          : refusal(error),
      );
    }
  });

  ui.get('/flows/:name', async (request, reply) => {
    const { name } = request.params as { name: string };
    const s = service();
    const flow = (await s.listFlows()).flows.find((f) => f.name === name);
    if (!flow)
      throw new ServiceRequestError('UNKNOWN_FLOW', `no flow is named "${name}".`, 'The Flows page lists the loaded flows.');
    const runs = await s.listRunRecords({ flow: name, limit: 10 });
    const body = html`<div class="page-head"><h1>${flow.name}</h1><a class="button" href="/ui/flows/files/${seg(flow.file)}">Edit ${flow.file}</a></div>
${flow.description ? html`<p>${flow.description}</p>` : ''}
<dl class="facts"><dt>Trigger</dt><dd>${triggerCell(flow)}</dd>${flow.schedule ? html`<dt>Schedule</dt><dd>${scheduleCell(flow.name, flow.schedule)}</dd>` : ''}<dt>File</dt><dd><code>${flow.file}</code></dd></dl>
<h2 id="run">Run now</h2>
${runForm(flow)}
<h2>Recent runs</h2>
${runs.length
  ? html`<ul class="recent">${runs.map((r) => html`<li><a href="/ui/runs/${seg(r.id)}">${r.id}</a> ${badge(r.status)} <span class="muted">${when(r.startedAt)} · ${r.trigger.type}</span></li>`)}</ul><p><a href="/ui/runs?flow=${seg(flow.name)}">All runs of ${flow.name}</a></p>`
  : html`<p class="muted">No run yet: start one with Run now.</p>`}`;
    return sendPage(reply, request, { title: flow.name, nav: 'flows', body });
  });

  ui.post('/flows/:name/run', async (request, reply) => {
    const { name } = request.params as { name: string };
    const given: Record<string, unknown> = {};
    for (const [key, value] of Object.entries((request.body as Record<string, unknown> | undefined) ?? {})) {
      // An optional input left empty takes its default.
      if (key === '_csrf' || value === '') continue;
      given[key] = value;
    }
    try {
      const runId = await service().startManualRun(name, given);
      return redirect(request, reply, `/ui/runs/${seg(runId)}`);
    } catch (error) {
      if (error instanceof ServiceRequestError && isHx(request)) return sendFragment(reply, refusal(error));
      throw error;
    }
  });

  ui.post('/flows/:name/schedule', async (request, reply) => {
    const { name } = request.params as { name: string };
    const wanted = formText(request.body, 'enabled');
    if (wanted !== 'true' && wanted !== 'false')
      throw Object.assign(new Error('enabled must be "true" or "false".'), {
        statusCode: 400,
        code: 'INVALID_FIELD',
        hint: 'Send enabled=true to switch the schedule on, enabled=false to switch it off.',
      });
    const schedule = await service().setSchedule(name, wanted === 'true');
    if (!isHx(request)) return redirect(request, reply, `/ui/flows/${seg(name)}`);
    return sendFragment(reply, scheduleCell(name, schedule));
  });
};
