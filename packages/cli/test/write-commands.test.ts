/**
 * The everyday write commands (`sfx upload`, `download`, `mv`, `rename`, `rm`, `mkdir`, `meta`,
 * `tag`) run as a user runs them: the built binary, a config folder of its own, and a local server
 * started here (duplicate policy `skip`, its default). Outcomes are checked on the server and on
 * disk, not only in what the command printed.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Filerobot, type FileObject } from '@sfx/client';
import { startServer, type RunningServer } from '@sfx/server';

const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '../bin/sfx.js');
const ROOT_KEY = 'cli-write-test-root-key-5e81c0a7d2';

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

let server: RunningServer;
let origin: Server;
let originUrl: string;
let root: string;
let config: string;
let client: Filerobot;
let noMetaChangeKey: string;

function sfx(args: string[], options: { cwd?: string; env?: Record<string, string>; onStart?: (child: ChildProcess) => void } = {}): Promise<Run> {
  return new Promise((done, fail) => {
    const env: NodeJS.ProcessEnv = { ...process.env, SFX_CONFIG_DIR: config, SFX_TEST_KEY: ROOT_KEY, SFX_LIMITED_KEY: noMetaChangeKey, ...options.env };
    delete env.SFX_CONNECTION;
    const child = spawn(process.execPath, [BIN, ...args], { env, cwd: options.cwd ?? root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', fail);
    child.on('close', (code, signal) => done({ code, signal, stdout, stderr }));
    options.onStart?.(child);
  });
}

/** TSV output (stdout is a pipe here) as rows of cells. */
function rowsOf(stdout: string): string[][] {
  return stdout.split('\n').filter(Boolean).map((line) => line.split('\t'));
}

async function filesIn(folder: string): Promise<FileObject[]> {
  const page = await client.files.list({ folder, recursive: true, limit: 1000 });
  return page.files;
}

function pathOf(file: FileObject): string {
  return file.url?.path ?? file.name;
}

function labels(file: FileObject): string[] {
  return Object.values((file.tags ?? {}) as Record<string, Array<{ label: string }>>)
    .flat()
    .map((t) => t.label)
    .sort();
}

function sha1(data: Buffer | string): string {
  return createHash('sha1').update(data).digest('hex');
}

async function writeTree(base: string, files: Record<string, string | Buffer>): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(base, path)), { recursive: true });
    await writeFile(join(base, path), content);
  }
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'sfx-cli-write-'));
  server = await startServer({ port: 0, data: join(root, 'server'), rootKey: ROOT_KEY, durability: 'relaxed', logLevel: 'silent', allowPrivateUrlImports: true });
  client = new Filerobot({ endpoint: `${server.url}/${server.token}`, apiKey: ROOT_KEY });
  // Uploads with metadata at creation, but cannot change an asset's metadata afterwards.
  const limited = await client.access.keys.create({
    description: 'no FILE_META_CHANGE',
    permissions: ['FILE_UPLOAD', 'FILE_META_CREATE', 'OBJECTS_LIST', 'OBJECTS_FETCH'],
  });
  noMetaChangeKey = String((limited as { secret?: string }).secret);
  config = join(root, 'config');
  for (const [name, variable] of [['local', 'SFX_TEST_KEY'], ['limited', 'SFX_LIMITED_KEY']]) {
    const added = await sfx(['connection', 'add', name!, '--endpoint', `${server.url}/${server.token}`, '--api-key', `env:${variable}`]);
    expect(added.code, added.stderr).toBe(0);
  }
  // A small origin for URL imports: /files/<name> serves bytes derived from the name.
  origin = createServer((req, res) => {
    if (req.url?.startsWith('/files/')) res.writeHead(200, { 'content-type': 'text/plain' }).end(`remote ${req.url}`);
    else res.writeHead(404).end();
  });
  await new Promise<void>((ready) => origin.listen(0, '127.0.0.1', ready));
  originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await client?.close();
  await server?.close();
  await new Promise((closed) => origin?.close(closed));
  if (root) await rm(root, { recursive: true, force: true });
});

const CONN = ['--connection', 'local'];

