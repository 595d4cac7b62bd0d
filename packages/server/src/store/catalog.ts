import type { Database } from 'better-sqlite3';
import { AirboxStore } from './airboxes.js';
import { ApprovalStore } from './approvals.js';
import { BulkStore } from './bulk.js';
import { CollectionStore } from './collections.js';
import { FacetStore } from './facets.js';
import { LabelStore } from './labels.js';
import type { MetadataStore } from './metadata-store.js';
import { ProductStore } from './products.js';
import { SettingsStore } from './settings.js';
import { ShareStore } from './shares.js';

/** The stores beyond files and folders: products, labels, bulk changes, settings, collections, shares, facets. */
export interface CatalogStores {
  products: ProductStore;
  labels: LabelStore;
  bulk: BulkStore;
  settings: SettingsStore;
  collections: CollectionStore;
  shares: ShareStore;
  facets: FacetStore;
  /** Approval requests and votes (inferred endpoints). */
  approvals: ApprovalStore;
  /** Public upload links into a folder (inferred endpoints). */
  airboxes: AirboxStore;
}

export function openCatalog(db: Database, store: MetadataStore): CatalogStores {
  return {
    products: new ProductStore(db, store),
    labels: new LabelStore(db),
    bulk: new BulkStore(db),
    settings: new SettingsStore(db),
    collections: new CollectionStore(db),
    shares: new ShareStore(db),
    facets: new FacetStore(db),
    approvals: new ApprovalStore(db),
    airboxes: new AirboxStore(db),
  };
}
