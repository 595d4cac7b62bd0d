/**
 * `sfx completion`: the scripts come from the program itself. The bash one is sourced in a real bash
 * and asked what completes, as the shell would ask it on <Tab>.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bashScript, commandTree } from '../src/completion.js';
import { buildProgram } from '../src/program.js';

const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '../bin/sfx.js');
const run = promisify(execFile);

function sfx(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

let dir: string;
let script: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sfx-completion-'));
  const printed = await sfx(['completion', 'bash']);
  expect(printed.code, printed.stderr).toBe(0);
  script = join(dir, 'sfx.bash');
  await writeFile(script, printed.stdout);
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** What bash offers for the words typed so far (the last one is the word being completed). */
async function complete(script: string, ...words: string[]): Promise<string[]> {
  const quoted = words.map((w) => `'${w.replace(/'/g, `'\\''`)}'`).join(' ');
  const { stdout } = await run('bash', [
    '-c',
    `source "$1"; COMP_WORDS=(${quoted}); COMP_CWORD=$((\${#COMP_WORDS[@]} - 1)); COMPREPLY=(); _sfx; printf '%s\\n' "\${COMPREPLY[@]}"`,
    'bash',
    script,
  ], { cwd: dir });
  return stdout.split('\n').filter(Boolean);
}

describe('sfx completion bash', () => {
  it('completes commands, subcommands, options and option choices', async () => {
    expect(await complete(script, 'sfx', 'fl')).toEqual(['flow']);
    expect(await complete(script, 'sfx', 'connection', 'a')).toEqual(['add']);
    expect(await complete(script, 'sfx', 'flow', 'r')).toEqual(['run', 'resume']);
    expect(await complete(script, 'sfx', 'find', '--t')).toEqual(['--tag', '--type']);
    expect(await complete(script, 'sfx', 'url', '/a.jpg', '--func', 'c')).toEqual(['crop', 'cover']);
    // An option's value is skipped when finding the command: --connection x is not a command.
    expect((await complete(script, 'sfx', 'find', '--connection', 'flow', '--l')).sort()).toEqual(['--limit', '--long']);
    expect(await complete(script, 'sfx', 'key', '')).toEqual(['sass', 'help']);
    const top = await complete(script, 'sfx', '');
    for (const name of ['server', 'connection', 'flow', 'find', 'info', 'stat', 'url', 'key', 'open', 'completion']) expect(top).toContain(name);
  });

  it('follows the program: a command added to it is completed too', async () => {
    const program = buildProgram();
    program.command('zebra-sync').description('a command added later').option('--stripes <n>', 'how many');
    const extended = join(dir, 'extended.bash');
    await writeFile(extended, bashScript(program));
    expect(await complete(extended, 'sfx', 'zeb')).toEqual(['zebra-sync']);
    expect(await complete(extended, 'sfx', 'zebra-sync', '--str')).toEqual(['--stripes']);
  });
});

describe('sfx completion zsh and fish', () => {
  it('name every command and option of the program, with descriptions', async () => {
    const zsh = await sfx(['completion', 'zsh']);
    const fish = await sfx(['completion', 'fish']);
    expect(zsh.code).toBe(0);
    expect(fish.code).toBe(0);
    expect(zsh.stdout.startsWith('#compdef sfx\n')).toBe(true);
    for (const node of commandTree(buildProgram())) {
      for (const c of node.commands) {
        expect(zsh.stdout).toContain(`'${c.name}:`);
        expect(fish.stdout).toContain(`-n '__sfx_is "${node.path}"' -a '${c.name}'`);
      }
    }
    expect(zsh.stdout).toContain(`'url|--func') choices=('crop' 'cover' 'fit' 'bound')`);
    expect(fish.stdout).toContain(`-n '__sfx_is "find"' -l 'tag' -r -F -d 'tagged so`);
    const unknown = await sfx(['completion', 'tcsh']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('the shell must be bash, zsh or fish');
  });

  it('reads commander options with short and long names, values and choices', () => {
    const program = new Command('x');
    program.command('a').option('-q, --quiet', 'less').requiredOption('--mode <m>', 'mode');
    const [, a] = commandTree(program);
    expect(a!.options.find((o) => o.flags.includes('--quiet'))).toMatchObject({ flags: ['-q', '--quiet'], takesValue: false });
    expect(a!.options.find((o) => o.flags.includes('--mode'))).toMatchObject({ takesValue: true });
  });
});
