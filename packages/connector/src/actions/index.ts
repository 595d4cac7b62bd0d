import type { Action } from '../action.js';
import { accessActions } from './access.js';
import { airboxActions } from './airboxes.js';
import { approvalActions } from './approvals.js';
import { bulkActions } from './bulk.js';
import { collectionActions } from './collections.js';
import { deliveryActions } from './delivery.js';
import { fileChangeActions } from './file-changes.js';
import { fileActions } from './files.js';
import { folderActions } from './folders.js';
import { labelActions } from './labels.js';
import { metaActions } from './meta.js';
import { productActions } from './products.js';
import { rawActions } from './raw.js';
import { settingsActions } from './settings.js';
import { shareActions } from './shares.js';
import { tagActions } from './tags.js';
import { taskActions } from './tasks.js';
import { webhookActions } from './webhooks.js';

/** Every action, in catalogue order: API operations by resource, then task-level actions. */
export const ACTIONS: readonly Action[] = [
  ...fileActions,
  ...fileChangeActions,
  ...metaActions,
  ...tagActions,
  ...labelActions,
  ...bulkActions,
  ...folderActions,
  ...productActions,
  ...collectionActions,
  ...shareActions,
  ...approvalActions,
  ...airboxActions,
  ...settingsActions,
  ...accessActions,
  ...webhookActions,
  ...taskActions,
  ...deliveryActions,
  ...rawActions,
] as readonly Action[];

const byId = new Map(ACTIONS.map((action) => [action.id, action]));
if (byId.size !== ACTIONS.length) throw new Error('two actions share an id');

/** The action with this id; throws naming the closest ids when there is none. */
export function getAction(id: string): Action {
  const action = byId.get(id);
  if (action) return action;
  const near = ACTIONS.map((a) => a.id).filter((known) => known.includes(id) || id.includes(known.split('.').pop()!));
  throw new RangeError(`No action "${id}".${near.length ? ` Did you mean ${near.slice(0, 5).join(', ')}?` : ''}`);
}