describe('sfx upload', () => {
  it('uploads a folder keeping its layout, with --meta and --tag on every file, and creates the missing target (saying so)', async () => {
    await writeTree(join(root, 'photos'), { 'red/r1.txt': 'red one', 'red/r2.txt': 'red two', 'blue/b1.jpg': 'blue one', 'top.txt': 'top' });
    const run = await sfx(['upload', 'photos', '/shop', '--meta', 'season=2025', '--meta', 'sizes=["S","M"]', '--tag', 'summer', '--tag', 'sale', ...CONN]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('created folder /shop');
    const rows = rowsOf(run.stdout);
    expect(rows.map((r) => [r[0], r[1]])).toEqual([
      ['photos/blue/b1.jpg', 'uploaded'],
      ['photos/red/r1.txt', 'uploaded'],
      ['photos/red/r2.txt', 'uploaded'],
      ['photos/top.txt', 'uploaded'],
    ]);
    const files = await filesIn('/shop');
    expect(files.map(pathOf).sort()).toEqual(['/shop/photos/blue/b1.jpg', '/shop/photos/red/r1.txt', '/shop/photos/red/r2.txt', '/shop/photos/top.txt']);
    for (const file of files) {
      expect(file.meta).toMatchObject({ season: 2025, sizes: ['S', 'M'] });
      expect(labels(file)).toEqual(['sale', 'summer']);
      expect(rows.find((r) => r[2] === file.uuid), pathOf(file)).toBeDefined();
    }
  });

  it('re-uploading identical content with new metadata and tags applies them (updated), then reports duplicate', async () => {
    const before = await filesIn('/shop');
    const run = await sfx(['upload', 'photos', '/shop', '--meta', 'season=2026', '--tag', 'new', ...CONN]);
    expect(run.code, run.stderr).toBe(0);
    const rows = rowsOf(run.stdout);
    expect(rows.map((r) => r[1])).toEqual(['updated', 'updated', 'updated', 'updated']);
    expect(rows[0]![3]).toMatch(/season.*new/);
    const after = await filesIn('/shop');
    expect(after.map((f) => f.uuid).sort()).toEqual(before.map((f) => f.uuid).sort());
    for (const file of after) {
      expect(file.meta).toMatchObject({ season: 2026, sizes: ['S', 'M'] });
      expect(labels(file)).toEqual(['new', 'sale', 'summer']);
    }
    const again = await sfx(['upload', 'photos', '/shop', '--meta', 'season=2026', '--tag', 'new', '--json', ...CONN]);
    expect(again.code, again.stderr).toBe(0);
    const report = JSON.parse(again.stdout) as { summary: Record<string, number>; files: Array<{ result: string }> };
    expect(report.summary).toEqual({ uploaded: 0, updated: 0, duplicate: 4, failed: 0 });
    expect((await filesIn('/shop')).length).toBe(4);
  });

  it('says exactly why new metadata cannot be applied to a duplicate (the key lacks FILE_META_CHANGE), exit 1', async () => {
    const run = await sfx(['upload', 'photos/top.txt', '/shop/photos', '--meta', 'season=2030', '--connection', 'limited']);
    expect(run.code).toBe(1);
    const [row] = rowsOf(run.stdout);
    expect(row![1]).toBe('failed');
    expect(row![3]).toContain('FILE_META_CHANGE');
    const top = (await filesIn('/shop/photos')).find((f) => f.name === 'top.txt')!;
    expect(top.meta?.season).toBe(2026);
  });

  it('--meta-csv gives each file its own metadata and tags (matched by path), and warns about rows that match nothing', async () => {
    await writeTree(join(root, 'csv'), { 'a.txt': 'csv a', 'sub/b.txt': 'csv b', 'c.txt': 'csv c' });
    await writeFile(
      join(root, 'meta.csv'),
      ['path,color,rank,tags', 'csv/a.txt,red,1,hot|new', './csv/sub/b.txt,"blue, dark",2,', 'csv/missing.txt,green,3,x'].join('\n'),
    );
    const run = await sfx(['upload', 'csv', '/csv-target', '--meta-csv', 'meta.csv', '--tag', 'batch', ...CONN]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('csv/missing.txt matches no file');
    const byPath = new Map((await filesIn('/csv-target')).map((f) => [pathOf(f), f]));
    expect(byPath.get('/csv-target/csv/a.txt')?.meta).toMatchObject({ color: 'red', rank: 1 });
    expect(labels(byPath.get('/csv-target/csv/a.txt')!)).toEqual(['batch', 'hot', 'new']);
    expect(byPath.get('/csv-target/csv/sub/b.txt')?.meta).toMatchObject({ color: 'blue, dark', rank: 2 });
    expect(labels(byPath.get('/csv-target/csv/sub/b.txt')!)).toEqual(['batch']);
    expect(byPath.get('/csv-target/csv/c.txt')?.meta?.color).toBeUndefined();
  });

  it('expands a quoted glob itself, keeping the layout below the part without wildcards', async () => {
    await writeTree(join(root, 'shots'), { 'one.jpg': 'jpg 1', 'deep/two.jpg': 'jpg 2', 'deep/skip.png': 'png', 'notes.txt': 'txt' });
    const run = await sfx(['upload', 'shots/**/*.jpg', '/globbed', ...CONN]);
    expect(run.code, run.stderr).toBe(0);
    expect((await filesIn('/globbed')).map(pathOf).sort()).toEqual(['/globbed/deep/two.jpg', '/globbed/one.jpg']);
  });

  it('refuses a local path that does not exist before uploading anything (exit 2)', async () => {
    const run = await sfx(['upload', 'photos/top.txt', 'no-such-file.jpg', 'nothing-*.png', '/never', ...CONN]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('no-such-file.jpg');
    expect(run.stderr).toContain('nothing-*.png (matches no file)');
    expect(await client.folders.findByPath('/never')).toBeUndefined();
    expect(await filesIn('/never')).toEqual([]);
  });

  it('imports http(s) URLs, and applies new tags when they are imported again', async () => {
    const urls = [`${originUrl}/files/u1.txt`, `${originUrl}/files/u2.txt`];
    const first = await sfx(['upload', ...urls, `${originUrl}/nothing.txt`, '/imports', '--tag', 'web', ...CONN]);
    expect(first.code).toBe(1);
    expect(rowsOf(first.stdout).map((r) => r[1])).toEqual(['uploaded', 'uploaded', 'failed']);
    expect(rowsOf(first.stdout)[2]![3]).toContain('404');
    const again = await sfx(['upload', ...urls, '/imports', '--tag', 'again', ...CONN]);
    expect(again.code, again.stderr).toBe(0);
    expect(rowsOf(again.stdout).map((r) => r[1])).toEqual(['updated', 'updated']);
    const files = await filesIn('/imports');
    expect(files).toHaveLength(2);
    for (const f of files) expect(labels(f)).toEqual(['again', 'web']);
  });

  it('after kill -9 mid-upload, running the same command again ends with every file exactly once (count and sha1)', async () => {
    const tree: Record<string, Buffer> = {};
    for (let i = 0; i < 120; i++) tree[`batch/f${String(i).padStart(3, '0')}.bin`] = randomBytes(2048 + i);
    // Large enough to go as a resumable upload in two chunks.
    tree['batch/big.bin'] = randomBytes(6 * 1024 * 1024 + 5);
    await writeTree(join(root, 'crash'), tree);
    const args = ['upload', 'crash/batch', '/crash', '--concurrency', '2', '--resumable-above', '1', '--tag', 'crash', ...CONN];
    let polling = true;
    const killed = await sfx(args, {
      onStart: (child) => {
        const poll = async (): Promise<void> => {
          while (polling && child.exitCode === null) {
            const page = await client.files.list({ folder: '/crash', recursive: true, limit: 1 }).catch(() => undefined);
            if ((page?.info?.total_files_count ?? 0) >= 15) {
              child.kill('SIGKILL');
              return;
            }
            await new Promise((r) => setTimeout(r, 20));
          }
        };
        void poll();
      },
    });
    polling = false;
    expect(killed.signal).toBe('SIGKILL');
    // A request whose body had fully arrived may still be committing: let it land before counting.
    await new Promise((r) => setTimeout(r, 500));
    const landed = (await filesIn('/crash')).length;
    expect(landed).toBeGreaterThanOrEqual(15);
    expect(landed).toBeLessThan(121);

    const rerun = await sfx(args);
    expect(rerun.code, rerun.stderr).toBe(0);
    const results = rowsOf(rerun.stdout).map((r) => r[1]);
    // The resumable big.bin may have been completed on the server just before the kill (so counted
    // as landed) while the resume store still lists it: the re-run finishes that same upload and
    // reports it uploaded. The asset count and sha1s below are the exactness check.
    const uploaded = results.filter((r) => r === 'uploaded').length;
    expect(uploaded).toBeGreaterThanOrEqual(121 - landed);
    expect(uploaded).toBeLessThanOrEqual(121 - landed + 1);
    expect(results.filter((r) => r === 'failed')).toEqual([]);
    const files = await filesIn('/crash');
    expect(files).toHaveLength(121);
    const expected = new Map(Object.entries(tree).map(([path, data]) => [`/crash/${path}`, sha1(data)]));
    expect(new Map(files.map((f) => [pathOf(f), f.hash?.sha1]))).toEqual(expected);
    for (const f of files) expect(labels(f)).toEqual(['crash']);
  });

  it('a large file cut off by kill -9 is resumed where the server stopped, not sent again', async () => {
    const big = randomBytes(80 * 1024 * 1024);
    await writeFile(join(root, 'resume.bin'), big);
    const args = ['upload', 'resume.bin', '/resume', '--resumable-above', '1', ...CONN];
    const partial = join(server.data, 'resumable');
    const held = async (): Promise<number> => {
      let bytes = 0;
      for (const name of await readdir(partial).catch(() => [])) bytes += (await stat(join(partial, name)).catch(() => undefined))?.size ?? 0;
      return bytes;
    };
    // What earlier tests left there (a cut upload) does not count.
    const before = await held();
    const killed = await sfx(args, {
      onStart: (child) => {
        const poll = async (): Promise<void> => {
          while (child.exitCode === null) {
            if ((await held()) - before > 8 * 1024 * 1024) {
              child.kill('SIGKILL');
              return;
            }
            await new Promise((r) => setTimeout(r, 10));
          }
        };
        void poll();
      },
    });
    expect(killed.signal).toBe('SIGKILL');
    expect(await filesIn('/resume')).toEqual([]);
    const rerun = await sfx(args);
    expect(rerun.code, rerun.stderr).toBe(0);
    const [row] = rowsOf(rerun.stdout);
    expect(row![1]).toBe('uploaded');
    expect(row![3]).toMatch(/^resumed at \d/);
    const files = await filesIn('/resume');
    expect(files.map((f) => f.hash?.sha1)).toEqual([sha1(big)]);
  });
});

describe('sfx download', () => {
  it('downloads a folder with -R (sha1-checked), then skips what is already there with the same sha1', async () => {
    const run = await sfx(['download', '/shop', 'out', '-R', ...CONN]);
    expect(run.code, run.stderr).toBe(0);
    expect(rowsOf(run.stdout).map((r) => [r[0], r[1]])).toEqual([
      ['/shop/photos/blue/b1.jpg', 'downloaded'],
      ['/shop/photos/red/r1.txt', 'downloaded'],
      ['/shop/photos/red/r2.txt', 'downloaded'],
      ['/shop/photos/top.txt', 'downloaded'],
    ]);
    expect(await readFile(join(root, 'out/shop/photos/red/r2.txt'), 'utf8')).toBe('red two');
    await writeFile(join(root, 'out/shop/photos/top.txt'), 'changed locally');
    const again = await sfx(['download', '/shop', 'out', '-R', ...CONN]);
    expect(again.code, again.stderr).toBe(0);
    expect(rowsOf(again.stdout).map((r) => r[1])).toEqual(['skipped', 'skipped', 'skipped', 'downloaded']);
    expect(await readFile(join(root, 'out/shop/photos/top.txt'), 'utf8')).toBe('top');
  });

  it('downloads by uuid and by --query; a folder without -R and an unknown path are errors', async () => {
    const [b1] = (await filesIn('/shop')).filter((f) => f.name === 'b1.jpg');
    const byUuid = await sfx(['download', b1!.uuid, 'by-uuid', ...CONN]);
    expect(byUuid.code, byUuid.stderr).toBe(0);
    expect(await readFile(join(root, 'by-uuid/b1.jpg'), 'utf8')).toBe('blue one');
    const query = await sfx(['download', '/csv-target', '--query', '#hot', 'by-query', ...CONN]);
    expect(query.code, query.stderr).toBe(0);
    expect(rowsOf(query.stdout).map((r) => r[0])).toEqual(['/csv-target/csv/a.txt']);
    expect(await readFile(join(root, 'by-query/csv/a.txt'), 'utf8')).toBe('csv a');
    const folder = await sfx(['download', '/shop', 'nope', ...CONN]);
    expect(folder.code).toBe(2);
    expect(folder.stderr).toContain('add -R');
    const unknown = await sfx(['download', '/shop/photos/red/r3.txt', 'nope', ...CONN]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no asset \/shop\/photos\/red\/r3\.txt.*Did you mean .*r1\.txt/);
  });

  it('a download whose bytes do not match the sha1 fails and leaves no file behind', async () => {
    await writeTree(join(root, 'corrupt'), { 'victim.txt': 'victim content 0123456789' });
    expect((await sfx(['upload', 'corrupt/victim.txt', '/corrupt', ...CONN])).code).toBe(0);
    // Change the stored bytes behind the server's back: same length, other content.
    const blobs = join(server.data, 'blobs');
    let changed = 0;
    for (const shard of await readdir(blobs)) {
      for (const name of await readdir(join(blobs, shard))) {
        const path = join(blobs, shard, name);
        if ((await readFile(path, 'utf8')) === 'victim content 0123456789') {
          await writeFile(path, 'VICTIM CONTENT 0123456789');
          changed++;
        }
      }
    }
    expect(changed).toBe(1);
    const run = await sfx(['download', '/corrupt/victim.txt', 'corrupt-out', ...CONN]);
    expect(run.code).toBe(1);
    expect(rowsOf(run.stdout)[0]![1]).toBe('failed');
    expect(run.stdout).toContain('sha1');
    const left = await readdir(join(root, 'corrupt-out')).catch(() => []);
    expect(left).toEqual([]);
  });
});

describe('sfx mkdir, mv, rename, rm', () => {
  it('mkdir: a missing parent needs -p; an existing folder is an error without -p and fine with it', async () => {
    const missingParent = await sfx(['mkdir', '/m/a', ...CONN]);
    expect(missingParent.code).toBe(1);
    expect(missingParent.stderr).toContain('parent /m does not exist');
    expect(await client.folders.findByPath('/m')).toBeUndefined();
    const made = await sfx(['mkdir', '-p', '/m/a/b', ...CONN]);
    expect(made.code, made.stderr).toBe(0);
    expect(rowsOf(made.stdout)[0]!.slice(0, 2)).toEqual(['/m/a/b', 'created']);
    expect(await client.folders.findByPath('/m/a/b')).toBeDefined();
    const exists = await sfx(['mkdir', '/m/a', ...CONN]);
    expect(exists.code).toBe(1);
    expect(exists.stderr).toContain('/m/a already exists');
    const again = await sfx(['mkdir', '-p', '/m/a', '/m/c', ...CONN]);
    expect(again.code, again.stderr).toBe(0);
    expect(rowsOf(again.stdout).map((r) => r.slice(0, 2))).toEqual([
      ['/m/a', 'exists'],
      ['/m/c', 'created'],
    ]);
  });

  it('mv moves assets and folders into an existing folder; an unknown destination changes nothing', async () => {
    await writeTree(join(root, 'mv'), { 'one.txt': 'mv one', 'two.txt': 'mv two', 'dir/three.txt': 'mv three' });
    expect((await sfx(['upload', 'mv/one.txt', 'mv/two.txt', 'mv/dir', '/mvsrc', ...CONN])).code).toBe(0);
    const typo = await sfx(['mv', '/mvsrc/one.txt', '/m/aa', ...CONN]);
    expect(typo.code).toBe(1);
    expect(typo.stderr).toMatch(/no folder \/m\/aa.*Did you mean \/m\/a/);
    const run = await sfx(['mv', '/mvsrc/one.txt', '/mvsrc/two.txt', '/mvsrc/dir', '/m/c', ...CONN]);
    expect(run.code, run.stderr).toBe(0);
    expect(rowsOf(run.stdout).map((r) => r.slice(0, 2))).toEqual([
      ['/mvsrc/one.txt', '/m/c/one.txt'],
      ['/mvsrc/two.txt', '/m/c/two.txt'],
      ['/mvsrc/dir/', '/m/c/dir/'],
    ]);
    expect((await filesIn('/m/c')).map(pathOf).sort()).toEqual(['/m/c/dir/three.txt', '/m/c/one.txt', '/m/c/two.txt']);
    expect(await filesIn('/mvsrc')).toEqual([]);
  });

  it('rename renames assets and folders in place; a taken name or a name with / is an error', async () => {
    const run = await sfx(['rename', '/m/c/one.txt', 'uno.txt', ...CONN]);
    expect(run.code, run.stderr).toBe(0);
    const taken = await sfx(['rename', '/m/c/uno.txt', 'two.txt', ...CONN]);
    expect(taken.code).toBe(1);
    expect(taken.stderr).toContain('E801_ALREADY_EXIST');
    const slash = await sfx(['rename', '/m/c/uno.txt', 'x/y.txt', ...CONN]);
    expect(slash.code).toBe(2);
    const folder = await sfx(['rename', '/m/c/dir', 'renamed', ...CONN]);
    expect(folder.code, folder.stderr).toBe(0);
    expect((await filesIn('/m/c')).map(pathOf).sort()).toEqual(['/m/c/renamed/three.txt', '/m/c/two.txt', '/m/c/uno.txt']);
  });

  it('rm deletes one asset without asking, refuses many or a folder without a terminal unless --yes (exit 2), and needs -r for folders', async () => {
    const one = await sfx(['rm', '/m/c/uno.txt', ...CONN]);
    expect(one.code, one.stderr).toBe(0);
    expect(rowsOf(one.stdout)[0]![0]).toBe('/m/c/uno.txt');
    const many = await sfx(['rm', '/m/c/two.txt', '/m/c/renamed/three.txt', ...CONN]);
    expect(many.code).toBe(2);
    expect(many.stderr).toContain('--yes');
    const noR = await sfx(['rm', '/m/c/renamed', '--yes', ...CONN]);
    expect(noR.code).toBe(2);
    expect(noR.stderr).toContain('-r');
    const unknown = await sfx(['rm', '/m/c/two.txt', '/m/c/tow.txt', '--yes', ...CONN]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/Did you mean \/m\/c\/two\.txt/);
    expect((await filesIn('/m/c')).length).toBe(2);
    const all = await sfx(['rm', '-r', '/m/c/renamed', '/m/c/two.txt', '--yes', ...CONN]);
    expect(all.code, all.stderr).toBe(0);
    expect(rowsOf(all.stdout).map((r) => r[0])).toEqual(['/m/c/renamed/', '/m/c/two.txt']);
    expect(rowsOf(all.stdout)[0]![2]).toContain('1 file');
    expect(await filesIn('/m/c')).toEqual([]);
    expect(await client.folders.findByPath('/m/c/renamed')).toBeUndefined();
  });
});

/** util-linux `script` gives the command a terminal, so the confirmation question can be answered. */
const hasScript = spawnSync('script', ['--version']).status === 0;

describe.skipIf(!hasScript)('sfx rm on a terminal', () => {
  function onTerminal(command: string, answer: string): Promise<Run> {
    return new Promise((done, fail) => {
      const env: NodeJS.ProcessEnv = { ...process.env, SFX_CONFIG_DIR: config, SFX_TEST_KEY: ROOT_KEY };
      delete env.SFX_CONNECTION;
      const child = spawn('script', ['-qec', `${process.execPath} ${BIN} ${command}`, '/dev/null'], { env, cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.on('error', fail);
      child.on('close', (code, signal) => done({ code, signal, stdout, stderr: '' }));
      child.stdin.end(`${answer}\n`);
    });
  }

  it('asks before deleting a folder: "n" deletes nothing (exit 1), "y" deletes it', async () => {
    await writeTree(join(root, 'tty'), { 'a.txt': 'tty a', 'b.txt': 'tty b' });
    expect((await sfx(['upload', 'tty', '/tty-target', ...CONN])).code).toBe(0);
    const no = await onTerminal('rm -r /tty-target/tty --connection local', 'n');
    expect(no.stdout).toContain('Delete the folder /tty-target/tty with everything in it? [y/N]');
    expect(no.stdout).toContain('nothing was deleted');
    expect(no.code).toBe(1);
    expect(await filesIn('/tty-target')).toHaveLength(2);
    const yes = await onTerminal('rm -r /tty-target/tty --connection local', 'y');
    expect(yes.code, yes.stdout).toBe(0);
    expect(await filesIn('/tty-target')).toEqual([]);
  });
});

describe('sfx meta and sfx tag', () => {
  const asset = '/shop/photos/red/r1.txt';

  it('meta get / set (merged, JSON values) / unset, with did-you-mean on a missing key', async () => {
    const set = await sfx(['meta', 'set', asset, 'color=red', 'count=3', 'title={"en":"Red"}', ...CONN]);
    expect(set.code, set.stderr).toBe(0);
    const [file] = (await filesIn('/shop/photos/red')).filter((f) => f.name === 'r1.txt');
    expect(file!.meta).toMatchObject({ season: 2026, color: 'red', count: 3, title: { en: 'Red' } });
    const one = await sfx(['meta', 'get', asset, 'color', ...CONN]);
    expect(one.stdout).toBe('red\n');
    const all = await sfx(['meta', 'get', file!.uuid, '--json', ...CONN]);
    expect(JSON.parse(all.stdout)).toMatchObject({ color: 'red', count: 3 });
    const typo = await sfx(['meta', 'get', asset, 'colour', ...CONN]);
    expect(typo.code).toBe(1);
    expect(typo.stderr).toContain('Did you mean "color"');
    const unset = await sfx(['meta', 'unset', asset, 'color', 'count', ...CONN]);
    expect(unset.code, unset.stderr).toBe(0);
    const after = (await filesIn('/shop/photos/red')).find((f) => f.name === 'r1.txt')!;
    expect(after.meta).not.toHaveProperty('color');
    expect(after.meta).not.toHaveProperty('count');
    expect(after.meta).toMatchObject({ season: 2026 });
    const missing = await sfx(['meta', 'unset', asset, 'color', ...CONN]);
    expect(missing.code).toBe(1);
    const bad = await sfx(['meta', 'set', asset, 'novalue', ...CONN]);
    expect(bad.code).toBe(2);
  });

  it('tag add keeps existing tags; tag rm removes only the ones named, and a tag it lacks is an error', async () => {
    const add = await sfx(['tag', 'add', asset, 'hot', ...CONN]);
    expect(add.code, add.stderr).toBe(0);
    expect(rowsOf(add.stdout).map((r) => r[0]).sort()).toEqual(['hot', 'new', 'sale', 'summer']);
    const rmRun = await sfx(['tag', 'rm', asset, 'sale', 'summer', ...CONN]);
    expect(rmRun.code, rmRun.stderr).toBe(0);
    const file = (await filesIn('/shop/photos/red')).find((f) => f.name === 'r1.txt')!;
    expect(labels(file)).toEqual(['hot', 'new']);
    const absent = await sfx(['tag', 'rm', asset, 'hot', 'sumer', ...CONN]);
    expect(absent.code).toBe(1);
    expect(absent.stderr).toMatch(/no tag "sumer"/);
    expect(labels((await filesIn('/shop/photos/red')).find((f) => f.name === 'r1.txt')!)).toEqual(['hot', 'new']);
    const unknown = await sfx(['tag', 'add', '/shop/photos/red/r9.txt', 'x', ...CONN]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('Did you mean');
  });
});

describe('--help', () => {
  it('every write command has examples', async () => {
    const commands = [['upload'], ['download'], ['mv'], ['rename'], ['rm'], ['mkdir'], ['meta', 'get'], ['meta', 'set'], ['meta', 'unset'], ['tag', 'add'], ['tag', 'rm']];
    const helps = await Promise.all(commands.map((command) => sfx([...command, '--help'])));
    for (const [i, help] of helps.entries()) {
      expect(help.code).toBe(0);
      expect(help.stdout, commands[i]!.join(' ')).toContain('Examples:');
    }
  });
});
