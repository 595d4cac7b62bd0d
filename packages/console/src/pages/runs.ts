/**
 * Runs: the history with filters (flow, status), a run's steps with counts, durations and errors
 * with hints, each step's items a page at a time, live progress over server-sent events while the
 * run runs in this process, stop of a running run (it ends interrupted, resumable), and resume /
 * retry of the failed items.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import type { FastifyRequest } from 'fastify';
import { ServiceRequestError, type FlowService, type ItemStatus, type RunDetail, type RunStatus, type RunSummaryListing } from '@sfx/flows';
import { sessionOf } from '../auth.js';
import type { ConsolePage } from '../context.js';
import { html, type Html } from '../html.js';
import { sendFragment, sendPage } from '../layout.js';
import { redirect, refusal, serviceOf } from './flows.js';
import { badge, count, seg, span, when } from './format.js';
import { queuePanel, readQueueCounts } from './queue-panel.js';

const STATUSES: RunStatus[] = ['running', 'succeeded', 'failed', 'interrupted'];
const ITEM_STATUSES: ItemStatus[] = ['succeeded', 'failed', 'skipped', 'started'];
const PAGE = 50;
/** Live updates are sent at most this often: a loop of 100k items must not flood the browser. */
const LIVE_EVERY_MS = 250;
/** Live run streams one session may hold at once (a page each), and the whole console. */
export const MAX_STREAMS_PER_SESSION = 8;
const MAX_STREAMS = 64;

type RunRow = RunSummaryListing;

/** `before=<startedAt>.<id>`: the last run of the page before. */
function parseCursor(value: string | undefined): { startedAt: number; id: string } | undefined {
  const m = value ? /^(\d{1,16})\.(.+)$/.exec(value) : null;
  return m ? { startedAt: Number(m[1]), id: m[2]! } : undefined;
}

function query(request: FastifyRequest): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries((request.query as Record<string, unknown>) ?? {})) if (typeof v === 'string') out[k] = v;
  return out;
}

function runsTable(rows: RunRow[]): Html {
  return html`<div class="table-wrap"><table>
<caption class="visually-hidden">Runs, newest first</caption>
<thead><tr><th scope="col">Run</th><th scope="col">Flow</th><th scope="col">Trigger</th><th scope="col">Status</th><th scope="col" class="num">OK</th><th scope="col" class="num">Failed</th><th scope="col" class="num">Skipped</th><th scope="col">Started</th><th scope="col">Duration</th></tr></thead>
<tbody>${rows.map((r) => {
    const c = r.items;
    return html`<tr>
<td><a href="/ui/runs/${seg(r.id)}">${r.id}</a></td><td><a href="/ui/flows/${seg(r.flow)}">${r.flow}</a></td><td>${r.trigger.type}</td><td>${badge(r.status)}</td>
<td class="num">${count(c.succeeded)}</td><td class="num">${count(c.failed)}</td><td class="num">${count(c.skipped)}</td>
<td>${when(r.startedAt)}</td><td>${span(r.startedAt, r.endedAt)}</td></tr>`;
  })}</tbody></table></div>`;
}

