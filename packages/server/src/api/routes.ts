import { cdnRoutes } from '../cdn/delivery.js';
import type { RouteSpec } from '../http/route.js';
import { accessRoutes } from './access-routes.js';
import { airboxRoutes } from './airbox-routes.js';
import { approvalRoutes } from './approval-routes.js';
import { browseRoutes } from './browse-routes.js';
import { bulkRoutes } from './bulk-routes.js';
import { collectionRoutes } from './collection-routes.js';
import { fileRoutes } from './file-routes.js';
import { folderRoutes } from './folder-routes.js';
import { inferredRoutes } from './inferred-routes.js';
import { labelRoutes } from './label-routes.js';
import { productRoutes } from './product-routes.js';
import { settingsRoutes } from './settings-routes.js';
import { shareRoutes } from './share-routes.js';
import { tagRoutes } from './tag-routes.js';
import { templateRoutes } from './template-routes.js';
import { tusRoutes } from './tus-routes.js';
import { webhookRoutes } from './webhook-routes.js';

/** Every route the server serves; tests enumerate this table for the permission matrix. */
export const ROUTES: readonly RouteSpec[] = [
  ...fileRoutes,
  ...folderRoutes,
  ...tagRoutes,
  ...productRoutes,
  ...labelRoutes,
  ...bulkRoutes,
  ...browseRoutes,
  ...settingsRoutes,
  ...collectionRoutes,
  ...shareRoutes,
  ...accessRoutes,
  ...templateRoutes,
  ...cdnRoutes,
  ...webhookRoutes,
  ...inferredRoutes,
  ...approvalRoutes,
  ...airboxRoutes,
  ...tusRoutes,
];
