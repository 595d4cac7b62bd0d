/** docs/cli.md is generated from the commands' --help (npm run docs:cli) and must match them. */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CLI_DOC_PATH, renderCliMarkdown } from '../src/cli-docs.js';
import { buildProgram } from '../src/program.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '../bin/sfx.js');

function help(args: string[]): Promise<string> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [BIN, ...args, '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.on('error', fail);
    child.on('close', () => done(stdout));
  });
}

function section(text: string, path: string): string {
  const start = text.indexOf(`\n## ${path}\n`);
  expect(start, path).toBeGreaterThanOrEqual(0);
  const body = text.slice(start).split('```text\n')[1]!;
  return body.slice(0, body.indexOf('\n```'));
}

describe('docs/cli.md', () => {
  const text = renderCliMarkdown(buildProgram());

  it('is up to date with the commands', async () => {
    const checkedIn = await readFile(join(ROOT, CLI_DOC_PATH), 'utf8').catch(() => '');
    if (checkedIn !== text) throw new Error(`${CLI_DOC_PATH} is out of date: run npm run docs:cli`);
  });

  it('holds exactly what sfx <command> --help prints, examples included', async () => {
    for (const path of [['find'], ['connection', 'add'], ['key', 'sass']]) {
      const printed = await help(path);
      expect(printed).toContain('Examples:');
      expect(section(text, ['sfx', ...path].join(' '))).toBe(printed.trimEnd());
    }
  });

  it('walks the whole program: every command has a section and a link, and a new command appears', () => {
    const program = buildProgram();
    const paths: string[] = [];
    const walk = (cmd: typeof program, prefix: string): void => {
      for (const sub of cmd.commands) {
        paths.push(`${prefix} ${sub.name()}`);
        walk(sub, `${prefix} ${sub.name()}`);
      }
    };
    walk(program, 'sfx');
    for (const path of paths) {
      expect(text).toContain(`\n## ${path}\n`);
      expect(text).toContain(`[\`${path}\`](#${path.replace(/ /g, '-')})`);
    }
    program.command('zebra').description('a command added later').addHelpText('after', '\nExamples:\n  sfx zebra');
    const extended = renderCliMarkdown(program);
    expect(extended).toContain('- [`sfx zebra`](#sfx-zebra): a command added later');
    expect(section(extended, 'sfx zebra')).toContain('Examples:\n  sfx zebra');
  });
});
