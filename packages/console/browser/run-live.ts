// The live run view: while a run runs in this process, its page follows it over server-sent
// events. Each `update` carries the run's body as HTML rendered (and escaped) by the server.

interface HtmxLike {
  process(element: Element): void;
}

function follow(region: HTMLElement, url: string): void {
  const source = new EventSource(url);
  source.addEventListener('update', (event) => {
    // Keep keyboard focus where it was when the part holding it is replaced.
    const focusedId = document.activeElement instanceof HTMLElement ? document.activeElement.id : '';
    region.innerHTML = (event as MessageEvent<string>).data;
    (window as unknown as { htmx?: HtmxLike }).htmx?.process(region);
    if (focusedId) document.getElementById(focusedId)?.focus();
  });
  source.addEventListener('end', (event) => {
    source.close();
    region.dataset.runLive = '';
    region.dataset.ended = (event as MessageEvent<string>).data;
    // The body is replaced at each update; this region stays, so screen readers hear the end.
    const status = document.getElementById('run-status');
    if (status) status.textContent = `The run ended: ${(event as MessageEvent<string>).data}.`;
  });
  // A dropped connection is retried by EventSource itself; a run gone from this process ends it.
  source.addEventListener('error', () => {
    if (source.readyState === EventSource.CLOSED) region.dataset.runLive = '';
  });
}

for (const region of document.querySelectorAll<HTMLElement>('[data-run-live]')) {
  const url = region.dataset.runLive;
  if (url) follow(region, url);
}
