import { ConfigurationError } from './errors.js';

export type ApiVersion = 'v4' | 'v5';

export const DEFAULT_ENDPOINT = 'https://api.filerobot.com';

/** Where the API lives: `{origin}{prefix}/{token}/{version}/...`. */
export interface Endpoint {
  /** `https://api.filerobot.com`, or the local server's `http://127.0.0.1:7010` (plus any path prefix). */
  base: string;
  /** The project token (the Filerobot container id). */
  token: string;
  version: ApiVersion;
}

const TOKEN = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Reads an endpoint URL that may carry the token and the version (`https://api.filerobot.com`,
 * `.../acme`, `.../acme/v5`), together with an optional separate `token` and `version`. Both ways
 * of giving the token parse to the same thing; giving two different tokens is an error.
 */
export function parseEndpoint(url: string | undefined, token?: string, version?: ApiVersion): Endpoint {
  const raw = url ?? DEFAULT_ENDPOINT;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigurationError(
      `endpoint "${raw}" is not a URL. Use e.g. https://api.filerobot.com/<token>.`,
    );
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new ConfigurationError(
      `endpoint must be http(s), got "${parsed.protocol}". Use e.g. https://api.filerobot.com/<token>.`,
    );
  }
  if (parsed.search || parsed.hash) {
    throw new ConfigurationError(
      'endpoint must not have a query string or fragment; pass options separately.',
    );
  }
  const segments = parsed.pathname.split('/').filter(Boolean);
  let urlVersion: ApiVersion | undefined;
  const last = segments.at(-1);
  if (last === 'v4' || last === 'v5') {
    urlVersion = last;
    segments.pop();
  } else if (last && /^v\d+$/.test(last)) {
    throw new ConfigurationError(`endpoint names API version "${last}"; this client speaks v4 and v5.`);
  }
  if (version && urlVersion && version !== urlVersion) {
    throw new ConfigurationError(
      `endpoint says ${urlVersion} but apiVersion is ${version}; give one of them.`,
    );
  }
  // The last remaining segment is the token, unless a separate token was given: then a differing
  // segment is a path prefix (a proxy mount), except on the real API host, which has no prefixes.
  let urlToken: string | undefined;
  const isRealApi = parsed.hostname === 'api.filerobot.com';
  if (segments.length > 0 && (!token || isRealApi || segments.at(-1) === token)) urlToken = segments.pop();
  if (token && urlToken && token !== urlToken) {
    throw new ConfigurationError(
      `endpoint holds token "${urlToken}" but token is "${token}"; give one of them.`,
    );
  }
  const projectToken = token ?? urlToken;
  if (!projectToken) {
    throw new ConfigurationError(
      'no project token: pass `token`, or put it in the endpoint (https://api.filerobot.com/<token>).',
    );
  }
  if (!TOKEN.test(projectToken)) {
    throw new ConfigurationError(
      `project token "${projectToken}" has characters a token cannot have (letters, digits, - and _ only).`,
    );
  }
  const prefix = segments.length ? `/${segments.join('/')}` : '';
  return { base: `${parsed.origin}${prefix}`, token: projectToken, version: version ?? urlVersion ?? 'v5' };
}
