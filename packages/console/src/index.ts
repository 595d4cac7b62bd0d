export { registerConsole, PAGES, type RegisteredConsole } from './app.js';
export type { ConsoleOptions, ConsoleConnections, ConsoleConnectionInfo, ConsoleNewConnection } from './options.js';
export type { ConsoleContext, ConsolePage } from './context.js';
export { html, raw, escapeHtml, Html } from './html.js';
export { sendPage, sendFragment, csrfField, NAV, type NavId, type PageSpec } from './layout.js';
export { sessionOf } from './auth.js';
export { TrustedProxies } from './proxy.js';