/** The run's header, actions and steps: the page's body, and what each live update replaces. */
export function runBody(detail: RunDetail, failedItems: number): Html {
  const { run, steps, live } = detail;
  const canResume = !live && (run.status === 'interrupted' || run.status === 'failed');
  const canRetry = !live && failedItems > 0;
  // Also a run marked running that this process does not drive: the service says who can stop it.
  const canStop = run.status === 'running';
  return html`<div class="page-head"><h1>Run <code>${run.id}</code></h1>${badge(run.status)}</div>
<dl class="facts">
<dt>Flow</dt><dd><a href="/ui/flows/${seg(run.flow)}">${run.flow}</a></dd>
<dt>Trigger</dt><dd>${run.trigger.type}${run.trigger.id ? html` <span class="muted">${run.trigger.id}</span>` : ''}</dd>
<dt>Started</dt><dd>${when(run.startedAt)}</dd>
<dt>Duration</dt><dd>${span(run.startedAt, run.endedAt)}</dd>
${Object.keys(run.inputs).length ? html`<dt>Inputs</dt><dd><code>${JSON.stringify(run.inputs)}</code></dd>` : ''}
</dl>
${run.error ? errorBlock(run.error) : ''}
${canResume || canRetry || canStop
  ? html`<div class="buttons">
${canStop ? html`<form method="post" action="/ui/runs/${seg(run.id)}/stop" hx-post="/ui/runs/${seg(run.id)}/stop" hx-target="#run-actions-result" hx-disabled-elt="find button"><button type="submit">Stop run</button></form>` : ''}
${canResume ? html`<form method="post" action="/ui/runs/${seg(run.id)}/resume" hx-post="/ui/runs/${seg(run.id)}/resume" hx-target="#run-actions-result"><button type="submit" class="primary">Resume</button></form>` : ''}
${canRetry ? html`<form method="post" action="/ui/runs/${seg(run.id)}/retry" hx-post="/ui/runs/${seg(run.id)}/retry" hx-target="#run-actions-result"><button type="submit">Retry ${count(failedItems)} failed item${failedItems === 1 ? '' : 's'}</button></form>` : ''}
</div>`
  : ''}
<h2>Steps</h2>
<div class="table-wrap"><table class="steps">
<caption class="visually-hidden">Steps of the run</caption>
<thead><tr><th scope="col">Step</th><th scope="col">Status</th><th scope="col">Progress</th><th scope="col" class="num">OK</th><th scope="col" class="num">Failed</th><th scope="col" class="num">Skipped</th><th scope="col">Duration</th></tr></thead>
<tbody>${steps.map((s) => {
    const done = (s.succeeded ?? 0) + (s.failed ?? 0) + (s.skipped ?? 0);
    const loop = s.total !== undefined;
    return html`<tr>
<td>${loop || s.status === 'failed' ? html`<a href="/ui/runs/${seg(run.id)}/steps/${seg(s.id)}">${s.id}</a>` : s.id}${s.error ? errorBlock(s.error) : ''}</td>
<td>${badge(s.status)}</td>
<td>${loop ? html`<progress max="${Math.max(s.total ?? 0, 1)}" value="${done}" aria-label="${s.id}: ${done} of ${s.total ?? 0} items done"></progress> <span class="muted">${count(done)} / ${count(s.total)}</span>` : ''}</td>
<td class="num">${count(s.succeeded)}</td><td class="num">${count(s.failed)}</td><td class="num">${count(s.skipped)}</td>
<td>${span(s.startedAt, s.endedAt)}</td></tr>`;
  })}</tbody></table></div>
<p class="muted live-note">${live ? 'Running: this page follows it live.' : run.status === 'running' ? 'Marked running, but not by this process (another sfx, or one that ended without closing it).' : ''}</p>`;
}

function errorBlock(error: { message: string; hint?: string; kind?: string; code?: string }): Html {
  return html`<div class="notice error"><p>${error.kind ? html`<span class="muted">${error.kind}${error.code ? ` ${error.code}` : ''}:</span> ` : ''}${error.message}</p>${error.hint ? html`<p class="hint">Hint: ${error.hint}</p>` : ''}</div>`;
}

/** What "Retry failed" would run again: the failed items of loops, or a failed single step as one. */
function failedCount(detail: RunDetail): number {
  const items = detail.steps.reduce((n, s) => n + (s.failed ?? 0), 0);
  return items || detail.steps.filter((s) => s.status === 'failed' && s.total === undefined).length;
}

/** SSE `data:` lines: every line of the payload gets its own prefix. */
function sse(event: string, data: string): string {
  return `event: ${event}\n${data.split('\n').map((line) => `data: ${line}`).join('\n')}\n\n`;
}

