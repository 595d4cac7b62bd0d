import { badRequest } from '../errors.js';
import type { Call, RouteSpec } from '../http/route.js';
import type { ProductQuery } from '../store/products.js';
import { bodyObject, intParam, objectField, single, stringParam, uuidList, uuidParam } from './params.js';
import { fileObject } from './serialize.js';

/** Characters the Scaleflex uploader refuses in a product reference (reference §3.13), plus whitespace. */
const REF_FORBIDDEN = /[\s!#$%^&*()=+{}[\];"<>\\,/?~`]/u;
const MAX_POSITION = 2_147_483_647;

export function productRef(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw badRequest(
      'INVALID_PRODUCT_REF',
      `"${field}" must be a non-empty product reference such as "H03423".`,
    );
  }
  if (value.length > 255)
    throw badRequest('INVALID_PRODUCT_REF', `"${field}" is longer than 255 characters.`);
  const bad = REF_FORBIDDEN.exec(value);
  if (bad) {
    const what = /\s/u.test(bad[0]) ? 'whitespace' : `the character ${JSON.stringify(bad[0])}`;
    throw badRequest(
      'INVALID_PRODUCT_REF',
      `"${field}" ${JSON.stringify(value)} contains ${what}, which a product reference cannot hold.`,
      'Use letters, digits and characters such as - _ . : @ | with no spaces or any of !#$%^&*()=+{}[];"<>\\,/?~`, e.g. "H03423".',
    );
  }
  return value;
}

export function productPosition(value: unknown, field: string): number {
  const n = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > MAX_POSITION) {
    throw badRequest(
      'INVALID_PRODUCT_POSITION',
      `"${field}" must be a whole number from 0 to ${MAX_POSITION}; got ${JSON.stringify(value)}.`,
      'Example: {"position": 1}',
    );
  }
  return n;
}

function attach(call: Call): Record<string, unknown> {
  const uuid = uuidParam(call.params.uuid, 'uuid');
  const body = bodyObject(call.body);
  if (body.product === undefined) {
    throw badRequest(
      'INVALID_PARAMETER',
      '"product" is required.',
      'Example: {"product": {"ref": "H03423", "position": 1}}',
    );
  }
  const product = objectField(body.product, 'product');
  const ref = productRef(product.ref, 'product.ref');
  const position =
    product.position === undefined || product.position === null
      ? undefined
      : productPosition(product.position, 'product.position');
  const file = call.ctx.catalog.products.attach(uuid, ref, position);
  return {
    action: 'product_ref_updated',
    product_ref: file.product_ref,
    product_position: file.product_position,
    file_uuid: uuid,
    file: fileObject(call.url, file),
  };
}

function setPosition(call: Call): Record<string, unknown> {
  const uuid = uuidParam(call.params.uuid, 'uuid');
  const body = bodyObject(call.body);
  if (body.position === undefined)
    throw badRequest('INVALID_PARAMETER', '"position" is required.', 'Example: {"position": 6}');
  const file = call.ctx.catalog.products.setPosition(uuid, productPosition(body.position, 'position'));
  return {
    action: 'product_position_updated',
    product_ref: file.product_ref,
    product_position: file.product_position,
    file_uuid: uuid,
    file: fileObject(call.url, file),
  };
}

function attachMany(call: Call): Record<string, unknown> {
  const ref = productRef(call.params.ref, 'ref');
  const body = bodyObject(call.body);
  const uuids = uuidList(body.files_uuids ?? body.file_uuids, 'files_uuids');
  const files = call.ctx.catalog.products.attachMany(ref, uuids);
  return {
    action: 'product_ref_updated',
    product_ref: ref,
    files_uuids: uuids,
    files: files.map((f) => fileObject(call.url, f)),
  };
}

function rename(call: Call): Record<string, unknown> {
  const ref = productRef(call.params.ref, 'ref');
  const body = bodyObject(call.body);
  if (body.ref === undefined)
    throw badRequest(
      'INVALID_PARAMETER',
      '"ref" (the new product reference) is required.',
      'Example: {"ref": "B03423"}',
    );
  const newRef = productRef(body.ref, 'ref');
  const uuids = call.ctx.catalog.products.rename(ref, newRef);
  return {
    msg: `Product reference ${ref} renamed to ${newRef}.`,
    action: 'product_ref_renamed',
    product_ref: ref,
    new_product_ref: newRef,
    files_uuids: uuids,
  };
}

