/**
 * Live progress of a run on stderr: the current step, items done (of how many, when known), rate,
 * ETA and failures. On a terminal one line is redrawn; elsewhere (CI logs, pipes) a line is
 * printed per step and every few seconds, so logs stay readable.
 */
import type { RunEvent } from '@sfx/flows';

interface StepProgress {
  id: string;
  position: string;
  loop: boolean;
  total?: number;
  succeeded: number;
  failed: number;
  skipped: number;
  startedAt: number;
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export class RunProgress {
  private step: StepProgress | undefined;
  private lastDraw = 0;
  private lastLine = 0;
  private drawn = false;

  constructor(
    private readonly out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number },
    private readonly clock: () => number = Date.now,
    /** How often a non-terminal gets a progress line, in ms. */
    private readonly logEvery = 5000,
  ) {}

  onEvent(event: RunEvent): void {
    switch (event.type) {
      case 'run-started':
        this.write(`${event.resumed ? 'resuming' : 'running'} ${event.flow} (run ${event.runId})`);
        break;
      case 'step-started':
        this.step = { id: event.step, position: `${event.index + 1}/${event.of}`, loop: event.loop, succeeded: 0, failed: 0, skipped: 0, startedAt: this.clock() };
        if (!this.out.isTTY) this.write(`step ${this.step.position} ${event.step}: started`);
        else this.draw(true);
        break;
      case 'step-total':
        if (this.step?.id === event.step) this.step.total = event.total;
        break;
      case 'item':
        if (this.step?.id !== event.step) break;
        this.step[event.status]++;
        this.draw(false);
        break;
      case 'step-finished': {
        const s = this.step?.id === event.step ? this.step : undefined;
        const took = s ? formatDuration(this.clock() - s.startedAt) : '';
        const counts = event.counts
          ? ` ${formatCount(event.counts.succeeded)} succeeded, ${formatCount(event.counts.failed)} failed, ${formatCount(event.counts.skipped)} skipped`
          : '';
        this.write(`step ${s?.position ?? ''} ${event.step}: ${event.status}${counts}${took ? ` in ${took}` : ''}${event.error ? ` - ${event.error.message}` : ''}`);
        this.step = undefined;
        break;
      }
      case 'run-finished':
        this.clear();
        break;
    }
  }

  /** A line of its own (a log step's message), above the progress line. */
  note(text: string): void {
    this.write(text);
  }

  /** The current line: `upload  1,234/5,000  98/s  ETA 39s  2 failed`. */
  line(): string {
    const s = this.step;
    if (!s) return '';
    const done = s.succeeded + s.failed + s.skipped;
    const elapsed = Math.max(1, this.clock() - s.startedAt);
    const rate = (done * 1000) / elapsed;
    const parts = [`step ${s.position} ${s.id}`];
    if (s.loop) {
      parts.push(s.total !== undefined ? `${formatCount(done)}/${formatCount(s.total)} items` : `${formatCount(done)} items`);
      if (done > 0) parts.push(`${rate >= 10 ? Math.round(rate) : rate.toFixed(1)}/s`);
      if (s.total !== undefined && done > 0 && rate > 0) parts.push(`ETA ${formatDuration(((s.total - done) / rate) * 1000)}`);
      if (s.failed) parts.push(`${formatCount(s.failed)} failed`);
      if (s.skipped) parts.push(`${formatCount(s.skipped)} skipped`);
    } else parts.push('running');
    return parts.join('  ');
  }

  private draw(force: boolean): void {
    const now = this.clock();
    if (!this.out.isTTY) {
      if (now - this.lastLine >= this.logEvery && this.step?.loop) {
        this.lastLine = now;
        this.out.write(`${this.line()}\n`);
      }
      return;
    }
    if (!force && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const width = (this.out.columns ?? 100) - 1;
    this.out.write(`\r\x1b[2K${this.line().slice(0, width)}`);
    this.drawn = true;
  }

  private clear(): void {
    if (this.drawn) this.out.write('\r\x1b[2K');
    this.drawn = false;
  }

  private write(text: string): void {
    this.clear();
    this.out.write(`${text}\n`);
    if (this.out.isTTY && this.step) this.draw(true);
  }
}
