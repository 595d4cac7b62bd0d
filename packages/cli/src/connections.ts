import { Command, InvalidArgumentError, Option } from 'commander';
import {
  describeConnection,
  InvalidConnectionError,
  PERMISSIONS,
  testConnection,
  type Connection,
  type ConnectionTestResult,
  type Permission,
  type Problem,
} from '@sfx/connector';
import {
  ConnectionStore,
  secretOf,
  secretSource,
  type NewConnection,
  type SecretInput,
} from './connections-store.js';
import { CliError } from './errors.js';
import { keyValues, table } from './table.js';
import { print } from './output.js';

/** The command-line flag for each connection field, so errors name what the user typed. */
const FLAG: Record<string, string> = {
  name: 'NAME',
  endpointUrl: '--endpoint',
  token: '--token',
  authentication: '--auth',
  apiKey: '--api-key',
  securityTemplate: '--template',
  apiVersion: '--api-version',
  connector: 'connector',
};

const ENV_FLAG = /^env:([A-Za-z_][A-Za-z0-9_]*)$/;

function problemsAsFlags(problems: readonly Problem[]): string {
  return problems
    .map((p) => {
      const field = p.path.split('.')[0] ?? '';
      const flag = FLAG[field];
      return `  - ${flag ? `${flag}${flag === field ? '' : ` (${field})`}: ` : p.path ? `${p.path}: ` : ''}${p.message}`;
    })
    .join('\n');
}

function openStore(): ConnectionStore {
  return new ConnectionStore();
}

/** Reads a secret from stdin: a hidden prompt on a terminal, otherwise everything piped in (one line). */
export async function readSecretFromStdin(what: string, flag: string): Promise<string> {
  const stdin = process.stdin;
  if (stdin.isTTY) return promptHidden(`${what}: `);
  const chunks: Buffer[] = [];
  for await (const chunk of stdin)
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '')
    throw new InvalidArgumentError(
      `${flag} read nothing from stdin: pipe the ${what} in, e.g. printf %s "$KEY" | sfx connection add ... ${flag}`,
    );
  if (/[\r\n]/.test(text))
    throw new InvalidArgumentError(
      `${flag} read several lines from stdin: give the ${what} alone, on one line.`,
    );
  return text;
}

function promptHidden(prompt: string): Promise<string> {
  const stdin = process.stdin;
  return new Promise((resolve, reject) => {
    process.stderr.write(prompt);
    let value = '';
    const done = (error?: Error): void => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      if (error) reject(error);
      else resolve(value.trim());
    };
    const onData = (data: Buffer): void => {
      for (const char of data.toString('utf8')) {
        if (char === '\r' || char === '\n')
          return done(value.trim() ? undefined : new InvalidArgumentError('nothing was typed.'));
        if (char === '\u0003' || char === '\u0004') return done(new Error('cancelled.'));
        if (char === '\u007f' || char === '\b') value = value.slice(0, -1);
        else value += char;
      }
    };
    stdin.setRawMode(true);
    stdin.resume();
    stdin.on('data', onData);
  });
}

interface AddFlags {
  endpoint: string;
  token?: string;
  auth?: 'apikey' | 'sass';
  apiKey?: string;
  apiKeyStdin?: boolean;
  template?: string;
  templateStdin?: boolean;
  apiVersion?: 'v4' | 'v5';
  force?: boolean;
  /** False with --no-verify. */
  verify?: boolean;
}

/** An `env:NAME` flag value; anything else is refused without repeating it (it may be a secret). */
function envRef(flag: string, stdinFlag: string, what: string, value: string): SecretInput {
  const ref = ENV_FLAG.exec(value);
  if (ref) return { env: ref[1]! };
  throw new InvalidArgumentError(
    `${flag} takes env:NAME, the environment variable to read the ${what} from when the connection is used (e.g. ${flag} env:FILEROBOT_KEY). ` +
      `A secret typed on the command line would stay in your shell history, so it is refused; to store the ${what} itself, pipe it in: ` +
      `printf %s "$KEY" | sfx connection add NAME --endpoint URL ${stdinFlag}`,
  );
}

