import { startServer, type RunningServer } from '@sfx/server';
import sharp from 'sharp';
import { keyForExamples, rootKeyLine } from './banner.js';

const SAMPLES: Array<{ folder: string; name: string; colour: string; meta: Record<string, unknown>; tags: string[] }> = [
  { folder: '/catalogue/shoes', name: 'runner-red.png', colour: '#d62828', meta: { title: { en: 'Runner, red' }, sku: 'RUN-001' }, tags: ['shoes', 'red'] },
  { folder: '/catalogue/shoes', name: 'runner-blue.png', colour: '#1d3557', meta: { title: { en: 'Runner, blue' }, sku: 'RUN-002' }, tags: ['shoes', 'blue'] },
  { folder: '/catalogue/bags', name: 'tote-sand.png', colour: '#e9c46a', meta: { title: { en: 'Tote, sand' }, sku: 'TOT-010' }, tags: ['bags'] },
  { folder: '/marketing', name: 'banner.png', colour: '#2a9d8f', meta: { title: { en: 'Spring banner' }, campaign: 'spring' }, tags: ['banner'] },
];

/** Starts the server on a demo project and seeds sample images through its own upload API. */
export async function runDemo(options: { port: number; data: string }): Promise<RunningServer> {
  const server = await startServer({ port: options.port, data: options.data, token: 'demo', durability: 'relaxed', logLevel: 'warn' });
  const api = `${server.url}/${server.token}/v5`;
  const headers = { 'X-Filerobot-Key': server.rootKey };
  const existing = (await (await fetch(`${api}/files?recursive=1&limit=1`, { headers })).json()) as { info?: { total_files_count?: number } };
  if (!existing.info?.total_files_count) {
    for (const sample of SAMPLES) {
      const png = await sharp({ create: { width: 800, height: 600, channels: 3, background: sample.colour } }).png().toBuffer();
      const form = new FormData();
      form.append('meta[file]', JSON.stringify(sample.meta));
      form.append('tags[file]', JSON.stringify(sample.tags));
      form.append('file', new Blob([png], { type: 'image/png' }), sample.name);
      const reply = await fetch(`${api}/files?folder=${encodeURIComponent(sample.folder)}`, { method: 'POST', headers, body: form });
      if (!reply.ok) throw new Error(`Seeding ${sample.name} failed: HTTP ${reply.status} ${await reply.text()}`);
    }
  }
  const list = (await (await fetch(`${api}/files?recursive=1&limit=10`, { headers })).json()) as {
    files: Array<{ name: string; url: { path: string; cdn: string } }>;
  };
  const out = [
    `sfx demo server on ${server.url} (project "${server.token}")`,
    `API base URL: ${api}`,
    rootKeyLine(server),
    '',
    'Assets:',
    ...list.files.map((f) => `  ${f.url.path.padEnd(34)} ${f.url.cdn}`),
    '',
    'Try:',
    `  curl -s -H "X-Filerobot-Key: ${keyForExamples(server)}" "${api}/files?recursive=1&q=%23shoes"`,
    `  curl -s -o thumb.webp "${list.files[0]?.url.cdn ?? ''}&w=200&force_format=webp"`,
    '',
    'Press Ctrl+C to stop.',
  ];
  process.stdout.write(out.join('\n') + '\n');
  return server;
}
