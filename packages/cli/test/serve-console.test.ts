/**
 * `sfx serve` mounts the web console at /ui and prints how to log in: the built binary, spawned
 * as a user runs it, then SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';

const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '../bin/sfx.js');
let root: string;
let flows: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'sfx-serve-console-'));
  flows = join(root, 'flows');
  await mkdir(flows);
  await writeFile(join(flows, 'hello.yaml'), 'name: hello\nsteps:\n  - id: say\n    uses: log.info\n    with: { message: hi }\n');
});
afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

/** Starts sfx serve and resolves with its stderr once the console line is out. */
function serve(args: string[], extraEnv: Record<string, string> = {}): Promise<{ child: ChildProcess; line: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, SFX_CONFIG_DIR: join(root, 'config'), ...extraEnv };
  delete env.SFX_CONSOLE_TOKEN;
  delete env.SFX_CONSOLE_PASSWORD;
  Object.assign(env, extraEnv);
  const child = spawn(process.execPath, [BIN, 'serve', '--flows', flows, '--port', '0', '--journal', join(root, 'runs.db'), ...args], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return new Promise((done, fail) => {
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      const line = /sfx serve: console: .*\n/.exec(stderr)?.[0];
      if (line) done({ child, line: line.trim() });
    });
    child.on('close', (code) => fail(new Error(`sfx serve exited ${code}:\n${stderr}`)));
  });
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((done) => {
    child.removeAllListeners('close');
    child.once('close', () => done());
    child.kill('SIGTERM');
  });
}

it('prints a login URL with a fresh token; opening it gives a session and the Assets page', async () => {
  const { child, line } = await serve([]);
  try {
    const url = /(http:\/\/\S+\/ui\/login\?token=[\w-]{20,})/.exec(line)?.[1];
    expect(url, line).toBeTruthy();
    const login = await fetch(url!, { redirect: 'manual' });
    expect(login.status).toBe(303);
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const page = await fetch(new URL('/ui/assets', url).toString(), { headers: { cookie }, redirect: 'manual' });
    expect(page.status).toBe(200);
    // No connection is stored here: the page says what to do instead of failing.
    expect(await page.text()).toContain('No connection yet');
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
  } finally {
    await stop(child);
  }
});

it('a token given with SFX_CONSOLE_TOKEN is used and never printed; --no-console leaves /ui out', async () => {
  const given = 'given-console-token-5b1e07aa';
  const { child, line } = await serve([], { SFX_CONSOLE_TOKEN: given });
  try {
    expect(line).not.toContain(given);
    expect(line).toMatch(/\/ui\/login \(log in with the token given by SFX_CONSOLE_TOKEN\)/);
    const base = /(http:\/\/[^/\s]+)/.exec(line)![1]!;
    const login = await fetch(`${base}/ui/login?token=${given}`, { redirect: 'manual' });
    expect(login.status).toBe(303);
  } finally {
    await stop(child);
  }
  const env: NodeJS.ProcessEnv = { ...process.env, SFX_CONFIG_DIR: join(root, 'config') };
  const bare = spawn(process.execPath, [BIN, 'serve', '--flows', flows, '--port', '0', '--journal', join(root, 'runs.db'), '--no-console'], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  try {
    const base = await new Promise<string>((done) => {
      let stderr = '';
      bare.stderr!.on('data', (d: Buffer) => {
        stderr += d.toString();
        const m = /flows? on (http:\/\/\S+) /.exec(stderr);
        if (m) done(m[1]!);
      });
    });
    const ui = await fetch(`${base}/ui/login`);
    expect(ui.status).toBe(404);
  } finally {
    await stop(bare);
  }
});

it('sfx open checks the console answers and hands its Assets URL to the browser ($BROWSER)', async () => {
  const { child, line } = await serve([]);
  try {
    const base = /(http:\/\/[^/\s]+)/.exec(line)![1]!;
    const seen = join(root, 'browser-saw.txt');
    const browser = join(root, 'browser.sh');
    await writeFile(browser, `#!/bin/sh\nprintf '%s' "$1" > '${seen}'\n`, { mode: 0o755 });
    const open = await new Promise<{ code: number | null; stdout: string; stderr: string }>((done) => {
      const run = spawn(process.execPath, [BIN, 'open', '--console', base], {
        env: { ...process.env, SFX_CONFIG_DIR: join(root, 'config'), BROWSER: browser },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      run.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
      run.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      run.on('close', (code) => done({ code, stdout, stderr }));
    });
    expect(open.code, open.stderr).toBe(0);
    expect(open.stdout).toBe(`${base}/ui/assets\n`);
    expect(open.stderr).toContain('opened every asset in the console');
    // The browser runs detached: wait for what it wrote.
    let saw = '';
    for (let i = 0; i < 200 && !saw; i++) {
      saw = await readFile(seen, 'utf8').catch(() => '');
      if (!saw) await new Promise((r) => setTimeout(r, 50));
    }
    expect(saw).toBe(`${base}/ui/assets`);
    // Not logged in, the console sends the browser to its login page and back to that page after.
    const first = await fetch(saw, { redirect: 'manual' });
    expect(first.status).toBe(303);
    expect(first.headers.get('location')).toBe(`/ui/login?next=${encodeURIComponent('/ui/assets')}`);
  } finally {
    await stop(child);
  }
});


it('--trusted-proxy: that proxy\'s X-Forwarded-Proto https makes the session cookie Secure; a malformed range stops the start', async () => {
  const { child, line } = await serve(['--trusted-proxy', '127.0.0.1,::1']);
  try {
    const url = /(http:\/\/\S+\/ui\/login\?token=[\w-]{20,})/.exec(line)![1]!;
    const viaTls = await fetch(url, { redirect: 'manual', headers: { 'x-forwarded-proto': 'https' } });
    expect(viaTls.headers.get('set-cookie')).toMatch(/; Secure$/);
    const plain = await fetch(url, { redirect: 'manual' });
    expect(plain.headers.get('set-cookie')).not.toContain('Secure');
  } finally {
    await stop(child);
  }
  const bad = await new Promise<{ code: number | null; stderr: string }>((done) => {
    const run = spawn(process.execPath, [BIN, 'serve', '--flows', flows, '--port', '0', '--trusted-proxy', '10.0.0.0/40'], {
      env: { ...process.env, SFX_CONFIG_DIR: join(root, 'config') },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    run.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    run.on('close', (code) => done({ code, stderr }));
  });
  expect(bad.code).not.toBe(0);
  expect(bad.stderr).toContain('--trusted-proxy: trusted proxy "10.0.0.0/40" is not an IPv4 or IPv6 CIDR range');
});

it('--public-url takes an http or https URL only, and says which flag is wrong', async () => {
  const start = (publicUrl: string) =>
    new Promise<{ code: number | null; stderr: string }>((done) => {
      const run = spawn(process.execPath, [BIN, 'serve', '--flows', flows, '--port', '0', '--public-url', publicUrl], {
        env: { ...process.env, SFX_CONFIG_DIR: join(root, 'config') },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      run.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      run.on('close', (code) => done({ code, stderr }));
    });
  const bare = await start('hooks.example.com');
  expect(bare.code).toBe(2);
  expect(bare.stderr).toContain('--public-url must be a URL such as https://hooks.example.com.');
  const ftp = await start('ftp://hooks.example.com');
  expect(ftp.code).toBe(2);
  expect(ftp.stderr).toContain('--public-url must be an http or https URL.');
});
