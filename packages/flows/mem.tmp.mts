import { z } from 'zod';
import { ActionRegistry, defineStepAction, Engine, loadFlow, SqliteRunStore } from '/work/main/packages/flows/dist/index.js';
const t = { name: 't', description: '', actions: [
  defineStepAction({ id: 'count', title: '', description: '', input: z.strictObject({ n: z.number(), pad: z.number() }), kind: 'read', idempotent: true,
    async *items(_c: any, input: any) { for (let i = 0; i < input.n; i++) yield { item: { i, pad: `${i}`.padEnd(input.pad, '.') }, cursor: String(i) }; } }),
  defineStepAction({ id: 'noop', title: '', description: '', input: z.strictObject({ value: z.unknown() }), kind: 'write', idempotent: true, async run(_c: any, i: any) { return { ok: i.value }; } }),
]};
const { flow } = loadFlow(`name: big
steps:
  - id: numbers
    uses: t.count
    with: { n: ${process.argv[2] ?? 100000}, pad: 2048 }
  - id: each
    forEach: "{% $steps.numbers %}"
    concurrency: 8
    uses: t.noop
    with: { value: "{% $item.i %}" }
    output: "{% $item.i %}"
`, { registry: new ActionRegistry([t as any]) });
const e = new Engine({ store: new SqliteRunStore(':memory:'), checkpointEvery: 1000 });
(globalThis as any).gc(); const before = process.memoryUsage().heapUsed; let n = 0; let peak = 0;
const t0 = Date.now();
const r = await e.run(flow!, { onEvent: (ev: any) => { if (ev.type === 'item' && ++n % 20000 === 0) { (globalThis as any).gc(); const h = process.memoryUsage().heapUsed; peak = Math.max(peak, h - before); console.log(n, ((h - before) / 1e6).toFixed(1), 'MB'); } } });
console.log(r.status, 'peak', (peak/1e6).toFixed(1), 'MB', Date.now() - t0, 'ms');
