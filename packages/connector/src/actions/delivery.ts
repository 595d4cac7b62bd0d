import { cdnUrl } from '@sfx/client';
import { z } from 'zod';
import { defineAction } from '../action.js';
import { uuid } from '../schemas.js';

const dimension = (what: string) =>
  z.number({ error: `must be a number of pixels (${what}).` }).int({ error: 'must be a whole number of pixels.' }).min(1).max(10_000);

export const cdnUrlAction = defineAction({
  id: 'cdn-url',
  title: 'CDN URL with transforms',
  description:
    'A delivery URL for an asset, resized, cropped or converted on the fly (Cloudimage-style parameters). Built from a fresh file object, since path-based URLs change when an asset is renamed or moved.',
  group: 'delivery',
  permissions: ['OBJECTS_FETCH'],
  kind: 'read',
  idempotent: true,
  endpoint: 'documented',
  input: z.strictObject({
    uuid: uuid(),
    transform: z
      .strictObject({
        w: dimension('width').optional(),
        h: dimension('height').optional(),
        func: z.enum(['crop', 'cover', 'fit', 'bound'], { error: 'must be "crop", "cover", "fit" or "bound".' }).optional(),
        gravity: z.string().min(1).optional().describe('Crop anchor with func "crop": auto, north, face ...'),
        q: z.number().int().min(1, { error: 'must be 1-100.' }).max(100, { error: 'must be 1-100.' }).optional().describe('Quality.'),
        force_format: z.string().regex(/^[a-z]+(,[a-z]+)*$/, { error: 'must be a format such as "webp" or "webp,jpeg".' }).optional(),
        dpr: z.number().min(1).max(5).optional(),
        org_if_sml: z.boolean().optional().describe('Do not upscale small originals.'),
        r: z.number().int().optional().describe('Rotation in degrees.'),
        greyscale: z.boolean().optional(),
      })
      .default({}),
  }),
  output: z.strictObject({ url: z.string(), permalink: z.string(), uuid: z.string() }),
  example: (seed) => ({ uuid: seed.file.uuid, transform: { w: 400, h: 300, func: 'cover' as const, force_format: 'webp', q: 80 } }),
  run: async ({ client, signal }, input) => {
    const file = await client.files.get(input.uuid, { signal });
    return { url: cdnUrl(file, input.transform), permalink: client.files.permalink(input.uuid), uuid: input.uuid };
  },
});

export const deliveryActions = [cdnUrlAction];