/** `q` as the asset picker sends it (`reference~^abc`), or plain text matched anywhere in the ref. */
function productMatch(q: string | undefined): ProductQuery['match'] {
  if (q === undefined || q.trim() === '') return undefined;
  const term = /^\s*(?:reference|ref|product_ref)\s*(~\^|~|:=|=|:)\s*"?(.*?)"?\s*$/i.exec(q);
  if (!term) return { mode: 'contains', text: q.trim() };
  const mode = term[1] === '~^' ? 'prefix' : term[1] === '~' ? 'contains' : 'exact';
  return { mode, text: term[2] ?? '' };
}

function listProducts(call: Call): Record<string, unknown> {
  const limit = intParam(call.query.limit, 'limit', { min: 1, max: 4000, fallback: 1000 });
  const offset = intParam(call.query.offset, 'offset', { min: 0, max: Number.MAX_SAFE_INTEGER, fallback: 0 });
  const { products, total } = call.ctx.catalog.products.list({
    match: productMatch(stringParam(call.query.q, 'q', 300)),
    limit,
    offset,
  });
  return {
    products: products.map((p) => ({
      ref: p.ref,
      stats: { count_assets: p.count_assets, count_images: p.count_images },
    })),
    total,
    limit,
    offset,
  };
}

function productFiles(call: Call, imagesOnly: boolean, field: 'assets' | 'images'): Record<string, unknown> {
  const ref = productRef(single(call.params.ref), 'ref');
  const files = call.ctx.catalog.products.files(ref, imagesOnly);
  return { product_ref: ref, [field]: files.map((f) => fileObject(call.url, f)) };
}

export const productRoutes: RouteSpec[] = [
  {
    method: 'PUT',
    path: '/file/:uuid/product',
    versions: ['v4'],
    permissions: ['FILE_PRODUCT_CHANGE'],
    summary: 'Attach a file to a product (ref, position)',
    handler: attach,
  },
  {
    // Our extension: the reference shows no way to unlink a file from its product.
    method: 'DELETE',
    path: '/file/:uuid/product',
    versions: ['v4'],
    permissions: ['FILE_PRODUCT_CHANGE'],
    summary: 'Detach a file from its product (extension)',
    handler: (call) => {
      const uuid = uuidParam(call.params.uuid, 'uuid');
      const file = call.ctx.catalog.products.detach(uuid);
      return { action: 'product_ref_removed', file_uuid: uuid, file: fileObject(call.url, file) };
    },
  },
  // The docs print OBJECT_FETCH for the two changes below; a write guarded by a read permission would let
  // any reader reorder or rename products, so we keep the FILE_PRODUCT_CHANGE the older docs give.
  {
    method: 'PATCH',
    path: '/file/:uuid/product/position',
    versions: ['v4'],
    permissions: ['FILE_PRODUCT_CHANGE'],
    summary: 'Change the product position of a file',
    handler: setPosition,
  },
  {
    method: 'PATCH',
    path: '/product/:ref',
    versions: ['v4'],
    permissions: ['FILE_PRODUCT_CHANGE'],
    summary: 'Rename a product reference',
    handler: rename,
  },
  // Printed without a version segment in the older docs; the v4 form is accepted too.
  {
    method: 'PUT',
    path: '/product/:ref/files',
    versions: [],
    permissions: ['FILE_PRODUCT_CHANGE'],
    summary: 'Attach many files to a product',
    handler: attachMany,
  },
  {
    method: 'PUT',
    path: '/product/:ref/files',
    versions: ['v4'],
    permissions: ['FILE_PRODUCT_CHANGE'],
    summary: 'Attach many files to a product',
    handler: attachMany,
  },
  {
    method: 'GET',
    path: '/products',
    versions: ['v4', 'v5'],
    permissions: ['OBJECTS_LIST'],
    summary: 'Product references with asset counts',
    handler: listProducts,
  },
  {
    method: 'GET',
    path: '/product/:ref/assets',
    versions: ['v4'],
    permissions: ['OBJECTS_FETCH'],
    summary: 'Assets of a product, by position',
    handler: (c) => productFiles(c, false, 'assets'),
  },
  {
    method: 'GET',
    path: '/product/:ref/images',
    versions: ['v4'],
    permissions: ['OBJECTS_FETCH'],
    summary: 'Images of a product, by position',
    handler: (c) => productFiles(c, true, 'images'),
  },
];
