/**
 * The console's page frame. How to add a page (C2: Connections, Flows, Runs):
 *
 *   // src/pages/flows.ts
 *   export const flowsPages: ConsolePage = (ui, ctx) => {
 *     ui.get('/flows', async (request, reply) =>
 *       sendPage(reply, request, { title: 'Flows', nav: 'flows', body: html`<h1>Flows</h1>...` }));
 *     ui.post('/flows/:name/run', async (request, reply) => sendFragment(reply, html`...`));
 *   };
 *   // then add it to PAGES in src/app.ts.
 *
 * - `ui` is the fastify instance mounted at /ui: routes are written without the /ui prefix, every
 *   route already requires a logged-in session (see auth.ts) and every non-GET request a CSRF token.
 * - Render with `html` (src/html.ts): every interpolated value is escaped.
 * - CSRF: htmx requests send it by themselves (the body carries `hx-headers` with X-CSRF-Token);
 *   a plain <form method="post"> includes `${csrfField(request)}`; browser code reads
 *   `<meta name="csrf-token">` (see browser/common.ts `csrfHeaders()`).
 * - A page's own browser bundle: put `browser/<name>.ts`, list it in scripts/build-browser.mjs and
 *   pass `scripts: ['<name>.js']`. No inline scripts or styles: the CSP forbids them.
 * - Links inside the console are absolute (`/ui/...`).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { html, type Html } from './html.js';
import { sessionOf } from './auth.js';

export type NavId = 'assets' | 'connections' | 'flows' | 'runs';

export const NAV: ReadonlyArray<{ id: NavId; label: string; href: string }> = [
  { id: 'assets', label: 'Assets', href: '/ui/assets' },
  { id: 'connections', label: 'Connections', href: '/ui/connections' },
  { id: 'flows', label: 'Flows', href: '/ui/flows' },
  { id: 'runs', label: 'Runs', href: '/ui/runs' },
];

export interface PageSpec {
  title: string;
  nav?: NavId;
  body: Html;
  /** Bundles from dist/static to load as modules, e.g. ['assets.js']. */
  scripts?: string[];
  status?: number;
}

/** The hidden field a plain HTML form posts the CSRF token in. */
export function csrfField(request: FastifyRequest): Html {
  return html`<input type="hidden" name="_csrf" value="${sessionOf(request).csrf}">`;
}

export function sendPage(reply: FastifyReply, request: FastifyRequest, spec: PageSpec): FastifyReply {
  const session = sessionOf(request);
  return reply
    .code(spec.status ?? 200)
    .type('text/html; charset=utf-8')
    .send(
      document(
        spec.title,
        html`<a class="skip" href="#main">Skip to content</a>
<header class="top">
  <a class="brand" href="/ui/">sfx console</a>
  <nav aria-label="Main">
    <ul>${NAV.map(
      (item) =>
        html`<li><a href="${item.href}"${item.id === spec.nav ? html` aria-current="page"` : ''}>${item.label}</a></li>`,
    )}</ul>
  </nav>
  <form class="logout" method="post" action="/ui/logout">${csrfField(request)}<button type="submit">Log out</button></form>
</header>
<main id="main" tabindex="-1">${spec.body}</main>`,
        { csrf: session.csrf, scripts: spec.scripts ?? [] },
      ).text,
    );
}

/** A piece of a page for htmx to swap in. */
export function sendFragment(reply: FastifyReply, fragment: Html, status = 200): FastifyReply {
  return reply.code(status).type('text/html; charset=utf-8').send(fragment.text);
}

/** The whole HTML document; `csrf` is absent on the login page. */
export function document(title: string, body: Html, options: { csrf?: string; scripts?: string[] } = {}): Html {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · sfx console</title>
<!-- htmx settles no style attribute (the CSP forbids inline styles) and never evals. -->
<meta name="htmx-config" content='{"includeIndicatorStyles":false,"allowEval":false,"allowScriptTags":false,"attributesToSettle":["class","width","height"]}'>
${options.csrf ? html`<meta name="csrf-token" content="${options.csrf}">` : ''}
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/ui/static/console.css">
<script src="/ui/static/htmx.min.js" defer></script>
<script type="module" src="/ui/static/common.js"></script>
${(options.scripts ?? []).map((s) => html`<script type="module" src="/ui/static/${s}"></script>`)}
</head>
<body${options.csrf ? html` hx-headers="${JSON.stringify({ 'X-CSRF-Token': options.csrf })}"` : ''}>
${body}
</body>
</html>
`;
}
