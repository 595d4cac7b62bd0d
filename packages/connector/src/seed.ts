/**
 * The objects action examples refer to. The catalogue renders examples with `DOC_SEED`'s
 * placeholders; the acceptance suite seeds a local server and passes the real ids, so every
 * example is known to run. Each destructive example has an object of its own, so the order in
 * which examples run does not matter.
 */
export interface ExampleSeed {
  /** A folder holding the seeded assets, and a second one to move things into. */
  folder: { uuid: string; path: string };
  targetFolder: { uuid: string; path: string };
  /** An asset for reads and for changes that leave it in place (metadata, tags, product). */
  file: { uuid: string; name: string; sha1: string };
  /** Assets of their own for the actions that rename, move or delete them. */
  files: {
    rename: string;
    move: string;
    moveMany: string[];
    delete: string;
    deleteMany: string[];
    detach: string;
    position: string;
    /** Renamed (and its metadata set) by the legacy v4 update. */
    legacyUpdate: string;
  };
  /** Folders of their own for the actions that rename, move, delete or change them. */
  folders: { rename: string; move: string; moveMany: string[]; delete: string; meta: string; visibility: string };
  /**
   * An image at least 320×240 for the image editor (its example saves a copy) and auto-tagging
   * (inferred endpoints).
   */
  image: { uuid: string };
  /** A readable local file to upload, and a writable folder for downloads. */
  localFile: string;
  workDir: string;
  /** A URL the API can fetch for URL imports. */
  importUrl: string;
  /** A product the seeded asset belongs to, and one whose reference may be renamed. */
  product: { ref: string; renameRef: string };
  tag: { sid: string };
  label: { sid: string };
  collection: { uuid: string; deleteUuid: string };
  share: { uuid: string; deleteUuid: string };
  /**
   * Pending approval requests on the seeded asset, each listing `approver`: one to read, one to
   * vote on, one to cancel (inferred endpoints).
   */
  approval: { uuid: string; voteUuid: string; cancelUuid: string; approver: string };
  /**
   * Airboxes (inferred endpoints): one to read, update and upload into (its `puid` and `title` make
   * its public link), one to delete.
   */
  airbox: { uuid: string; deleteUuid: string; puid: string; title: string };
  key: { uuid: string; updateUuid: string; deleteUuid: string };
  template: { id: string; updateId: string; deleteId: string; exchangeId: string };
  /** A select field of the metadata model. */
  field: { uuid: string };
  /**
   * A webhook for reads and changes, a delivery in its log, one of its own to delete, and a receiver
   * URL the server accepts for new ones.
   */
  webhook: { uuid: string; deleteUuid: string; delivery: string; receiverUrl: string };
  /** A prepared, not yet committed, bulk change. */
  bulk: { uuid: string };
  /** Search expressions, each matching only the assets seeded for its bulk action. */
  search: { move: string; delete: string; meta: string };
}

const u = (n: number): string => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

/** Placeholder values for documentation: the shape of real ids, none of them real. */
export const DOC_SEED: ExampleSeed = {
  folder: { uuid: u(1), path: '/catalogue' },
  targetFolder: { uuid: u(2), path: '/archive' },
  file: { uuid: u(10), name: 'hero.jpg', sha1: 'a94a8fe5ccb19ba61c4c0873d391e987982fbbd3' },
  files: {
    rename: u(11),
    move: u(12),
    moveMany: [u(13), u(14)],
    delete: u(15),
    deleteMany: [u(16), u(17)],
    detach: u(18),
    position: u(19),
    legacyUpdate: u(120),
  },
  folders: { rename: u(20), move: u(21), moveMany: [u(22), u(23)], delete: u(24), meta: u(25), visibility: u(26) },
  image: { uuid: u(90) },
  localFile: './images/hero.jpg',
  workDir: './downloads',
  importUrl: 'https://example.com/images/hero.jpg',
  product: { ref: 'SKU-42', renameRef: 'SKU-41' },
  tag: { sid: '#tg0a1b2c' },
  label: { sid: '#lb0a1b2c' },
  collection: { uuid: u(30), deleteUuid: u(31) },
  share: { uuid: u(40), deleteUuid: u(41) },
  approval: { uuid: u(100), voteUuid: u(101), cancelUuid: u(102), approver: 'jane@example.com' },
  airbox: { uuid: u(110), deleteUuid: u(111), puid: 'k3x9p2m7qa', title: 'seeded-airbox' },
  key: { uuid: u(50), updateUuid: u(51), deleteUuid: u(52) },
  template: { id: 'SECU_0A1B2C3D4E5F', updateId: 'SECU_1A1B2C3D4E5F', deleteId: 'SECU_2A1B2C3D4E5F', exchangeId: 'SECU_3A1B2C3D4E5F' },
  field: { uuid: u(60) },
  bulk: { uuid: u(70) },
  webhook: { uuid: u(80), deleteUuid: u(81), delivery: u(82), receiverUrl: 'https://example.com/hooks/dam' },
  search: { move: '#to-archive', delete: '#expired', meta: 'category:marketing' },
};
