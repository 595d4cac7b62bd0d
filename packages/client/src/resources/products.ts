import { ConfigurationError } from '../core/errors.js';
import type { FileObject, Product } from '../types.js';
import { Resource, seg, type CallOptions } from './resource.js';

// The characters Scaleflex's own uploader refuses in a product reference (reference §3.13).
const BAD_REF = /[\s!#$%^&*()=+{}[\];"<>\\,/?~`]/;

export function checkProductRef(ref: string, field = 'ref'): string {
  if (typeof ref !== 'string' || ref === '' || BAD_REF.test(ref)) {
    throw new ConfigurationError(
      `${field} ${JSON.stringify(ref)} is not a product reference: no spaces or !#$%^&*()=+{}[];"<>\\,/?~\` allowed.`,
    );
  }
  return ref;
}

/** Product references on assets (v4 paths, as documented). */
export class Products extends Resource {
  async list(options: CallOptions = {}): Promise<Product[]> {
    return (await this.core.json<{ products: Product[] }>({ method: 'GET', path: '/products', ...options }))
      .products;
  }

  /** Links an asset to a product, at a position in its gallery. */
  async attach(
    fileUuid: string,
    product: { ref: string; position?: number },
    options: CallOptions = {},
  ): Promise<FileObject> {
    checkProductRef(product.ref, 'product.ref');
    const reply = await this.core.json<{ file: FileObject }>({
      method: 'PUT',
      path: `/file/${seg(fileUuid, 'fileUuid')}/product`,
      version: 'v4',
      json: { product },
      ...options,
    });
    return reply.file;
  }

  /** Removes an asset's product link (an sfx server extension). */
  async detach(fileUuid: string, options: CallOptions = {}): Promise<FileObject> {
    const path = `/file/${seg(fileUuid, 'fileUuid')}/product`;
    return (await this.core.json<{ file: FileObject }>({ method: 'DELETE', path, version: 'v4', ...options })).file;
  }

  async setPosition(
    fileUuid: string,
    position: number,
    options: CallOptions = {},
  ): Promise<FileObject | undefined> {
    if (!Number.isInteger(position))
      throw new ConfigurationError(`position must be a whole number, got ${position}.`);
    const reply = await this.core.json<{ file?: FileObject }>({
      method: 'PATCH',
      path: `/file/${seg(fileUuid, 'fileUuid')}/product/position`,
      version: 'v4',
      json: { position },
      ...options,
    });
    return reply.file;
  }

  /** Links many assets to one product (older unversioned path). */
  async attachMany(ref: string, fileUuids: readonly string[], options: CallOptions = {}): Promise<unknown> {
    return this.core.json({
      method: 'PUT',
      path: `/product/${seg(checkProductRef(ref), 'ref')}/files`,
      version: 'none',
      json: { files_uuids: fileUuids },
      ...options,
    });
  }

  /** Renames a product reference on every asset that carries it. */
  async rename(
    ref: string,
    newRef: string,
    options: CallOptions = {},
  ): Promise<{ new_product_ref: string; files_uuids: string[] }> {
    checkProductRef(newRef, 'newRef');
    return this.core.json<{ new_product_ref: string; files_uuids: string[] }>({
      method: 'PATCH',
      path: `/product/${seg(checkProductRef(ref), 'ref')}`,
      version: 'v4',
      json: { ref: newRef },
      // A replay of a rename that landed finds no `ref` any more (404): look at both refs instead.
      idempotent: false,
      recover: async () => {
        const [before, after] = await Promise.all([this.assets(ref, options).catch(() => []), this.assets(newRef, options)]);
        return before.length === 0 && after.length > 0
          ? { landed: true, value: { new_product_ref: newRef, files_uuids: after.map((f) => f.uuid) } }
          : { landed: false };
      },
      ...options,
    });
  }

  /** The assets of one product. */
  async assets(ref: string, options: CallOptions = {}): Promise<FileObject[]> {
    const reply = await this.core.json<{ assets?: FileObject[]; images?: FileObject[] }>({
      method: 'GET',
      path: `/product/${seg(checkProductRef(ref), 'ref')}/assets`,
      version: 'v4',
      ...options,
    });
    return reply.assets ?? reply.images ?? [];
  }
}
