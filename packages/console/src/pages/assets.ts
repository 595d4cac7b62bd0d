import type { ConsolePage } from '../context.js';
import { html } from '../html.js';
import { sendPage } from '../layout.js';

export const assetsPage: ConsolePage = (ui, ctx) => {
  ui.get('/assets', async (request, reply) => {
    const connections = await ctx.options.connections.list();
    const body = connections.length
      ? html`<h1>Assets</h1><p>Connection: ${(connections.find((c) => c.isDefault) ?? connections[0])!.name}</p>`
      : html`<h1>Assets</h1><div class="empty"><p>No connection yet, so there are no assets to show.</p><p>Add one on the <a href="/ui/connections">Connections</a> page, or from a terminal: <code>sfx connection add</code>.</p></div>`;
    return sendPage(reply, request, { title: 'Assets', nav: 'assets', body });
  });
};