export const runsPage: ConsolePage = (ui, ctx) => {
  const service = (): FlowService => serviceOf(ctx.options.service);
  /** Live streams open, per session id and in all. */
  const streams = new Map<string, number>();
  let total = 0;

  /**
   * One page of the history (PAGE runs at most, `before` the last one shown for the next): the
   * runs and their counts in two journal queries, which the 2 s refresh while a run runs repeats.
   */
  async function runsSection(request: FastifyRequest): Promise<{ body: Html; anyRunning: boolean; href: string }> {
    const q = query(request);
    const s = service();
    const flow = q.flow || undefined;
    const status = STATUSES.includes(q.status as RunStatus) ? (q.status as RunStatus) : undefined;
    const before = parseCursor(q.before);
    const rows = await s.listRunSummaries({ limit: PAGE + 1, ...(flow ? { flow } : {}), ...(status ? { status } : {}), ...(before ? { before } : {}) });
    const more = rows.length > PAGE;
    const shown = rows.slice(0, PAGE);
    const params = new URLSearchParams({ ...(flow ? { flow } : {}), ...(status ? { status } : {}) });
    const page = (cursor?: string): string => {
      const p = new URLSearchParams(params);
      if (cursor) p.set('before', cursor);
      return p.toString();
    };
    const last = shown.at(-1);
    const nav = [
      ...(before ? [html`<a class="button" href="/ui/runs?${page()}">Newest runs</a>`] : []),
      ...(more && last ? [html`<a class="button" href="/ui/runs?${page(`${last.startedAt}.${last.id}`)}">Older runs</a>`] : []),
    ];
    const anyRunning = shown.some((r) => r.live);
    const body = shown.length
      ? html`${runsTable(shown)}${nav.length ? html`<p class="buttons">${nav}</p>` : ''}`
      : before
        ? html`<div class="empty"><p>No older runs.</p><p><a href="/ui/runs?${page()}">Newest runs</a></p></div>`
        : flow || status
          ? html`<div class="empty"><p>No run matches these filters.</p><p><a href="/ui/runs">Show every run</a></p></div>`
          : html`<div class="empty"><p>No runs yet.</p><p>Start one from <a href="/ui/flows">Flows</a> (Run now), or with <code>sfx flow run FLOW.yaml --journal</code> on this journal. Triggered flows add theirs as their events come.</p></div>`;
    return { body, anyRunning, href: `/ui/runs/table?${page(q.before && before ? q.before : undefined)}` };
  }

  function refreshing(section: { body: Html; anyRunning: boolean; href: string }): Html {
    // While a run runs, the table refreshes itself; once none does, it stops asking.
    return html`<div id="runs-table"${section.anyRunning ? html` hx-get="${section.href}" hx-trigger="every 2s" hx-swap="outerHTML"` : ''}>${section.body}</div>`;
  }

  ui.get('/runs', async (request, reply) => {
    const q = query(request);
    const { flows } = await service().listFlows();
    const names = [...new Set([...flows.map((f) => f.name), ...(q.flow ? [q.flow] : [])])].sort();
    const section = await runsSection(request);
    const queue = queuePanel(await readQueueCounts(service()));
    const body = html`<h1>Runs</h1>
${queue}
<form class="filters" method="get" action="/ui/runs">
<div class="field"><label for="filter-flow">Flow</label><select id="filter-flow" name="flow"><option value="">all flows</option>${names.map((n) => html`<option value="${n}"${n === q.flow ? html` selected` : ''}>${n}</option>`)}</select></div>
<div class="field"><label for="filter-status">Status</label><select id="filter-status" name="status"><option value="">any status</option>${STATUSES.map((st) => html`<option value="${st}"${st === q.status ? html` selected` : ''}>${st}</option>`)}</select></div>
<button type="submit">Filter</button>
</form>
${refreshing(section)}`;
    return sendPage(reply, request, { title: 'Runs', nav: 'runs', body });
  });

  ui.get('/runs/table', async (request, reply) => sendFragment(reply, refreshing(await runsSection(request))));

  // Empty without a queue: the swap removes the panel, and with it the polling.
  ui.get('/runs/queue', async (_request, reply) => sendFragment(reply, html`${queuePanel(await readQueueCounts(service()))}`));

  ui.get('/runs/:id', async (request, reply) => {
    const { id } = request.params as { id: string };
    const s = service();
    const detail = await s.runDetail(id);
    const body = html`<p><a href="/ui/runs">All runs</a></p>
<div id="run" data-run-live="${detail.live ? `/ui/runs/${seg(id)}/events` : ''}">${runBody(detail, failedCount(detail))}</div>
<div id="run-actions-result" aria-live="polite"></div>
<p id="run-status" class="visually-hidden" role="status"></p>`;
    return sendPage(reply, request, { title: `Run ${id}`, nav: 'runs', body, scripts: ['run-live.js'] });
  });

  /**
   * Server-sent events: `update` carries the run's body (HTML, rendered from the journal) at most
   * every LIVE_EVERY_MS while events come; `end` once it has finished (or when it is not running here).
   */
  ui.get('/runs/:id/events', async (request, reply) => {
    const { id } = request.params as { id: string };
    const s = service();
    await s.runDetail(id); // 404 for an unknown run, before the stream starts
    // Each stream holds a socket, a journal listener and timers: a session gets a few, not a flood.
    const session = sessionOf(request).id;
    const open = streams.get(session) ?? 0;
    if (open >= MAX_STREAMS_PER_SESSION || total >= MAX_STREAMS)
      return reply.code(429).header('Retry-After', '5').send({
        status: 'error',
        code: 'TOO_MANY_STREAMS',
        msg: `this session already follows ${open} runs live.`,
        hint: 'Close some run pages (or tabs), then reload this one.',
      });
    streams.set(session, open + 1);
    total++;
    reply.hijack();
    const out = reply.raw;
    out.writeHead(200, {
      // The security headers set for every /ui response (a hijacked reply skips onSend).
      ...(reply.getHeaders() as OutgoingHttpHeaders),
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
    });
    let closed = false;
    let timer: NodeJS.Timeout | undefined;
    let sending: Promise<void> = Promise.resolve();
    const keepAlive = setInterval(() => out.write(': keep-alive\n\n'), 15_000);
    const send = (final: boolean): void => {
      sending = sending.then(async () => {
        if (closed) return;
        const detail = await s.runDetail(id);
        if (closed) return;
        out.write(sse('update', runBody(detail, failedCount(detail)).text));
        if (final || !detail.live) {
          out.write(sse('end', detail.run.status));
          stop();
          out.end();
        }
      }).catch((error: unknown) => {
        ctx.logFailure(request, error, { runId: id });
        stop();
        out.end();
      });
    };
    const unsubscribe = s.watchRun(id, (event) => {
      if (event.type === 'run-finished') {
        clearTimeout(timer);
        timer = undefined;
        // The engine journals the end before it emits it; the service forgets the run just after.
        send(true);
        return;
      }
      timer ??= setTimeout(() => {
        timer = undefined;
        send(false);
      }, LIVE_EVERY_MS);
    });
    function stop(): void {
      if (closed) return;
      closed = true;
      unsubscribe();
      clearInterval(keepAlive);
      clearTimeout(timer);
      total--;
      const left = (streams.get(session) ?? 1) - 1;
      if (left > 0) streams.set(session, left);
      else streams.delete(session);
    }
    // The response's close: the browser went away (or the stream ended). The request's own close
    // says only that its body was read, which for a GET is no news of the browser.
    out.on('close', stop);
    // The state now: subscribed first, so nothing that happens from here on is missed.
    send(false);
  });

  ui.get('/runs/:id/steps/:step', async (request, reply) => {
    const { id, step } = request.params as { id: string; step: string };
    const q = query(request);
    const s = service();
    const detail = await s.runDetail(id);
    const summary = detail.steps.find((st) => st.id === step);
    if (!summary)
      throw new ServiceRequestError('UNKNOWN_RUN', `run ${id} has no step "${step}".`, 'The run page lists its steps.');
    const status = ITEM_STATUSES.includes(q.status as ItemStatus) ? (q.status as ItemStatus) : undefined;
    const after = q.after !== undefined && /^-?\d+$/.test(q.after) ? Number(q.after) : undefined;
    const items = await s.runItems(id, step, { limit: PAGE + 1, ...(status ? { status } : {}), ...(after !== undefined ? { afterIndex: after } : {}) });
    const more = items.length > PAGE;
    const page = items.slice(0, PAGE);
    const base = `/ui/runs/${seg(id)}/steps/${seg(step)}`;
    const filter = (label: string, value?: ItemStatus): Html =>
      html`<a class="chip" href="${base}${value ? `?status=${value}` : ''}"${value === status ? html` aria-current="page"` : ''}>${label}</a>`;
    const body = html`<p><a href="/ui/runs/${seg(id)}">Run ${id}</a></p>
<div class="page-head"><h1>Step <code>${step}</code></h1>${badge(summary.status)}</div>
${summary.error ? errorBlock(summary.error) : ''}
<nav aria-label="Item status" class="chips">${filter('all')}${ITEM_STATUSES.map((st) => filter(st, st))}</nav>
${page.length
  ? html`<div class="table-wrap"><table>
<caption class="visually-hidden">Items of step ${step}</caption>
<thead><tr><th scope="col" class="num">Item</th><th scope="col">Status</th><th scope="col" class="num">Attempts</th><th scope="col">Duration</th><th scope="col">Value</th><th scope="col">Error</th></tr></thead>
<tbody>${page.map(
      (item) => html`<tr><td class="num">${item.index}</td><td>${badge(item.status)}</td><td class="num">${item.attempts}</td><td>${span(item.startedAt, item.endedAt)}</td>
<td><code class="value">${preview(item.item)}</code></td><td>${item.error ? errorBlock(item.error) : ''}</td></tr>`,
    )}</tbody></table></div>
${more ? html`<p><a class="button" href="${base}?${new URLSearchParams({ ...(status ? { status } : {}), after: String(page.at(-1)!.index) }).toString()}">Next ${PAGE} items</a></p>` : ''}`
  : html`<div class="empty"><p>No ${status ?? ''} items${after !== undefined ? ' after this one' : ''}.</p></div>`}`;
    return sendPage(reply, request, { title: `Run ${id} · ${step}`, nav: 'runs', body });
  });

  /**
   * Stops a running run; answers once it has ended (the grace time for its in-flight items at
   * most), with what happened and the run's body as it is now, swapped in place of the old one.
   */
  ui.post('/runs/:id/stop', async (request, reply) => {
    const { id } = request.params as { id: string };
    const s = service();
    let status: RunStatus;
    try {
      status = await s.stopRun(id, 'console');
    } catch (error) {
      if (error instanceof ServiceRequestError && request.headers['hx-request'] === 'true')
        return sendFragment(reply, refusal(error));
      throw error;
    }
    if (request.headers['hx-request'] !== 'true') return redirect(request, reply, `/ui/runs/${seg(id)}`);
    const detail = await s.runDetail(id);
    const message =
      status === 'interrupted'
        ? html`<div class="notice ok" role="status"><p>Stopped: the run is interrupted; Resume goes on from where it stopped.</p></div>`
        : status === 'running'
          ? html`<div class="notice" role="status"><p>Stop requested: the run takes no more items, and ends interrupted once those in flight end. Reload this page to see it.</p></div>`
          : html`<div class="notice" role="status"><p>The run ended ${status} before the stop reached it.</p></div>`;
    return sendFragment(reply, html`${message}<div id="run" hx-swap-oob="innerHTML">${runBody(detail, failedCount(detail))}</div>`);
  });

  for (const [action, retryFailed] of [
    ['resume', false],
    ['retry', true],
  ] as const) {
    ui.post(`/runs/:id/${action}`, async (request, reply) => {
      const { id } = request.params as { id: string };
      try {
        await service().resumeRun(id, { retryFailed });
        return redirect(request, reply, `/ui/runs/${seg(id)}`);
      } catch (error) {
        if (error instanceof ServiceRequestError && request.headers['hx-request'] === 'true')
          return sendFragment(reply, refusal(error));
        throw error;
      }
    });
  }
};

/** An item's value in one short line: enough to recognise it, never a whole document. */
function preview(value: unknown): string {
  if (value === undefined) return '';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > 160 ? `${text.slice(0, 157)}…` : text;
}
