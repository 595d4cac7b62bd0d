import { cdnRoutes } from '../cdn/delivery.js';
import type { RouteSpec } from '../http/route.js';
import { accessRoutes } from './access-routes.js';
import { fileRoutes } from './file-routes.js';
import { folderRoutes } from './folder-routes.js';
import { tagRoutes } from './tag-routes.js';

/** Every route the server serves; tests enumerate this table for the permission matrix. */
export const ROUTES: readonly RouteSpec[] = [...fileRoutes, ...folderRoutes, ...tagRoutes, ...accessRoutes, ...cdnRoutes];
