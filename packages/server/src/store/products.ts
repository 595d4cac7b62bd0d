import type { Database } from 'better-sqlite3';
import { ApiError, conflict, notFound } from '../errors.js';
import { escapeLike, now, type MetadataStore } from './metadata-store.js';
import type { FileWithFolder } from './rows.js';

const FILE_SELECT = `SELECT f.*, d.uuid AS folder_uuid, d.path AS folder_path FROM files f JOIN folders d ON d.id = f.folder_id`;

export interface ProductSummary {
  ref: string;
  count_assets: number;
  count_images: number;
}

export interface ProductQuery {
  /** `prefix` matches refs starting with the text, `contains` anywhere; both case-insensitive. */
  match?: { mode: 'prefix' | 'contains' | 'exact'; text: string };
  limit: number;
  offset: number;
}

export const productNotFound = (ref: string): ApiError =>
  notFound(
    'PRODUCT_NOT_FOUND',
    `No asset is attached to the product ${JSON.stringify(ref)}.`,
    'List product references with GET /v4/products.',
  );

/**
 * Products are not stored on their own: a product is the set of files whose `product_ref` names
 * it, ordered by `product_position`, as in the real API where a ref exists once an asset has it.
 */
export class ProductStore {
  constructor(
    private readonly db: Database,
    private readonly store: MetadataStore,
  ) {}

  private nextPosition(ref: string): number {
    const row = this.db
      .prepare('SELECT max(product_position) AS p FROM files WHERE product_ref = ?')
      .get(ref) as { p: number | null };
    return (row.p ?? 0) + 1;
  }

  /** Links one file; without a position it goes after the product's last asset. */
  attach(uuid: string, ref: string, position: number | undefined): FileWithFolder {
    return this.store.transaction(() => {
      const file = this.store.requireFile(uuid);
      const keep =
        file.product_ref === ref && file.product_position !== null ? file.product_position : undefined;
      return this.store.setFileProduct(uuid, ref, position ?? keep ?? this.nextPosition(ref));
    });
  }

  detach(uuid: string): FileWithFolder {
    return this.store.transaction(() => {
      this.store.requireFile(uuid);
      return this.store.setFileProduct(uuid, null, null);
    });
  }

  setPosition(uuid: string, position: number): FileWithFolder {
    return this.store.transaction(() => {
      const file = this.store.requireFile(uuid);
      if (file.product_ref === null) {
        throw new ApiError(
          400,
          'NO_PRODUCT',
          `The file ${uuid} is not attached to a product, so it has no position to change.`,
          'Attach it first with PUT /v4/file/{uuid}/product {"product": {"ref": "...", "position": 1}}.',
        );
      }
      return this.store.setFileProduct(uuid, file.product_ref, position);
    });
  }

  /**
   * Links many files at once, all or none: unknown uuids fail the whole call. Files already in
   * the product keep their position; the others are appended in the order given.
   */
  attachMany(ref: string, uuids: string[]): FileWithFolder[] {
    return this.store.transaction(() => {
      const missing = uuids.filter((uuid) => !this.store.fileByUuid(uuid));
      if (missing.length > 0) {
        throw new ApiError(
          404,
          'FILE_NOT_FOUND',
          `${missing.length} of the files do not exist; none was attached.`,
          'Remove the unknown uuids (see "not_found_uuids") and try again.',
          { not_found_uuids: missing },
        );
      }
      let next = this.nextPosition(ref);
      return uuids.map((uuid) => {
        const file = this.store.requireFile(uuid);
        if (file.product_ref === ref && file.product_position !== null) return file;
        return this.store.setFileProduct(uuid, ref, next++);
      });
    });
  }

  /** Renames a ref on every file that carries it; refuses to merge into a ref already in use. */
  rename(ref: string, newRef: string): string[] {
    return this.store.transaction(() => {
      const uuids = (
        this.db
          .prepare('SELECT uuid FROM files WHERE product_ref = ? ORDER BY product_position, id')
          .all(ref) as Array<{ uuid: string }>
      ).map((r) => r.uuid);
      if (uuids.length === 0) throw productNotFound(ref);
      if (newRef === ref) return uuids;
      if (this.db.prepare('SELECT 1 FROM files WHERE product_ref = ? LIMIT 1').get(newRef)) {
        throw conflict(
          'E801_ALREADY_EXIST',
          `The product reference ${JSON.stringify(newRef)} is already used by other assets.`,
          'Pick a reference no asset has, or move the assets one by one with PUT /v4/file/{uuid}/product.',
        );
      }
      this.db
        .prepare('UPDATE files SET product_ref = ?, modified_at = ? WHERE product_ref = ?')
        .run(newRef, now(), ref);
      return uuids;
    });
  }

  list(query: ProductQuery): { products: ProductSummary[]; total: number } {
    let where = 'product_ref IS NOT NULL';
    const params: unknown[] = [];
    if (query.match) {
      const text = escapeLike(query.match.text);
      if (query.match.mode === 'exact') {
        where += ' AND product_ref = ?';
        params.push(query.match.text);
      } else {
        where += ` AND product_ref LIKE ? ESCAPE '\\'`;
        params.push(query.match.mode === 'prefix' ? `${text}%` : `%${text}%`);
      }
    }
    const total = (
      this.db.prepare(`SELECT count(DISTINCT product_ref) AS n FROM files WHERE ${where}`).get(...params) as {
        n: number;
      }
    ).n;
    const products = this.db
      .prepare(
        `SELECT product_ref AS ref, count(*) AS count_assets, sum(type LIKE 'image/%') AS count_images
         FROM files WHERE ${where} GROUP BY product_ref ORDER BY product_ref LIMIT ? OFFSET ?`,
      )
      .all(...params, query.limit, query.offset) as ProductSummary[];
    return { products, total };
  }

  /** The product's files by position; `imagesOnly` keeps image/* types. */
  files(ref: string, imagesOnly: boolean): FileWithFolder[] {
    const files = this.db
      .prepare(`${FILE_SELECT} WHERE f.product_ref = ? ORDER BY f.product_position, f.id`)
      .all(ref) as FileWithFolder[];
    if (files.length === 0) throw productNotFound(ref);
    return imagesOnly ? files.filter((f) => f.type.startsWith('image/')) : files;
  }
}
