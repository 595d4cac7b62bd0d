import { z } from 'zod';
import { defineAction } from '../action.js';
import { labelObject } from '../schemas.js';

const group = 'labels';

export const listLabels = defineAction({
  id: 'labels.list',
  title: 'List labels',
  description: 'The project labels, with how many assets carry each (v5).',
  group,
  permissions: ['LABELS_LIST'],
  kind: 'read',
  idempotent: true,
  endpoint: 'documented',
  input: z.strictObject({}),
  output: z.strictObject({ labels: z.array(labelObject) }),
  example: () => ({}),
  run: async ({ client, signal }) => ({ labels: await client.labels.list({ signal }) }),
});

export const createLabel = defineAction({
  id: 'labels.create',
  title: 'Create a label',
  description: 'Adds a label; attach it to assets with bulk changes (labels.add).',
  group,
  permissions: ['LABEL_MANAGE'],
  kind: 'write',
  idempotent: false,
  endpoint: 'documented',
  input: z.strictObject({
    name: z.string({ error: 'must be a string: the label name.' }).min(1, { error: 'must not be empty: name the label.' }),
    color: z
      .string()
      .regex(/^#[0-9A-Fa-f]{6}$/, { error: 'must be a colour such as "#2E7D32".' })
      .optional(),
    shape: z.string().min(1).optional(),
    is_pinned: z.boolean().optional(),
  }),
  output: z.strictObject({ label: labelObject }),
  example: () => ({ name: 'Approved', color: '#2E7D32' }),
  run: async ({ client, signal }, input) => ({ label: await client.labels.create(input, { signal }) }),
});

export const labelActions = [listLabels, createLabel];
