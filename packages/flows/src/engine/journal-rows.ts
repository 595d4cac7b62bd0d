/**
 * The journal's rows as both stores (SQLite and PostgreSQL) read them, and the records the engine
 * sees: one mapping, so the two backends cannot drift apart.
 */
import type { ErrorRecord, ItemRecord, ItemStatus, LoopPage, RunRecord, RunStatus, StepRecord, StepStatus } from './run-store.js';
import { fromJson, toJson } from './journal-json.js';

export interface RunRow {
  id: string;
  flow: string;
  flow_hash: string;
  flow_file: string | null;
  source: string;
  base_dir: string;
  trigger: string;
  inputs: string;
  status: RunStatus;
  error: string | null;
  started_at: number;
  ended_at: number | null;
  owner: string | null;
  /** PostgreSQL's run lease; SQLite's journal has none. */
  lease_until?: number | null;
}

export interface StepRow {
  run_id: string;
  step: string;
  status: StepStatus;
  output: string | null;
  error: string | null;
  next_index: number;
  cursor: string | null;
  started_at: number;
  ended_at: number | null;
}

export interface ItemRow {
  idx: number;
  status: ItemStatus;
  attempts: number;
  item: string | null;
  output: string | null;
  error: string | null;
  started_at: number;
  ended_at: number | null;
  owner: string | null;
  lease_until: number | null;
}

export interface PageRow {
  first_index: number;
  count: number;
  items: string;
  /** SQLite keeps a boolean as 0 or 1. */
  at_end: boolean | number;
  error: string | null;
}

export function runOf(row: RunRow): RunRecord {
  return {
    id: row.id,
    flow: row.flow,
    flowHash: row.flow_hash,
    ...(row.flow_file ? { flowFile: row.flow_file } : {}),
    source: row.source,
    baseDir: row.base_dir,
    trigger: JSON.parse(row.trigger) as RunRecord['trigger'],
    inputs: JSON.parse(row.inputs) as Record<string, unknown>,
    status: row.status,
    ...(row.error ? { error: JSON.parse(row.error) as ErrorRecord } : {}),
    startedAt: row.started_at,
    ...(row.ended_at !== null ? { endedAt: row.ended_at } : {}),
    ...(row.owner ? { owner: row.owner } : {}),
  };
}

export function stepOf(row: StepRow): StepRecord {
  return {
    runId: row.run_id,
    step: row.step,
    status: row.status,
    ...(row.output !== null ? { output: fromJson(row.output) } : {}),
    ...(row.error ? { error: JSON.parse(row.error) as ErrorRecord } : {}),
    nextIndex: row.next_index,
    ...(row.cursor !== null ? { cursor: row.cursor } : {}),
    startedAt: row.started_at,
    ...(row.ended_at !== null ? { endedAt: row.ended_at } : {}),
  };
}

export function itemOf(row: ItemRow): ItemRecord {
  return {
    index: row.idx,
    status: row.status,
    attempts: row.attempts,
    ...(row.item !== null ? { item: fromJson(row.item) } : {}),
    ...(row.output !== null ? { output: fromJson(row.output) } : {}),
    ...(row.error ? { error: JSON.parse(row.error) as ErrorRecord } : {}),
    startedAt: row.started_at,
    ...(row.ended_at !== null ? { endedAt: row.ended_at } : {}),
    ...(row.status === 'started' && row.owner ? { owner: row.owner } : {}),
    ...(row.status === 'started' && row.lease_until !== null ? { leaseUntil: row.lease_until } : {}),
  };
}

/** A page's columns. Its items are kept whole (no size limit): a loop re-reads them on resume. */
export function pageRow(page: LoopPage): PageRow & { at_end: boolean } {
  return {
    first_index: page.firstIndex,
    count: page.items.length,
    items: toJson(page.items, Infinity)!,
    at_end: page.end,
    error: toJson(page.error, Infinity),
  };
}

export function pageOf(row: PageRow): LoopPage {
  return {
    firstIndex: row.first_index,
    items: fromJson<LoopPage['items']>(row.items)!,
    end: Boolean(row.at_end),
    ...(row.error !== null ? { error: fromJson<ErrorRecord>(row.error)! } : {}),
  };
}

/**
 * Whether `row`, the page starting nearest at or below `index`, holds it: one of its items, or
 * the empty last page starting right there.
 */
export function pageHolds(row: PageRow, index: number): boolean {
  return index < row.first_index + row.count || (row.count === 0 && row.first_index === index);
}
