import type { Database, Statement } from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/store/database.js';
import { WebhookStore } from '../src/store/webhooks.js';

// The dispatcher asks for due deliveries after every write request: with a large backlog, reading
// every pending delivery each time (81 ms at 1M) would slow the whole API. Each active webhook's
// head must come from one index seek instead.

let db: Database;
let store: WebhookStore;

beforeAll(() => {
  db = openDatabase(':memory:');
  store = new WebhookStore(db);
  const at = new Date().toISOString();
  // The event first: recording one fans it out to the webhooks that exist (schema triggers).
  db.prepare(
    `INSERT INTO webhook_events (id, uuid, type, occurred_at, data) VALUES (1, 'e1', 'file.uploaded', ?, '{}')`,
  ).run(at);
  const webhook = db.prepare(
    `INSERT INTO webhooks (id, uuid, url, events, active, created_at, updated_at) VALUES (?, ?, 'http://x', '["*"]', ?, ?, ?)`,
  );
  webhook.run(1, 'w1', 1, at, at);
  webhook.run(2, 'w2', 1, at, at);
  webhook.run(3, 'w3', 0, at, at); // paused: its deliveries wait
  webhook.run(4, 'w4', 1, at, at);
  const delivery = db.prepare(
    `INSERT INTO webhook_deliveries (id, uuid, webhook_id, event_id, state, next_attempt_at) VALUES (?, ?, ?, 1, ?, ?)`,
  );
  const rows: Array<[number, number, string, number]> = [
    [1, 1, 'delivered', 0],
    [2, 2, 'pending', 5_000], // w2's head is waiting for a retry: w2's later ones wait behind it
    [3, 1, 'pending', 0],
    [4, 3, 'pending', 0],
    [5, 2, 'pending', 0],
    [6, 1, 'pending', 0],
    [7, 4, 'failed', 0],
    [8, 4, 'pending', 9_000],
  ];
  for (const [id, webhookId, state, nextAttemptAt] of rows)
    delivery.run(id, `d${id}`, webhookId, state, nextAttemptAt);
});
afterAll(() => db.close());

describe('due deliveries', () => {
  it("takes each active webhook's oldest pending delivery, and only when it is due", () => {
    expect(store.due(1_000, 10).map((d) => [d.webhook.uuid, d.delivery.uuid])).toEqual([['w1', 'd3']]);
    expect(store.due(6_000, 10).map((d) => [d.webhook.uuid, d.delivery.uuid])).toEqual([
      ['w2', 'd2'],
      ['w1', 'd3'],
    ]);
    expect(store.due(10_000, 2).map((d) => d.delivery.uuid)).toEqual(['d2', 'd3']);
    expect(store.due(10_000, 10).map((d) => d.delivery.uuid)).toEqual(['d2', 'd3', 'd8']);
    expect(store.nextDue()).toBe(0);
    store.markDelivered(3, 200);
    store.markDelivered(6, 200);
    expect(store.nextDue()).toBe(5_000);
  });

  it('finds them through the partial index, without scanning the deliveries', () => {
    const statements = (store as unknown as { stmt: Record<string, Statement> }).stmt;
    for (const [name, params] of [
      ['due', [0, 8]],
      ['nextDue', []],
    ] as const) {
      const plan = (
        db.prepare(`EXPLAIN QUERY PLAN ${statements[name]!.source}`).all(...params) as Array<{
          detail: string;
        }>
      )
        .map((row) => row.detail)
        .join(' | ');
      expect(plan, name).toMatch(
        /SEARCH webhook_deliveries USING COVERING INDEX webhook_deliveries_pending \(webhook_id=\?\)/,
      );
      expect(plan, name).not.toMatch(/SCAN (webhook_deliveries|d\b)/);
    }
  });
});
