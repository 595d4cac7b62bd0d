/**
 * The item queue's counts at the top of the Runs page, when the service sends loop items to
 * workers through a queue (`sfx serve --queue`): what waits, what runs, what will be retried, what
 * failed for good. The journal's runs below say what each item did; this says where the jobs are.
 */
import type { FlowService, QueueCounts } from '@sfx/flows';
import { html, type Html } from '../html.js';
import { count } from './format.js';

/** A Redis that does not answer must not hold the Runs page. */
const ANSWER_WITHIN_MS = 2000;

/** The counts, undefined without a queue, or why they could not be read. */
export async function readQueueCounts(service: FlowService): Promise<QueueCounts | { error: string } | undefined> {
  const counts = service.queueCounts();
  if (!counts) return undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      counts,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${ANSWER_WITHIN_MS / 1000} s`)), ANSWER_WITHIN_MS);
      }),
    ]);
  } catch (error) {
    return { error: (error as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

/** Where the panel re-reads itself: the counts move while items run, the page must not need a reload. */
export const QUEUE_PANEL_URL = '/ui/runs/queue';

/**
 * The panel replaces itself with a fresh copy every 2 s, the error state too (so it recovers once
 * Redis is back); without a queue there is nothing, so nothing polls. No live region: counts that
 * change at every poll would keep a screen reader talking; they are read when one goes to them.
 */
const POLL = html` hx-get="${QUEUE_PANEL_URL}" hx-trigger="every 2s" hx-swap="outerHTML"`;

export function queuePanel(counts: QueueCounts | { error: string } | undefined): Html | '' {
  if (!counts) return '';
  if ('error' in counts)
    return html`<section class="notice error queue-panel" aria-labelledby="queue-panel-title"${POLL}><h2 id="queue-panel-title">Item queue</h2><p>The queue's counts cannot be read: ${counts.error}. Check that its Redis is up.</p></section>`;
  return html`<section class="notice queue-panel" aria-labelledby="queue-panel-title"${POLL}><h2 id="queue-panel-title">Item queue</h2>
<dl class="facts">
<dt>Waiting</dt><dd data-count="waiting">${count(counts.waiting)}</dd>
<dt>In flight</dt><dd data-count="active">${count(counts.active)}</dd>
<dt>To retry</dt><dd data-count="delayed">${count(counts.delayed)}</dd>
<dt>Failed</dt><dd data-count="failed">${count(counts.failed)}</dd>
</dl>
<p class="muted">Loop items run as jobs on the workers; failed counts jobs whose worker could not run them after their retries (an item's own failure is in its run).</p></section>`;
}
