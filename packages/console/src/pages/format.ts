/** Small pieces the Flows, Runs and Connections pages share: times, durations, status badges. */
import { html, type Html } from '../html.js';

/** `2026-06-01 10:00:00 UTC`: one zone for every reader, and the one the journal and logs use. */
export function when(ms: number | undefined): string {
  if (ms === undefined) return '';
  return `${new Date(ms).toISOString().replace('T', ' ').slice(0, 19)} UTC`;
}

export function isoWhen(iso: string): string {
  return when(Date.parse(iso));
}

export function duration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s % 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function span(start: number | undefined, end: number | undefined, now = Date.now()): string {
  if (start === undefined) return '';
  return end === undefined ? `${duration(now - start)} so far` : duration(end - start);
}

/** A status as a word with a shape and colour (never colour alone). */
export function badge(status: string): Html {
  return html`<span class="badge badge-${status}">${status}</span>`;
}

export function count(n: number | undefined): string {
  return n === undefined ? '' : n.toLocaleString('en');
}

/** Path segments are encoded; the rest of the URL is ours. */
export function seg(value: string): string {
  return encodeURIComponent(value);
}
