/**
 * The read commands (`sfx find`, `info`, `stat`, `url`, `key sass`, `open`, `--version`) run as a
 * user runs them: the built binary, a config folder of its own with a stored connection, and a
 * local server started here and seeded through the client.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Filerobot, type FileObject } from '@sfx/client';
import { startServer, type RunningServer } from '@sfx/server';

const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '../bin/sfx.js');
const ROOT_KEY = 'cli-read-test-root-key-3e8a61f0c2';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Everything any command printed, to check that no secret ever shows. */
const transcript: string[] = [];
let server: RunningServer;
let root: string;
let config: string;
let client: Filerobot;
const seeded: Record<string, { file: FileObject; bytes: Buffer }> = {};

function sfx(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((done, fail) => {
    const childEnv: NodeJS.ProcessEnv = { ...process.env, SFX_CONFIG_DIR: config, SFX_TEST_KEY: ROOT_KEY, ...env };
    delete childEnv.SFX_CONNECTION;
    const child = spawn(process.execPath, [BIN, ...args], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', fail);
    child.on('close', (code) => {
      transcript.push(stdout, stderr);
      done({ code, stdout, stderr });
    });
  });
}

const png = (width: number, r: number): Promise<Buffer> =>
  sharp({ create: { width, height: 20, channels: 3, background: { r, g: 40, b: 90 } } }).png().toBuffer();

async function seed(path: string, bytes: Buffer, extra: { meta?: Record<string, string>; tags?: string[] } = {}): Promise<void> {
  const at = path.lastIndexOf('/');
  const { file } = await client.files.upload(bytes, { folder: path.slice(0, at) || '/', name: path.slice(at + 1), ...extra });
  seeded[path] = { file, bytes };
}

beforeAll(async () => {
  server = await startServer({ port: 0, data: ':memory:', rootKey: ROOT_KEY, logLevel: 'silent' });
  root = await mkdtemp(join(tmpdir(), 'sfx-cli-read-'));
  config = join(root, 'config');
  client = new Filerobot({ endpoint: `${server.url}/${server.token}`, apiKey: ROOT_KEY });
  await seed('/products/red-shoe.png', await png(64, 200), { meta: { color: 'red' }, tags: ['summer'] });
  await seed('/products/shoes/blue-shoe.png', await png(48, 10), { meta: { color: 'dark blue' }, tags: ['summer', 'sale'] });
  await seed('/products/notes.txt', Buffer.from('size chart for the shoes\n'), { meta: { color: 'green' } });
  await seed('/products/data.json', Buffer.from('{"sku":"AB-12"}'));
  await seed('/archive/old-hat.png', await png(30, 90), { tags: ['hats'] });
  const add = await sfx(['connection', 'add', 'local', '--endpoint', `${server.url}/${server.token}`, '--api-key', 'env:SFX_TEST_KEY']);
  expect(add.code, add.stderr).toBe(0);
});

afterAll(async () => {
  for (const output of transcript) expect(output).not.toContain(ROOT_KEY);
  await client?.close();
  await server?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

const lines = (text: string): string[] => text.split('\n').filter(Boolean);

describe('sfx find', () => {
  it('searches below a folder, recursively, and says how many match', async () => {
    const run = await sfx(['find', '/products', '--sort', 'name:asc']);
    expect(run.code, run.stderr).toBe(0);
    // Piped: one path a line, no header.
    expect(lines(run.stdout)).toEqual(['/products/shoes/blue-shoe.png', '/products/data.json', '/products/notes.txt', '/products/red-shoe.png']);
    expect(run.stderr).toBe('4 assets match.\n');
    const top = await sfx(['find', '/products', '--no-recursive', '--sort', 'name:asc']);
    expect(lines(top.stdout)).toEqual(['/products/data.json', '/products/notes.txt', '/products/red-shoe.png']);
  });

  it('takes the search grammar: whole and prefix words, tags, key:value with alternatives, negation', async () => {
    const q = async (...args: string[]): Promise<string[]> => {
      const run = await sfx(['find', ...args, '--sort', 'name:asc']);
      expect(run.code, run.stderr).toBe(0);
      return lines(run.stdout);
    };
    expect(await q('sho*')).toEqual(['/products/shoes/blue-shoe.png', '/products/red-shoe.png']);
    expect(await q('shoe')).toEqual(['/products/shoes/blue-shoe.png', '/products/red-shoe.png']);
    expect(await q('sho')).toEqual([]);
    expect(await q('/', '#summer')).toEqual(['/products/shoes/blue-shoe.png', '/products/red-shoe.png']);
    expect(await q('/products', 'color:red,green')).toEqual(['/products/notes.txt', '/products/red-shoe.png']);
    expect(await q('/products', '#summer -#sale')).toEqual(['/products/red-shoe.png']);
    expect(await q('/', 'name~^old')).toEqual(['/archive/old-hat.png']);
  });

  it('turns --tag, --meta, --type, --name and --since into the query, shown with --json', async () => {
    const run = await sfx(['find', '/products', '--tag', 'summer', '--meta', 'color=dark blue', '--type', 'image', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout) as { q: string; total: number; files: FileObject[]; folder: string };
    expect(out.q).toBe('"#summer" color:"dark blue" type:image');
    expect(out).toMatchObject({ folder: '/products', total: 1 });
    expect(out.files.map((f) => f.uuid)).toEqual([seeded['/products/shoes/blue-shoe.png']!.file.uuid]);

    const typed = await sfx(['find', '--type', 'text/plain', '--type', 'application/json', '--meta', 'color', '--json']);
    expect(JSON.parse(typed.stdout)).toMatchObject({ q: 'color:non-empty type:text_plain,application_json', total: 1 });
    const named = await sfx(['find', '/', '--name', '*-shoe.png', '--sort', 'name:asc']);
    expect(lines(named.stdout)).toEqual(['/products/shoes/blue-shoe.png', '/products/red-shoe.png']);
    expect((await sfx(['find', '--since', '1h'])).stderr).toBe('5 assets match.\n');
    const future = await sfx(['find', '--since', '2999-01-01', '--json']);
    expect(JSON.parse(future.stdout)).toMatchObject({ updated_after: '2999-01-01T00:00:00.000Z', total: 0, files: [] });
  });

  it('shows the total beyond --limit, and size, type, date and uuid with -l', async () => {
    const run = await sfx(['find', '/', '--limit', '2', '-l', '--sort', 'size:desc']);
    expect(run.code, run.stderr).toBe(0);
    const rows = lines(run.stdout).map((l) => l.split('\t'));
    expect(rows).toHaveLength(2);
    const red = seeded['/products/red-shoe.png']!;
    expect(rows[0]).toEqual(['/products/red-shoe.png', String(red.bytes.length), 'image/png', expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/), red.file.uuid]);
    expect(run.stderr).toBe('5 assets match; showing 2 (--limit N for more, --limit 0 for all).\n');
  });

  it('fails on an unknown folder with the closest names, on a bad query with where, and on a bad --since before any request', async () => {
    const unknown = await sfx(['find', '/prodcts', 'shoe']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no folder /prodcts in local. Did you mean /products?');
    expect(unknown.stdout).toBe('');
    const bad = await sfx(['find', '/', 'color:"red']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/the search "color:\\"red" is not valid: Unclosed quote at position 6 in q\. Close every quote/);
    const since = await sfx(['find', '--since', 'yesterday']);
    expect(since.code).toBe(2);
    expect(since.stderr).toContain('--since "yesterday" is not a time');
  });
});

describe('sfx info and sfx stat', () => {
  it('shows one asset as field/value lines, by path or uuid, and the file object with --json', async () => {
    const red = seeded['/products/red-shoe.png']!;
    const run = await sfx(['info', '/products/red-shoe.png']);
    expect(run.code, run.stderr).toBe(0);
    const fields = Object.fromEntries(lines(run.stdout).map((l) => l.split('\t') as [string, string]));
    expect(fields).toMatchObject({
      uuid: red.file.uuid,
      path: '/products/red-shoe.png',
      size: `${red.bytes.length} B (${red.bytes.length} bytes)`,
      type: 'image/png',
      sha1: createHash('sha1').update(red.bytes).digest('hex'),
      tags: 'summer',
      product: '-',
      'meta.color': 'red',
      visibility: 'DAM all_organisation, CDN public',
    });
    expect(fields.cdn).toBe(red.file.url!.cdn);
    expect(fields.permalink).toContain(red.file.uuid);
    const byUuid = await sfx(['info', red.file.uuid, '--json']);
    expect(JSON.parse(byUuid.stdout)).toMatchObject({ uuid: red.file.uuid, name: 'red-shoe.png', meta: { color: 'red' } });
    const missing = await sfx(['info', '/products/red-sho.png']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('Did you mean /products/red-shoe.png?');
  });

  it('counts assets and bytes below a folder, in all, in the folder itself, and by kind of type', async () => {
    const size = (path: string): number => seeded[path]!.bytes.length;
    const images = size('/products/red-shoe.png') + size('/products/shoes/blue-shoe.png');
    const run = await sfx(['stat', '/products', '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({
      folder: '/products',
      assets: 4,
      bytes: images + size('/products/notes.txt') + size('/products/data.json'),
      direct: { assets: 3, bytes: size('/products/red-shoe.png') + size('/products/notes.txt') + size('/products/data.json') },
      by_type: [
        { type: 'image', assets: 2, bytes: images },
        { type: 'text', assets: 1, bytes: size('/products/notes.txt') },
        { type: 'application', assets: 1, bytes: size('/products/data.json') },
      ],
    });
    const piped = await sfx(['stat']);
    expect(lines(piped.stdout)).toContain('assets\t5');
    expect(lines(piped.stdout)).toContain(`type:image\t3\t${images + size('/archive/old-hat.png')}`);
    expect((await sfx(['stat', '/nope'])).code).toBe(1);
  });
});

describe('sfx url, sfx open', () => {
  it('prints CDN URLs with transforms, one a line in the order given, that the CDN serves', async () => {
    const run = await sfx(['url', '/products/red-shoe.png', seeded['/archive/old-hat.png']!.file.uuid, '--w', '16', '--format', 'webp', '--q', '70']);
    expect(run.code, run.stderr).toBe(0);
    const urls = lines(run.stdout);
    expect(urls).toHaveLength(2);
    expect(urls[0]).toMatch(/\/cdn\/products\/red-shoe\.png\?vh=[0-9a-f]+&w=16&force_format=webp&q=70$/);
    expect(urls[1]).toContain('/cdn/archive/old-hat.png?');
    const reply = await fetch(urls[0]!);
    expect(reply.headers.get('content-type')).toBe('image/webp');
    expect((await sharp(Buffer.from(await reply.arrayBuffer())).metadata()).width).toBe(16);
    const bad = await sfx(['url', '/products/red-shoe.png', '--gravity', 'face']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--gravity applies with --func crop');
    expect((await sfx(['url', '/products/red-shoe.png', '--w', '0'])).code).not.toBe(0);
  });

  it('sfx open points the console at a folder or an asset, refuses unknown paths and a console that does not answer', async () => {
    const shoe = seeded['/products/red-shoe.png']!.file;
    const asset = await sfx(['open', '/products/red-shoe.png', '--print', '--console', 'http://127.0.0.1:7999/ui/']);
    expect(asset.code, asset.stderr).toBe(0);
    expect(asset.stdout).toBe(`http://127.0.0.1:7999/ui/assets?folder=%2Fproducts&sel=${shoe.uuid}\n`);
    const byUuid = await sfx(['open', shoe.uuid, '--print'], { SFX_CONSOLE_URL: 'http://console.test:7020' });
    expect(byUuid.stdout).toBe(`http://console.test:7020/ui/assets?folder=%2Fproducts&sel=${shoe.uuid}\n`);
    const folder = await sfx(['open', '/archive', '--print', '--console', 'http://127.0.0.1:7999']);
    expect(folder.stdout).toBe('http://127.0.0.1:7999/ui/assets?folder=%2Farchive\n');
    const notUrl = await sfx(['open', '/archive', '--print', '--console', '127.0.0.1:7999/ui']);
    expect(notUrl.code).toBe(2);
    expect(notUrl.stderr).toContain("--console must be the console's URL, such as http://127.0.0.1:7020.");
    const ftp = await sfx(['open', '/archive', '--print', '--console', 'ftp://127.0.0.1:7999']);
    expect(ftp.code).toBe(2);
    expect(ftp.stderr).toContain('--console must be an http or https URL.');
    const unknown = await sfx(['open', '/nope/missing.png', '--print']);
    expect(unknown.code).toBe(1);
    expect(unknown.stdout).toBe('');
    // Nothing listens on a port just closed: an error saying how to start a console, no browser.
    const closed = await new Promise<number>((done) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as AddressInfo;
        probe.close(() => done(port));
      });
    });
    const none = await sfx(['open', '/products', '--console', `http://127.0.0.1:${closed}`], { BROWSER: '/bin/false' });
    expect(none.code).toBe(1);
    expect(none.stderr).toContain(`no console answers at http://127.0.0.1:${closed}`);
    expect(none.stderr).toContain('sfx serve');
    expect(none.stdout).toBe('');
  });
});

describe('sfx key sass', () => {
  it('prints only the SASS key on stdout, its expiry on stderr, and never the template id', async () => {
    const template = await client.access.templates.create({ name: 'widget', permissions: ['OBJECTS_LIST'], validity_seconds: 600 });
    const run = await sfx(['key', 'sass', 'env:SFX_TEMPLATE'], { SFX_TEMPLATE: template.id });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^SASS__\S+\n$/);
    expect(run.stderr).toMatch(/^expires at \d{4}-\d\d-\d\dT[\d:.]+Z \(in 10 min\)\n$/);
    // The key works: it lists files with the template's permission.
    const key = run.stdout.trim();
    const asKey = new Filerobot({ endpoint: `${server.url}/${server.token}`, apiKey: key });
    expect((await asKey.files.list({ folder: '/products', limit: 1 })).files).toHaveLength(1);
    await asKey.close();
    const json = await sfx(['key', 'sass', 'env:SFX_TEMPLATE', '--json'], { SFX_TEMPLATE: template.id });
    expect(JSON.parse(json.stdout)).toMatchObject({ key: expect.stringMatching(/^SASS__/), expires_at: expect.any(String) });
    expect(json.stderr).toBe('');
    const unknown = await sfx(['key', 'sass', 'env:SFX_TEMPLATE'], { SFX_TEMPLATE: 'SECU_NOSUCHTEMPLATE1' });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no active security template has that id');
    expect(unknown.stderr).not.toContain('SECU_NOSUCHTEMPLATE1');
    const unset = await sfx(['key', 'sass', 'env:SFX_NOT_SET']);
    expect(unset.code).toBe(2);
    for (const output of transcript) expect(output).not.toContain(template.id);
  });
});

describe('sfx --version', () => {
  it('prints the package version', async () => {
    const pkg = JSON.parse(await readFile(resolve(dirname(BIN), '../package.json'), 'utf8')) as { version: string };
    const run = await sfx(['--version']);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`${pkg.version}\n`);
  });
});
