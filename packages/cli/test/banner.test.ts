/**
 * The start-up banners of `sfx server` and `sfx demo`, run as a user runs them: the root key is
 * printed only when the server generated it, never when the user gave it.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '../bin/sfx.js');
const GIVEN = 'banner-test-given-root-key-5f0c3a9e';

/**
 * Starts `sfx` with `args`, waits until stdout shows `ready` (the banner is complete), runs `meanwhile`
 * against the running server, then stops it with SIGTERM and returns everything it printed.
 */
function banner(
  args: string[],
  env: Record<string, string>,
  ready: string,
  meanwhile: (stdout: string) => Promise<void> = async () => undefined,
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
    if (!('SFX_ROOT_KEY' in env)) delete childEnv.SFX_ROOT_KEY;
    const child = spawn(process.execPath, [BIN, ...args], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let stopping = false;
    let failure: unknown;
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (!stopping && stdout.includes(ready)) {
        stopping = true;
        meanwhile(stdout)
          .catch((error: unknown) => (failure = error))
          .finally(() => child.kill('SIGTERM'));
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', fail);
    child.on('close', () => {
      if (failure) fail(failure);
      else if (stopping) done({ stdout, stderr });
      else fail(new Error(`sfx ended before its banner:\n${stdout}\n${stderr}`));
    });
  });
}

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'sfx-cli-banner-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const serverArgs = (data: string, ...more: string[]) => ['server', '--port', '0', '--data', join(root, data), '--durability', 'relaxed', ...more];

describe('sfx server banner', () => {
  it('does not print a key given with --root-key', async () => {
    const { stdout, stderr } = await banner(serverArgs('given', '--root-key', GIVEN), {}, 'Try:');
    expect(stdout).toContain('Root API key: (given by --root-key)');
    expect(stdout + stderr).not.toContain(GIVEN);
  });

  it('does not print a key from SFX_ROOT_KEY, and its example uses the variable', async () => {
    const { stdout, stderr } = await banner(serverArgs('env'), { SFX_ROOT_KEY: GIVEN }, 'Try:');
    expect(stdout).toContain('Root API key: (from SFX_ROOT_KEY)');
    expect(stdout).toContain('X-Filerobot-Key: $SFX_ROOT_KEY');
    expect(stdout + stderr).not.toContain(GIVEN);
  });

  it('prints a generated key and the file that keeps it', async () => {
    const { stdout } = await banner(serverArgs('generated'), {}, 'Try:');
    const file = join(root, 'generated', 'root-key');
    const key = (await readFile(file, 'utf8')).trim();
    expect(key.length).toBeGreaterThan(20);
    expect(stdout).toContain(`Root API key: ${key} (generated; kept in ${file})`);
    // The next start reads it back and still shows it: it is the only way to learn it.
    const again = await banner(serverArgs('generated'), {}, 'Try:');
    expect(again.stdout).toContain(`Root API key: ${key} (kept in ${file})`);
  });
});

describe('sfx server CDN limit flags', () => {
  it('--max-transform-pixels and --transform-budget reach the server', async () => {
    const args = serverArgs('flags', '--root-key', GIVEN, '--max-transform-pixels', '1000000', '--transform-budget', '1');
    await banner(args, {}, 'Try:', async (stdout) => {
      const api = /API base URL: (\S+)/.exec(stdout)?.[1] as string;
      const form = new FormData();
      // A 1×1 PNG: the smallest valid image.
      const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');
      form.append('file', new Blob([png], { type: 'image/png' }), 'dot.png');
      const upload = await fetch(`${api}/files?folder=/flags`, { method: 'POST', headers: { 'X-Filerobot-Key': GIVEN }, body: form });
      const cdn = ((await upload.json()) as { file: { url: { cdn: string } } }).file.url.cdn;
      const over = await fetch(`${cdn}&w=1001&h=1000&func=crop`);
      expect(over.status).toBe(413);
      expect(((await over.json()) as { msg: string }).msg).toContain('at most 1000000 pixels');
      // 1 MP a minute: the first megapixel render fits, the next one does not.
      expect((await fetch(`${cdn}&w=1000&h=900&func=crop`)).status).toBe(200);
      expect((await fetch(`${cdn}&w=1000&h=901&func=crop`)).status).toBe(429);
    });
  });

  it('refuses a pixel cap below 1 before starting', async () => {
    const child = spawn(process.execPath, [BIN, ...serverArgs('bad', '--max-transform-pixels', '0')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((done) => child.on('close', done));
    expect(code).not.toBe(0);
    expect(stderr).toContain('--max-transform-pixels must be a whole number >= 1');
  });
});

describe('sfx demo banner', () => {
  it('keeps a key from SFX_ROOT_KEY out of its text and curl examples, and ends with the console URL', async () => {
    const { stdout, stderr } = await banner(['demo', '--port', '0', '--data', join(root, 'demo')], { SFX_ROOT_KEY: GIVEN }, 'Press Ctrl+C');
    expect(stdout).toContain('Root API key: (from SFX_ROOT_KEY)');
    expect(stdout).toContain('curl -s -H "X-Filerobot-Key: $SFX_ROOT_KEY"');
    expect(stdout + stderr).not.toContain(GIVEN);
    // Nor into any file of the demo's folder: its connection refers to the variable.
    const files = (await readdir(join(root, 'demo'), { recursive: true, withFileTypes: true })).filter((e) => e.isFile());
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) expect(await readFile(join(file.parentPath, file.name), 'latin1'), file.name).not.toContain(GIVEN);

    // The console's login URL ends the banner, on a line of its own after its heading: the first
    // thing a newcomer opens is what the terminal shows last, with no command after it.
    const lines = stdout.trimEnd().split('\n');
    const at = lines.findIndex((l) => l.includes('/ui/login?token='));
    expect(lines[at]!.trim()).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/ui\/login\?token=[\w-]+$/);
    expect(lines.slice(0, at).filter((l) => l.trim()).pop()).toMatch(/^Now open the web console in a browser/);
    expect(lines.slice(at + 1).join('\n')).not.toMatch(/curl|npx sfx/);
    expect(lines.at(-1)).toBe('Press Ctrl+C to stop the demo.');
  });
});