async function addConnection(name: string, flags: AddFlags): Promise<void> {
  if (flags.apiKey !== undefined && flags.apiKeyStdin)
    throw new InvalidArgumentError('give --api-key env:NAME or --api-key-stdin, not both.');
  if (flags.template !== undefined && flags.templateStdin)
    throw new InvalidArgumentError('give --template env:NAME or --template-stdin, not both.');
  if (flags.apiKeyStdin && flags.templateStdin)
    throw new InvalidArgumentError(
      'only one secret can be read from stdin: the API key (--auth apikey) or the security template (--auth sass).',
    );
  const wantsTemplate = flags.template !== undefined || flags.templateStdin === true;
  const authentication = flags.auth ?? (wantsTemplate ? 'sass' : 'apikey');
  const input: NewConnection = {
    name,
    endpointUrl: flags.endpoint,
    authentication,
    ...(flags.token !== undefined ? { token: flags.token } : {}),
    ...(flags.apiVersion !== undefined ? { apiVersion: flags.apiVersion } : {}),
  };
  if (flags.apiKey !== undefined)
    input.apiKey = envRef('--api-key', '--api-key-stdin', 'API key', flags.apiKey);
  if (flags.template !== undefined)
    input.securityTemplate = envRef('--template', '--template-stdin', 'security template id', flags.template);
  if (flags.apiKeyStdin) input.apiKey = { value: await readSecretFromStdin('API key', '--api-key-stdin') };
  if (flags.templateStdin)
    input.securityTemplate = { value: await readSecretFromStdin('security template id', '--template-stdin') };
  const store = openStore();
  let conn: Connection;
  let verified: ConnectionTestResult | undefined;
  try {
    if (flags.verify !== false) verified = await verifyBeforeSaving(store, input, flags.force === true);
    conn = await store.add(input, { replace: flags.force === true });
  } catch (error) {
    if (error instanceof InvalidConnectionError)
      throw new Error(`cannot save connection "${name}":\n${problemsAsFlags(error.problems)}`);
    throw error;
  }
  const { field, ref } = secretOf(conn);
  const lines = [`Saved connection "${conn.name}" in ${store.connectionsFile}.`];
  const env = ref ? ENV_FLAG.exec(ref) : null;
  if (env && process.env[env[1]!] === undefined)
    lines.push(`Note: ${env[1]} is not set in this shell; set it wherever the connection is used.`);
  else if (ref && !env)
    lines.push(
      `The ${field === 'apiKey' ? 'API key' : 'security template id'} is stored in ${store.secretsFile} (mode 0600).`,
    );
  if (verified) lines.push(...testReport(conn, verified));
  else lines.push(`Not checked (--no-verify). Check it with: sfx connection test ${conn.name}`);
  print(lines.join('\n'));
}

/**
 * Tries the connection before it is stored, so a mistyped key or URL is found now, not in the
 * middle of a flow. Returns the passing result; throws the reason when it fails. A name already
 * taken (without --force) or a bad field is left to `store.add`, which words those errors.
 */
async function verifyBeforeSaving(
  store: ConnectionStore,
  input: NewConnection,
  replace: boolean,
): Promise<ConnectionTestResult | undefined> {
  if (!replace && (await store.list()).some((c) => c.name === input.name)) return undefined;
  let candidate: ReturnType<ConnectionStore['candidate']>;
  try {
    candidate = store.candidate(input);
  } catch {
    return undefined;
  }
  const result = await testConnection(candidate.conn, { secrets: candidate.secrets });
  if (!result.ok)
    throw new CliError(
      `connection "${input.name}" was not saved: it failed the test (${result.code ?? 'unknown'}): ${result.reason ?? 'no reason given.'}\n` +
        'Fix it and add it again, or save it unchecked with --no-verify.',
    );
  return result;
}

