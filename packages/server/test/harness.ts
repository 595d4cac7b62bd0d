import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type RunningServer, type ServerOptions } from '../src/index.js';

export interface Harness {
  server: RunningServer;
  dir: string;
  /** `{url}/{token}/v5` (or v4). */
  api(version?: 'v4' | 'v5'): string;
  call(method: string, path: string, init?: { body?: unknown; key?: string | null; headers?: Record<string, string>; version?: 'v4' | 'v5' }): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }>;
  /** Multipart upload with the root key; `extra` form fields (meta, tags...), `query` appended (`&overwrite=1`). */
  upload(folder: string, name: string, content: string | Buffer, extra?: Record<string, string>, query?: string): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

export async function startHarness(options: ServerOptions = {}): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'sfx-test-'));
  const server = await startServer({ port: 0, data: dir, rootKey: 'root-key-for-tests', durability: 'relaxed', logLevel: 'silent', ...options });
  const api = (version: 'v4' | 'v5' = 'v5'): string => `${server.url}/${server.token}/${version}`;
  const harness: Harness = {
    server,
    dir,
    api,
    async call(method, path, init = {}) {
      const headers: Record<string, string> = { ...init.headers };
      if (init.key !== null) headers['X-Filerobot-Key'] = init.key ?? server.rootKey;
      let body: string | undefined;
      if (init.body !== undefined) {
        headers['Content-Type'] ??= 'application/json';
        body = typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
      }
      const url = path.startsWith('http') ? path : `${api(init.version)}${path}`;
      const response = await fetch(url, { method, headers, body, redirect: 'manual' });
      const text = await response.text();
      let parsed: Record<string, unknown> = {};
      try {
        parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
      } catch {
        parsed = { raw: text };
      }
      return { status: response.status, body: parsed, headers: response.headers };
    },
    async upload(folder, name, content, extra = {}, query = '') {
      const form = new FormData();
      for (const [k, v] of Object.entries(extra)) form.append(k, v);
      form.append('file', new Blob([content]), name);
      const response = await fetch(`${api()}/files?folder=${encodeURIComponent(folder)}${query}`, {
        method: 'POST',
        headers: { 'X-Filerobot-Key': server.rootKey },
        body: form,
      });
      return (await response.json()) as Record<string, unknown>;
    },
    async close() {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return harness;
}
