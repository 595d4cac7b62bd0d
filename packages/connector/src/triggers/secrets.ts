import type { Problem } from '../errors.js';

const ENV_REF = /^env:([A-Za-z_][A-Za-z0-9_]*)$/;
const SECRET_REF = /^secret:([A-Za-z0-9][A-Za-z0-9_.-]*)$/;

export interface SecretSources {
  /** Where `env:NAME` references are looked up. Default `process.env`. */
  env?: Record<string, string | undefined>;
  /** Looks up `secret:NAME` references (the sfx CLI's secrets file), as for connections. */
  secrets?: (name: string) => string | undefined;
}

/**
 * A secret field's value with an `env:NAME` or `secret:NAME` reference replaced, as connection
 * secrets are (connection.ts resolveSecrets). A reference that cannot be resolved is added to
 * `problems` (naming the field and the reference, never a value) and resolves to undefined.
 */
export function resolveSecretRef(value: string, path: string, sources: SecretSources, problems: Problem[]): string | undefined {
  const stored = SECRET_REF.exec(value);
  if (stored) {
    const found = sources.secrets?.(stored[1]!);
    if (found === undefined || found.trim() === '') {
      problems.push({
        path,
        message: sources.secrets
          ? `refers to the stored secret "${stored[1]}", which the secrets store does not hold: store it, or use "env:NAME".`
          : `refers to the stored secret "${stored[1]}", but no secrets store was given: use "env:NAME", or pass the store.`,
      });
      return undefined;
    }
    return found.trim();
  }
  const ref = ENV_REF.exec(value);
  if (!ref) return value;
  const found = (sources.env ?? process.env)[ref[1]!];
  if (found === undefined || found.trim() === '') {
    problems.push({
      path,
      message: `refers to the environment variable ${ref[1]}, which is ${found === undefined ? 'not set' : 'empty'}: set it, or put the value itself in ${path}.`,
    });
    return undefined;
  }
  return found.trim();
}

/** Whether the value is a reference rather than a secret itself. */
export function isSecretRef(value: string): boolean {
  return ENV_REF.test(value) || SECRET_REF.test(value);
}
