// cdn-render-flood: one keyless caller floods the CDN with distinct large transforms while another
// asks for a cached transform, an original and one new thumbnail. Reports what the flood got
// (statuses, slowest reply) and how long the other caller waited.
//
//   node bench/cdn-render-flood.mjs [--requests 80] [--side 4900] [--open]
//
// --open runs without the pixel cap and the per-address budget (and with a wait queue long enough
// for the whole flood), i.e. the server as it was before they existed. Needs a built server
// (npm run build). The server runs in this process; process CPU time covers libvips' threads too.
/* global fetch, FormData, Blob, performance, setTimeout -- Node 20 globals */
import sharp from 'sharp';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from '../packages/server/dist/index.js';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : process.argv[i + 1];
};
const requests = Number(arg('requests', 80));
const side = Number(arg('side', 4900));
const open = process.argv.includes('--open');

const data = await mkdtemp(join(tmpdir(), 'sfx-bench-flood-'));
const server = await startServer({
  port: 0,
  data,
  rootKey: 'bench-flood-root-key',
  durability: 'relaxed',
  logLevel: 'error',
  trustedProxies: ['127.0.0.1/32'],
  limits: open
    ? { maxTransformPixels: Number.MAX_SAFE_INTEGER, transformMegapixelsPerMinutePerIp: 0, maxQueuedTransforms: requests + 10 }
    : {},
});
const attacker = { 'x-forwarded-for': '198.51.100.1' };
const other = { 'x-forwarded-for': '198.51.100.2' };

try {
  const png = await sharp({ create: { width: 1000, height: 1000, channels: 3, background: '#2a9d8f' } }).png().toBuffer();
  const form = new FormData();
  form.append('file', new Blob([png], { type: 'image/png' }), 'source.png');
  const up = await fetch(`${server.url}/${server.token}/v5/files?folder=/bench`, {
    method: 'POST',
    headers: { 'X-Filerobot-Key': server.rootKey },
    body: form,
  });
  const cdn = (await up.json()).file.url.cdn;
  await (await fetch(`${cdn}&w=300`, { headers: other })).arrayBuffer(); // cached beforehand

  const timed = async (url, headers) => {
    const t0 = performance.now();
    const r = await fetch(url, { headers });
    await r.arrayBuffer();
    return { status: r.status, ms: performance.now() - t0 };
  };
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const flood = Array.from({ length: requests }, (_, i) => timed(`${cdn}&w=${side - i}&h=${side - i}&func=crop`, attacker));
  await new Promise((resolve) => setTimeout(resolve, 300));
  const hit = await timed(`${cdn}&w=300`, other);
  const original = await timed(cdn, other);
  const fresh = await timed(`${cdn}&w=320`, other);
  const replies = await Promise.all(flood);
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);

  const statuses = {};
  for (const r of replies) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
  const slowest = Math.max(...replies.map((r) => r.ms));
  const row = (label, value) => console.log(`${label.padEnd(42)} ${value}`);
  row('mode', open ? 'open (no cap, no budget)' : 'limits (defaults)');
  row('flood', `${requests} × w=h≈${side} func=crop from one address`);
  row('flood statuses', JSON.stringify(statuses));
  row('flood slowest reply', `${(slowest / 1000).toFixed(1)} s`);
  row('other address: cached transform', `${hit.status} in ${hit.ms.toFixed(0)} ms`);
  row('other address: original', `${original.status} in ${original.ms.toFixed(0)} ms`);
  row('other address: new 320 px thumbnail', `${fresh.status} in ${fresh.ms.toFixed(0)} ms`);
  row('wall time until the flood was answered', `${(wall / 1000).toFixed(1)} s`);
  row('process CPU (user+system)', `${((cpu.user + cpu.system) / 1e6).toFixed(1)} s`);
} finally {
  await server.close();
  await rm(data, { recursive: true, force: true });
}