/** Everyday work and the permission each needs, to say what a key can and cannot do. */
const EVERYDAY: ReadonlyArray<readonly [string, Permission]> = [
  ['list and search assets', 'OBJECTS_LIST'],
  ['read asset details', 'OBJECTS_FETCH'],
  ['upload', 'FILE_UPLOAD'],
  ['change metadata', 'FILE_META_CHANGE'],
  ['rename', 'FILE_RENAME'],
  ['move', 'FILE_MOVE'],
  ['delete', 'FILE_DELETE'],
  ['create folders', 'DIR_CREATE'],
];

/** The passing test in words: where it reached, and what the key can and cannot do. */
function testReport(conn: Connection, result: ConnectionTestResult): string[] {
  const lines = [
    `ok: connection "${conn.name}" works: project "${result.project?.token}" at ${result.project?.apiBase} (API ${result.project?.apiVersion}).`,
  ];
  const granted = result.grantedPermissions;
  if (granted) {
    const who = conn.authentication === 'sass' ? 'SASS key' : 'key';
    const can = EVERYDAY.filter(([, p]) => granted.includes(p)).map(([what, p]) => `${what} (${p})`);
    const cannot = EVERYDAY.filter(([, p]) => !granted.includes(p)).map(([what, p]) => `${what} (${p})`);
    const others = (result.missingPermissions ?? []).filter((p) => !EVERYDAY.some(([, e]) => e === p)).length;
    if (cannot.length === 0 && others === 0) lines.push(`  The ${who} has all ${PERMISSIONS.length} permissions.`);
    else
      lines.push(
        `  The ${who} has ${granted.length} of ${PERMISSIONS.length} permissions.`,
        `  can:    ${can.length ? can.join(', ') : 'none of the everyday work'}`,
      );
    if (cannot.length || others)
      lines.push(
        `  cannot: ${[...cannot, ...(others ? [`${others} other permission${others === 1 ? '' : 's'} (--json lists them)`] : [])].join(', ')}`,
      );
  }
  if (result.limitations) lines.push(`  ${result.limitations}`);
  return lines;
}

/** A stored connection as it may be shown: no secret, only where it comes from. */
function shown(conn: Connection): Record<string, string> {
  const described = describeConnection(conn);
  const { field, ref } = secretOf(conn);
  return { ...described, [field]: secretSource(ref) };
}

async function listConnections(flags: { json?: boolean }): Promise<void> {
  const store = openStore();
  const all = await store.list();
  if (flags.json) return print(JSON.stringify(all.map(shown), null, 2));
  if (all.length === 0)
    return print(
      `No connections in ${store.connectionsFile}. Add one: sfx connection add NAME --endpoint URL --api-key env:FILEROBOT_KEY`,
    );
  print(
    table(
      ['NAME', 'ENDPOINT', 'TOKEN', 'AUTH', 'SECRET FROM', 'API VERSION'],
      all.map((conn) => {
        const s = shown(conn);
        return [
          conn.name,
          s.endpointUrl ?? '',
          conn.token ?? '(in endpoint)',
          conn.authentication,
          secretSource(secretOf(conn).ref),
          conn.apiVersion ?? '-',
        ];
      }),
    ),
  );
}

async function showConnection(name: string, flags: { json?: boolean }): Promise<void> {
  const store = openStore();
  const conn = await store.get(name);
  const s = shown(conn);
  if (flags.json) return print(JSON.stringify(s, null, 2));
  const { field, ref } = secretOf(conn);
  const env = ref ? ENV_FLAG.exec(ref) : null;
  const secret = !ref
    ? '-'
    : env
      ? `${ref} (${process.env[env[1]!] ? 'set' : 'not set'} in this shell)`
      : s[field] === 'secrets file'
        ? `secrets file ${store.secretsFile}`
        : s[field]!;
  print(
    keyValues([
      ['name', conn.name],
      ['connector', conn.connector],
      ['endpoint', s.endpointUrl ?? ''],
      ['token', conn.token ?? '(in endpoint)'],
      ['authentication', conn.authentication],
      [field === 'apiKey' ? 'API key' : 'security template', secret],
      ['API version', conn.apiVersion ?? '(default)'],
      ['stored in', store.connectionsFile],
    ]),
  );
}

