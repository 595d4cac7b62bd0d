import { z } from 'zod';
import { defineAction } from '../action.js';
import { fileObject, productObject, productRef, uuid, uuidList } from '../schemas.js';

const group = 'products';

export const listProducts = defineAction({
  id: 'products.list',
  title: 'List products',
  description: 'The product references in use, with how many assets each has.',
  group,
  permissions: ['OBJECTS_LIST'],
  kind: 'read',
  idempotent: true,
  endpoint: 'documented',
  input: z.strictObject({}),
  output: z.strictObject({ products: z.array(productObject) }),
  example: () => ({}),
  run: async ({ client, signal }) => ({ products: await client.products.list({ signal }) }),
});

export const attachProduct = defineAction({
  id: 'products.attach',
  title: 'Link a file to a product',
  description: 'Links an asset to a product reference, at a position in its gallery (last when absent).',
  group,
  permissions: ['FILE_PRODUCT_CHANGE'],
  kind: 'write',
  idempotent: true,
  endpoint: 'documented',
  input: z.strictObject({
    uuid: uuid(),
    ref: productRef,
    position: z.number().int({ error: 'must be a whole number.' }).min(0).optional(),
  }),
  output: z.strictObject({ file: fileObject }),
  example: (seed) => ({ uuid: seed.file.uuid, ref: seed.product.ref, position: 1 }),
  run: async ({ client, signal }, input) => ({
    file: await client.products.attach(input.uuid, { ref: input.ref, position: input.position }, { signal }),
  }),
});

export const detachProduct = defineAction({
  id: 'products.detach',
  title: 'Unlink a file from its product',
  description: "Removes an asset's product link.",
  group,
  permissions: ['FILE_PRODUCT_CHANGE'],
  kind: 'write',
  idempotent: true,
  endpoint: 'extension',
  input: z.strictObject({ uuid: uuid() }),
  output: z.strictObject({ file: fileObject }),
  example: (seed) => ({ uuid: seed.files.detach }),
  run: async ({ client, signal }, input) => ({ file: await client.products.detach(input.uuid, { signal }) }),
});

export const setProductPosition = defineAction({
  id: 'products.set-position',
  title: "Set a file's product position",
  description: "Moves an asset to another place in its product's gallery.",
  group,
  permissions: ['FILE_PRODUCT_CHANGE'],
  kind: 'write',
  idempotent: true,
  endpoint: 'documented',
  input: z.strictObject({ uuid: uuid(), position: z.number().int({ error: 'must be a whole number.' }).min(0) }),
  output: z.strictObject({ uuid: z.string(), position: z.number(), file: fileObject.optional() }),
  example: (seed) => ({ uuid: seed.files.position, position: 2 }),
  run: async ({ client, signal }, input) => {
    const file = await client.products.setPosition(input.uuid, input.position, { signal });
    return { uuid: input.uuid, position: input.position, ...(file ? { file } : {}) };
  },
});

export const attachManyToProduct = defineAction({
  id: 'products.attach-many',
  title: 'Link files to a product',
  description: 'Links many assets to one product, all or none; assets already linked keep their position.',
  group,
  permissions: ['FILE_PRODUCT_CHANGE'],
  kind: 'write',
  idempotent: true,
  endpoint: 'documented',
  input: z.strictObject({ ref: productRef, uuids: uuidList('asset uuid') }),
  output: z.strictObject({ ref: z.string(), uuids: z.array(z.string()), reply: z.unknown() }),
  example: (seed) => ({ ref: seed.product.ref, uuids: [seed.files.position] }),
  run: async ({ client, signal }, input) => ({
    ref: input.ref,
    uuids: input.uuids,
    reply: await client.products.attachMany(input.ref, input.uuids, { signal }),
  }),
});

export const renameProduct = defineAction({
  id: 'products.rename',
  title: 'Rename a product reference',
  description: 'Changes a product reference on every asset that carries it; a reference already in use is a ConflictError.',
  group,
  permissions: ['FILE_PRODUCT_CHANGE'],
  kind: 'write',
  idempotent: false,
  endpoint: 'documented',
  input: z.strictObject({ ref: productRef, newRef: productRef }),
  output: z.strictObject({ new_product_ref: z.string(), files_uuids: z.array(z.string()) }),
  example: (seed) => ({ ref: seed.product.renameRef, newRef: `${seed.product.renameRef}-B` }),
  run: async ({ client, signal }, input) => {
    const reply = await client.products.rename(input.ref, input.newRef, { signal });
    return { new_product_ref: reply.new_product_ref, files_uuids: reply.files_uuids };
  },
});

export const productAssets = defineAction({
  id: 'products.assets',
  title: "List a product's assets",
  description: 'The assets linked to a product, by position.',
  group,
  permissions: ['OBJECTS_FETCH'],
  kind: 'read',
  idempotent: true,
  endpoint: 'documented',
  input: z.strictObject({ ref: productRef }),
  output: z.strictObject({ assets: z.array(fileObject) }),
  example: (seed) => ({ ref: seed.product.ref }),
  run: async ({ client, signal }, input) => ({ assets: await client.products.assets(input.ref, { signal }) }),
});

export const productActions = [
  listProducts,
  attachProduct,
  detachProduct,
  setProductPosition,
  attachManyToProduct,
  renameProduct,
  productAssets,
];
