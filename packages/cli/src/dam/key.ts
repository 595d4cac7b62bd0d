/**
 * `sfx key sass [TEMPLATE]`: a SASS key minted from a security template, for a browser or a widget.
 * The key is what the user asked for, so it goes to stdout, and nowhere else; its expiry to stderr.
 */
import type { Command } from 'commander';
import { APIError, Filerobot, type Filerobot as Client } from '@sfx/client';
import { resolveSecrets } from '@sfx/connector';
import { ConnectionStore } from '../connections-store.js';
import { CliError, UsageError } from '../errors.js';
import { readSecretFromStdin } from '../connections.js';
import { chooseConnection, openStored } from '../run.js';

interface KeyFlags {
  connection?: string;
  json?: boolean;
}

const HELP = `
Examples:
  sfx key sass env:FILEROBOT_TEMPLATE           # the template id from an environment variable
  printf %s "$TEMPLATE" | sfx key sass -        # ... or from stdin
  sfx key sass                                  # the template of a "sass" connection
  sfx key sass env:FILEROBOT_TEMPLATE --json    # {key, expires_at}
  KEY=$(sfx key sass env:FILEROBOT_TEMPLATE)    # the key alone is on stdout

A template id is a credential: give it as env:NAME or on stdin rather than typed, so it stays out of
your shell history. The key is printed on stdout only; when it expires is on stderr (or in --json).
The real API allows about 5 exchanges of a template a minute from one address: reuse a key until it
expires.`;

export function registerKey(program: Command): void {
  const key = program.command('key').description('Mint short-lived keys');
  key
    .command('sass')
    .description('Exchange a security template for a SASS key (printed on stdout) and say when it expires')
    .argument('[template]', 'the template id (SECU_...), env:NAME, or - to read it from stdin (default: the template of a "sass" connection)')
    .option('--json', 'print {key, expires_at} as JSON')
    .option('--connection <name>', 'the stored connection whose project to use (default: $SFX_CONNECTION, or the only one)')
    .addHelpText('after', HELP)
    .action((template: string | undefined, flags: KeyFlags) => mintSass(template, flags));
}

async function templateId(given: string | undefined, connectionName: string | undefined): Promise<string> {
  if (given === '-') return readSecretFromStdin('security template id', 'sfx key sass -');
  const env = given === undefined ? null : /^env:([A-Za-z_][A-Za-z0-9_]*)$/.exec(given);
  if (env) {
    const value = process.env[env[1]!]?.trim();
    if (!value) throw new UsageError(`${env[1]} is not set (or empty): set it to the security template id, or pipe the id in with "-".`);
    return value;
  }
  if (given !== undefined) {
    if (given.trim() === '') throw new UsageError('the template id is empty: give SECU_..., env:NAME or -.');
    return given.trim();
  }
  const store = new ConnectionStore();
  const conn = await chooseConnection(store, connectionName);
  if (conn.authentication !== 'sass')
    throw new UsageError(`connection "${conn.name}" uses an API key, not a security template: give the template (sfx key sass env:NAME, or - for stdin).`);
  const secrets = await store.secretsFor(conn);
  const resolved = resolveSecrets(conn, secrets ? { secrets } : {});
  if (!resolved.securityTemplate) throw new CliError(`connection "${conn.name}" holds no security template.`);
  return resolved.securityTemplate;
}

async function mintSass(given: string | undefined, flags: KeyFlags): Promise<void> {
  const template = await templateId(given, flags.connection);
  const { client } = await openStored(flags.connection);
  let key: string;
  try {
    key = await client.access.exchange(template);
  } catch (error) {
    // Never repeat the template id: it is the credential.
    if (error instanceof APIError && (error.status === 404 || error.code === 'TEMPLATE_NOT_FOUND'))
      throw new CliError('no active security template has that id in this project: check the id (Hub > Settings > Access > Security templates) and that the template is active.');
    if (error instanceof APIError && error.status === 429)
      throw new CliError(`the template was exchanged too often: ${error.hint ?? 'wait a minute'} (reuse a SASS key until it expires).`);
    throw error;
  } finally {
    await client.close();
  }
  const expiresAt = await expiryOf(client, key);
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ key, expires_at: expiresAt ?? null }, null, 2)}\n`);
    return;
  }
  process.stdout.write(`${key}\n`);
  process.stderr.write(
    expiresAt
      ? `expires at ${expiresAt} (in ${Math.max(0, Math.round((Date.parse(expiresAt) - Date.now()) / 60_000))} min)\n`
      : 'expiry: the API does not say; it is the template\'s key validity (20 minutes unless changed).\n',
  );
}

/** When the key expires, from the sfx server's `GET /v5/access/key`; undefined where that is not served. */
async function expiryOf(client: Client, key: string): Promise<string | undefined> {
  const { base, token, version } = client.endpoint;
  const asKey = new Filerobot({ endpoint: base, token, apiVersion: version, apiKey: key, retry: { maxRetries: 0 }, timeoutMs: 10_000 });
  try {
    const presented = await asKey.access.currentKey();
    return typeof presented.expires_at === 'string' ? presented.expires_at : undefined;
  } catch {
    return undefined;
  } finally {
    await asKey.close();
  }
}
