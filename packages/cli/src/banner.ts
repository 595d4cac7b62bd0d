import type { RunningServer } from '@sfx/server';

type KeyInfo = Pick<RunningServer, 'rootKey' | 'rootKeySource' | 'rootKeyFile'>;

/**
 * The start-up line about the root key. Its value is shown only when the server made it up (no one
 * else knows it then); a key the user gave stays out of the terminal, its scrollback and CI logs.
 */
export function rootKeyLine(server: KeyInfo): string {
  switch (server.rootKeySource) {
    case 'option':
      return 'Root API key: (given by --root-key)';
    case 'env':
      return 'Root API key: (from SFX_ROOT_KEY)';
    case 'generated':
      return `Root API key: ${server.rootKey} (generated; kept in ${server.rootKeyFile ?? 'the data folder'})`;
    case 'stored':
      return `Root API key: ${server.rootKey} (kept in ${server.rootKeyFile ?? 'the data folder'})`;
  }
}

/** What the printed curl examples put in the key header: never a key the user gave. */
export function keyForExamples(server: KeyInfo): string {
  switch (server.rootKeySource) {
    case 'env':
      return '$SFX_ROOT_KEY';
    case 'option':
      return '$KEY';
    default:
      return server.rootKey;
  }
}
