import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './harness.js';

/*
 * Regeneration jobs (reference §1 row 48, §3.18): POST {ask}/regenerate/{job} {uuids} → 201,
 * served at /{token}/ask/regenerate/{job} for the jobs computable from pixels (dominant-color).
 */

interface Job {
  uuid: string;
  type: string;
  status: string;
  files_uuids: string[];
  results: Array<{ file_uuid: string; status: string; code?: string; info?: { dominant_color: string; main_colors: Array<{ name: string; hex: string; share: number }> } }>;
  info: { files_count: number; done_count: number; failed_count: number };
  created_at: string;
  finished_at: string;
}
type FileObject = { uuid: string; info: Record<string, unknown>; modified_at: string };

let h: Harness;
const missing = '6f1c1b1e-0000-4000-8000-000000000000';
const uuids: Record<string, string> = {};

const solid = (width: number, height: number, colour: string): Promise<Buffer> =>
  sharp({ create: { width, height, channels: 3, background: colour } }).png().toBuffer();

async function upload(name: string, content: Buffer | string): Promise<string> {
  const r = await h.upload('/regenerate', name, content);
  expect(r.status, JSON.stringify(r)).toBe('success');
  return (r.file as { uuid: string }).uuid;
}

const ask = (job: string, body: unknown, key?: string) =>
  h.call('POST', `${h.server.url}/${h.server.token}/ask/regenerate/${job}`, { body, key });

const get = async (uuid: string): Promise<FileObject> => (await h.call('GET', `/files/${uuid}`)).body.file as FileObject;

beforeAll(async () => {
  h = await startHarness();
  uuids.red = await upload('red.png', await solid(120, 80, '#ff0000'));
  // 100×100: three quarters blue, one quarter (the right 25 columns) yellow.
  uuids.blueYellow = await upload(
    'blue-yellow.png',
    await sharp({ create: { width: 100, height: 100, channels: 3, background: '#0000ff' } })
      .composite([{ input: await solid(25, 100, '#ffff00'), left: 75, top: 0 }])
      .png()
      .toBuffer(),
  );
  uuids.text = await upload('notes.txt', 'not an image');
});
afterAll(async () => {
  await h.close();
});

describe('POST /{token}/ask/regenerate/dominant-color', () => {
  it('answers 201 with the job, and stores the dominant colour in the file info that GET returns', async () => {
    expect((await get(uuids.red!)).info.dominant_color).toBeUndefined();
    const before = (await get(uuids.red!)).modified_at;
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const r = await ask('dominant-color', { uuids: [uuids.red] });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body).toMatchObject({ status: 'success', action: 'regeneration_completed' });
    const job = r.body.job as Job;
    expect(job).toMatchObject({ type: 'dominant-color', status: 'done', files_uuids: [uuids.red], info: { files_count: 1, done_count: 1, failed_count: 0 } });
    expect(job.uuid).toMatch(/^[0-9a-f-]{36}$/);
    expect(job.results).toEqual([
      { file_uuid: uuids.red, status: 'done', info: { dominant_color: '#ff0000', main_colors: [{ name: 'red', hex: '#ff0000', share: 1 }] } },
    ]);
    const file = await get(uuids.red!);
    expect(file.info.dominant_color).toBe('#ff0000');
    expect(file.info.main_colors).toEqual([{ name: 'red', hex: '#ff0000', share: 1 }]);
    // What upload measured stays.
    expect(file.info).toMatchObject({ img_w: 120, img_h: 80 });
    expect(file.modified_at > before).toBe(true);
  });

  it('ranks the main colours by share; the dominant one is the largest', async () => {
    const r = await ask('dominant-color', { uuids: [uuids.blueYellow] });
    expect(r.status).toBe(201);
    const info = (r.body.job as Job).results[0]!.info!;
    expect(info.dominant_color).toBe('#0000ff');
    expect(info.main_colors.map((c) => [c.name, c.hex])).toEqual([
      ['blue', '#0000ff'],
      ['yellow', '#ffff00'],
    ]);
    expect(info.main_colors[0]!.share).toBeCloseTo(0.75, 2);
    expect(info.main_colors[1]!.share).toBeCloseTo(0.25, 2);
    expect((await get(uuids.blueYellow!)).info.dominant_color).toBe('#0000ff');
  });

  it('reports files it cannot process one by one (unknown, not an image) and still processes the rest', async () => {
    const r = await ask('dominant-color', { uuids: [uuids.text, missing, uuids.red, uuids.red] });
    expect(r.status).toBe(201);
    const job = r.body.job as Job;
    expect(job.status).toBe('partial');
    expect(job.files_uuids).toEqual([uuids.text, missing, uuids.red]);
    expect(job.results.map((x) => [x.file_uuid, x.status, x.code])).toEqual([
      [uuids.text, 'error', 'NOT_AN_IMAGE'],
      [missing, 'error', 'FILE_NOT_FOUND'],
      [uuids.red, 'done', undefined],
    ]);
    expect((await get(uuids.text!)).info.dominant_color).toBeUndefined();
    const none = await ask('dominant-color', { uuids: [missing] });
    expect([none.status, (none.body.job as Job).status]).toEqual([201, 'failed']);
  });

  it('jobs that need a model, and unknown jobs, are a 400 JOB_NOT_SUPPORTED naming the supported ones', async () => {
    for (const job of ['remove-background', 'face-analysis', 'face-count', 'brand-detection', 'nope']) {
      const r = await ask(job, { uuids: [uuids.red] });
      expect([r.status, r.body.code], job).toEqual([400, 'JOB_NOT_SUPPORTED']);
      expect(r.body.supported_jobs).toEqual(['dominant-color']);
      expect(String(r.body.msg)).toContain('dominant-color');
    }
    expect(String((await ask('face-count', { uuids: [uuids.red] })).body.msg)).toContain('model');
  });

  it('refuses a bad body with a 400 naming "uuids", and keys without FILE_PROCESS_AUTOTAGGING', async () => {
    for (const body of [{}, { uuids: [] }, { uuids: 'x' }, { uuids: ['not-a-uuid'] }, { uuids: Array.from({ length: 101 }, () => missing) }]) {
      const r = await ask('dominant-color', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(String(r.body.msg), JSON.stringify(body)).toContain('uuids');
    }
    const other = (await h.call('POST', '/access/keys', { body: { permissions: ['OBJECTS_FETCH', 'FILE_META_CHANGE'] } })).body.key as { secret: string };
    const refused = await ask('dominant-color', { uuids: [uuids.red] }, other.secret);
    expect([refused.status, refused.body.code]).toEqual([403, 'PERMISSION_DENIED']);
    expect(String(refused.body.msg)).toContain('FILE_PROCESS_AUTOTAGGING');
  });
});
