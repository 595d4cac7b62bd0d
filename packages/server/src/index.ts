export { startServer, DEFAULT_LIMITS, type ServerOptions, type RunningServer, type LogLevel, type RootKeySource } from './server.js';
export { PERMISSIONS, isPermission, type Permission } from './auth/permissions.js';
export { ROUTES } from './api/routes.js';
export type { RouteSpec } from './http/route.js';
export type { CountryResolver } from './auth/network.js';
export type { SecurityTemplate } from './auth/sass.js';
