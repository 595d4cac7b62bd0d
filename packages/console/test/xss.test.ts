/**
 * Hostile text from the DAM (asset names, metadata, tags, URLs, uuids), from flow files (names,
 * descriptions, inputs, YAML the editor checks) and from requests (paths, queries) is shown as text
 * on every page and fragment, never as markup; a DAM URL that is not http(s) never becomes a link.
 */
import type { FileObject } from '@sfx/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { details } from '../src/pages/asset-views.js';
import { poll, samplePng, startStack, type Stack } from './e2e/harness.js';
import { flowFiles } from './pages-fixture.js';

const PAYLOADS = ['<script>alert(1)</script>', '"><img src=x onerror=alert(2)>', "'><svg onload=alert(3)>", '</textarea><script>alert(4)</script>'] as const;
/** Markup that must never reach a page unescaped. */
const RAW = [/<script>alert/, /<img src=x/, /<svg onload/, /<b>bold<\/b>/];

const FLOW = `name: hostile
description: "${PAYLOADS[0]} ${PAYLOADS[1].replace(/"/g, '\\"')}"
inputs:
  note: { type: string, default: "${PAYLOADS[2]}", description: "${PAYLOADS[3]}" }
steps:
  - id: say
    uses: log.info
    with: { message: "{% $inputs.note %}" }
`;

let stack: Stack;
let cookie: string;
let csrf: string;
let uuid: string;

beforeAll(async () => {
  stack = await startStack({ token: 'tok-xss-123', flows: await flowFiles({ 'hostile.yaml': FLOW }) });
  const uploaded = await stack.client.files.upload(await samplePng(3), {
    name: `x${PAYLOADS[1]}.png`,
    folder: '/hostile',
    tags: ['<b>bold</b>'],
    meta: { title: PAYLOADS[0], note: PAYLOADS[3], quote: PAYLOADS[2] },
  });
  uuid = uploaded.file.uuid;
  const res = await stack.app.inject({ method: 'GET', url: '/ui/login?token=tok-xss-123' });
  cookie = String(res.headers['set-cookie']).split(';')[0]!;
  const page = await stack.app.inject({ method: 'GET', url: '/ui/flows', headers: { cookie } });
  csrf = /<meta name="csrf-token" content="([^"]+)">/.exec(page.body)![1]!;
});
afterAll(async () => stack?.close());

function clean(body: string, where: string): void {
  for (const raw of RAW) expect(body, where).not.toMatch(raw);
}

describe('hostile text is escaped', () => {
  it('asset names, metadata and tags on the Assets page, its fragments and details', async () => {
    const q = encodeURIComponent(PAYLOADS[1]);
    const urls = [
      '/ui/assets',
      '/ui/assets?folder=/hostile',
      `/ui/assets?sel=${uuid}`,
      `/ui/assets/file/${uuid}`,
      '/ui/assets/page?folder=/hostile',
      `/ui/assets?q=${q}&folder=${encodeURIComponent(PAYLOADS[0])}`,
      `/ui/assets/file/${encodeURIComponent(PAYLOADS[0])}`,
    ];
    let seen = '';
    for (const url of urls) {
      const res = await stack.app.inject({ method: 'GET', url, headers: { cookie } });
      clean(res.body, url);
      seen += res.body;
    }
    // The payloads were rendered (as text), so the check above looked at them.
    expect(seen).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(seen).toContain('&gt;&lt;img src=x onerror=alert(2)&gt;');
    expect(seen).toContain('&lt;b&gt;bold&lt;/b&gt;');
    expect(seen).toContain('&lt;/textarea&gt;&lt;script&gt;alert(4)');
  });

  it('a write that echoes hostile input (tags, rename, metadata) answers with it escaped', async () => {
    const post = (path: string, form: Record<string, string>) =>
      stack.app.inject({
        method: 'POST',
        url: `/ui/assets/file/${uuid}/${path}`,
        headers: { cookie, 'x-csrf-token': csrf, 'hx-request': 'true', 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams(form).toString(),
      });
    for (const [path, form] of [
      ['tags', { tags: `<b>bold</b>, ${PAYLOADS[0]}` }],
      ['rename', { name: `y${PAYLOADS[2]}.png` }],
      ['meta', { 'meta.title': PAYLOADS[1], newKey: 'extra', newValue: PAYLOADS[3] }],
      ['product', { ref: PAYLOADS[0] }],
      ['move', { folder: `/${PAYLOADS[1]}` }],
    ] as const) {
      const res = await post(path, form);
      clean(res.body, path);
    }
  });

  it('flow names, descriptions and inputs; the editor; the checker; errors about requested names', async () => {
    const runId = await stack.service.startManualRun('hostile', {});
    await poll(async () => (await stack.service.runDetail(runId)).run.status).toBe('succeeded');
    for (const url of [
      '/ui/flows',
      '/ui/flows/hostile',
      '/ui/flows/files/hostile.yaml',
      `/ui/flows/${encodeURIComponent(PAYLOADS[0])}`,
      `/ui/flows/files/${encodeURIComponent(PAYLOADS[1])}`,
      `/ui/runs/${runId}`,
      `/ui/runs?flow=${encodeURIComponent(PAYLOADS[1])}`,
      `/ui/runs/${encodeURIComponent(PAYLOADS[0])}`,
      `/ui/runs/${runId}/steps/${encodeURIComponent(PAYLOADS[0])}`,
      `/ui/${encodeURIComponent(PAYLOADS[0])}`,
    ]) {
      const res = await stack.app.inject({ method: 'GET', url, headers: { cookie } });
      clean(res.body, url);
    }
    const check = await stack.app.inject({
      method: 'POST',
      url: '/ui/flows/check',
      headers: { cookie, 'x-csrf-token': csrf, 'hx-request': 'true', 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ text: `name: "${PAYLOADS[0]}"\nsteps:\n  - id: a\n    uses: "${PAYLOADS[0]}"\n` }).toString(),
    });
    expect(check.body).toContain('problem');
    clean(check.body, 'check');
  });
});

describe('URLs and ids from the DAM', () => {
  const hostile = {
    uuid: '../../connections/demo/remove?x=',
    name: 'a.png',
    type: 'image/png',
    url: { cdn: 'javascript:alert(document.domain)//', permalink: 'javascript:alert(1)//' },
  } as unknown as FileObject;

  it('a javascript: URL never becomes a link, an image or a value to copy', () => {
    const body = details({ file: hostile, fields: [], state: { folder: '/', q: '', view: 'grid', type: '' } }).text;
    expect(body).not.toMatch(/javascript:/i);
  });

  it('a uuid cannot steer a form to another route', () => {
    const body = details({ file: hostile, fields: [], state: { folder: '/', q: '', view: 'grid', type: '' } }).text;
    expect(body).not.toContain('hx-post="/ui/assets/file/../');
    expect(body).toContain('hx-post="/ui/assets/file/..%2F..%2Fconnections%2Fdemo%2Fremove%3Fx%3D/tags"');
  });
});