async function testStoredConnection(name: string, flags: { json?: boolean }): Promise<void> {
  const store = openStore();
  const conn = await store.get(name);
  const secrets = await store.secretsFor(conn);
  const result = await testConnection(conn, secrets ? { secrets } : {});
  if (flags.json) print(JSON.stringify({ name: conn.name, ...result }, null, 2));
  else if (result.ok) print(testReport(conn, result).join('\n'));
  else {
    process.stderr.write(
      `sfx: connection "${conn.name}" failed the test (${result.code ?? 'unknown'}): ${result.reason ?? 'no reason given.'}\n`,
    );
  }
  if (!result.ok) process.exitCode = 1;
}

async function removeConnection(name: string): Promise<void> {
  const store = openStore();
  const conn = await store.get(name);
  const stored = secretSource(secretOf(conn).ref) === 'secrets file';
  if (!(await store.remove(name))) throw new Error(`No connection "${name}" (it was removed meanwhile).`);
  print(`Removed connection "${name}"${stored ? ' and its stored secret' : ''}.`);
}

export function registerConnectionCommands(program: Command): void {
  const connection = program
    .command('connection')
    .description(
      `Stored connections to Filerobot projects (in $SFX_CONFIG_DIR or ~/.config/sfx; secrets only as env:NAME or in a 0600 secrets file)`,
    );
  connection
    .command('add')
    .description('Store a connection (checked before saving)')
    .argument('<name>', 'a name for it: letters, digits, - and _ (flows refer to it)')
    .requiredOption(
      '--endpoint <url>',
      'the API URL, e.g. https://api.filerobot.com/<token> (for sfx server, the URL it prints)',
    )
    .option('--token <token>', 'the project token, when the URL does not hold it')
    .addOption(
      new Option(
        '--auth <kind>',
        'apikey (default) or sass (a security template exchanged for SASS keys)',
      ).choices(['apikey', 'sass']),
    )
    .option('--api-key <env:NAME>', 'read the API key from this environment variable when used')
    .option(
      '--api-key-stdin',
      'read the API key from stdin (or a hidden prompt) and keep it in the secrets file',
    )
    .option(
      '--template <env:NAME>',
      'read the security template id from this environment variable (implies --auth sass)',
    )
    .option(
      '--template-stdin',
      'read the security template id from stdin and keep it in the secrets file (implies --auth sass)',
    )
    .addOption(
      new Option('--api-version <version>', 'v4 or v5 (default: v5, or the one the URL names)').choices([
        'v4',
        'v5',
      ]),
    )
    .option('--force', 'replace a connection of the same name')
    .option('--no-verify', 'save it without trying it first (by default it is tested, and not saved when the test fails)')
    .addHelpText(
      'after',
      `
Examples:
  sfx connection add acme --endpoint https://api.filerobot.com/acme --api-key env:FILEROBOT_KEY
  printf %s "$KEY" | sfx connection add local --endpoint http://127.0.0.1:7010/demo --api-key-stdin
  sfx connection add widget --endpoint https://api.filerobot.com/acme --template env:FILEROBOT_TEMPLATE
  sfx connection add later --endpoint https://api.filerobot.com/acme --api-key env:KEY --no-verify

A key that may not list assets (upload-only) passes the test; sfx says what it can and cannot do.`,
    )
    .action(addConnection);
  connection
    .command('list')
    .description('List stored connections (never their secrets)')
    .option('--json', 'as JSON')
    .action(listConnections);
  connection
    .command('show')
    .description('Show one stored connection (never its secret)')
    .argument('<name>')
    .option('--json', 'as JSON')
    .action(showConnection);
  connection
    .command('test')
    .description(
      'Check that a stored connection reaches its project with its key; exit code 1 when it does not',
    )
    .argument('<name>')
    .option('--json', 'the test result as JSON')
    .action(testStoredConnection);
  connection
    .command('remove')
    .description('Remove a stored connection and its stored secret')
    .argument('<name>')
    .action(removeConnection);
}
