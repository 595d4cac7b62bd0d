/**
 * Progress of many-file work (upload, download, sync) on stderr: files done of total, files/s,
 * MB/s, ETA and failures. One line redrawn on a terminal; a line every few seconds elsewhere.
 */
import { formatDuration } from '../progress.js';
import { formatBytes } from './output.js';

export interface TransferCounts {
  files: number;
  bytes: number;
  failed: number;
}

export class TransferProgress {
  private done: TransferCounts = { files: 0, bytes: 0, failed: 0 };
  private totalFiles: number | undefined;
  private totalBytes: number | undefined;
  private readonly startedAt: number;
  private lastDraw = 0;
  private drawn = false;

  constructor(
    private readonly verb: string,
    private readonly out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number } = process.stderr,
    private readonly clock: () => number = Date.now,
    /** Off with --json or --quiet: nothing is drawn, counts are still kept. */
    private readonly enabled = true,
    private readonly logEvery = 5000,
  ) {
    this.startedAt = clock();
  }

  /** What is left to do, when known (a plan); rate and ETA need it. */
  total(files: number, bytes?: number): void {
    this.totalFiles = files;
    this.totalBytes = bytes;
    this.draw(true);
  }

  add(result: { bytes?: number; failed?: boolean }): void {
    this.done.files++;
    this.done.bytes += result.bytes ?? 0;
    if (result.failed) this.done.failed++;
    this.draw(false);
  }

  /** A line of its own above the progress line (a failure, a warning). */
  note(text: string): void {
    if (!this.enabled) return;
    this.clear();
    this.out.write(`${text}\n`);
    this.draw(true);
  }

  counts(): TransferCounts {
    return { ...this.done };
  }

  elapsedMs(): number {
    return this.clock() - this.startedAt;
  }

  line(): string {
    const elapsed = Math.max(1, this.elapsedMs());
    const rate = (this.done.files * 1000) / elapsed;
    const byteRate = (this.done.bytes * 1000) / elapsed;
    const parts = [`${this.verb} ${this.done.files}${this.totalFiles !== undefined ? `/${this.totalFiles}` : ''} files`];
    if (this.done.bytes > 0) parts.push(`${formatBytes(this.done.bytes)}${this.totalBytes ? `/${formatBytes(this.totalBytes)}` : ''}`);
    if (this.done.files > 0) parts.push(`${rate >= 10 ? Math.round(rate) : rate.toFixed(1)} files/s`, `${formatBytes(byteRate)}/s`);
    if (this.totalFiles !== undefined && this.done.files > 0 && this.done.files < this.totalFiles) {
      const leftMs = this.totalBytes && byteRate > 0 ? ((this.totalBytes - this.done.bytes) / byteRate) * 1000 : ((this.totalFiles - this.done.files) / rate) * 1000;
      parts.push(`ETA ${formatDuration(leftMs)}`);
    }
    if (this.done.failed) parts.push(`${this.done.failed} failed`);
    return parts.join('  ');
  }

  /** Clears the line; call when the work is over, before printing the summary. */
  end(): void {
    this.clear();
  }

  private draw(force: boolean): void {
    if (!this.enabled) return;
    const now = this.clock();
    if (!this.out.isTTY) {
      if (now - this.lastDraw >= this.logEvery) {
        this.lastDraw = now;
        this.out.write(`${this.line()}\n`);
      }
      return;
    }
    if (!force && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    this.out.write(`\r\x1b[2K${this.line().slice(0, (this.out.columns ?? 100) - 1)}`);
    this.drawn = true;
  }

  private clear(): void {
    if (this.drawn) this.out.write('\r\x1b[2K');
    this.drawn = false;
  }
}
