/**
 * docs/cli.md, generated from the program's own `--help` texts (every command, examples included),
 * so the reference is exactly what `sfx <command> --help` prints. A test fails when it is stale.
 */
import type { Command } from 'commander';

export const CLI_DOC_PATH = 'docs/cli.md';

/** Help is rendered at the width a pipe gets (80), so the file matches `sfx X --help | cat`. */
const WIDTH = 80;

/** What `sfx ... --help` prints for one command, captured rather than written out. */
export function helpText(cmd: Command): string {
  let text = '';
  const saved = { ...cmd.configureOutput() };
  cmd.configureOutput({
    ...saved,
    writeOut: (chunk) => {
      text += chunk;
    },
    getOutHelpWidth: () => WIDTH,
    getOutHasColors: () => false,
  });
  try {
    cmd.outputHelp();
  } finally {
    cmd.configureOutput(saved);
  }
  return text;
}

function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

function allCommands(program: Command): Command[] {
  const out: Command[] = [];
  const walk = (cmd: Command): void => {
    out.push(cmd);
    for (const sub of cmd.commands) walk(sub);
  };
  walk(program);
  return out;
}

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to dashes. */
const anchor = (heading: string): string =>
  heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');

export function renderCliMarkdown(program: Command): string {
  const commands = allCommands(program);
  const lines = [
    '# sfx command reference',
    '',
    '<!-- Generated from the commands\' --help by `npm run docs:cli` (packages/cli/scripts/docs-cli.mjs); do not edit. -->',
    '',
    'Every command and what `sfx <command> --help` prints for it. Output is a table on a terminal,',
    'tab-separated lines without a header when piped, and JSON with `--json`. Exit codes: 0 success,',
    '1 the work failed (an API error, an unknown folder or asset), 2 bad input found before any request,',
    '130 interrupted. The search grammar `sfx find` takes is in [search.md](search.md).',
    '',
    '## Commands',
    '',
    ...commands.slice(1).map((cmd) => {
      const path = commandPath(cmd);
      const indent = '  '.repeat(path.split(' ').length - 2);
      return `${indent}- [\`${path}\`](#${anchor(path)}): ${cmd.description().split('\n')[0]}`;
    }),
  ];
  for (const cmd of commands) {
    lines.push('', `## ${commandPath(cmd)}`, '', '```text', helpText(cmd).trimEnd(), '```');
  }
  return `${lines.join('\n')}\n`;
}
