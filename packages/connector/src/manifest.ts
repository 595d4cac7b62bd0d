import type { Action } from './action.js';
import { ACTIONS } from './actions/index.js';
import { ConnectionSchema, testConnection } from './connection.js';
import { TRIGGERS, type Trigger } from './triggers/index.js';
import { CONNECTOR_ID, CONNECTOR_VERSION } from './version.js';

export interface Manifest {
  id: typeof CONNECTOR_ID;
  version: string;
  title: string;
  description: string;
  connection: { schema: typeof ConnectionSchema; test: typeof testConnection };
  actions: readonly Action[];
  triggers: readonly Trigger[];
}

/** The connector as a flow runner loads it (DESIGN.md §6). */
export const manifest: Manifest = {
  id: CONNECTOR_ID,
  version: CONNECTOR_VERSION,
  title: 'Scaleflex DAM (Filerobot)',
  description:
    'Assets, folders, metadata, tags, products, labels, collections, shares, settings and access of a Scaleflex DAM (Filerobot) project.',
  connection: { schema: ConnectionSchema, test: testConnection },
  actions: ACTIONS,
  triggers: TRIGGERS,
};
