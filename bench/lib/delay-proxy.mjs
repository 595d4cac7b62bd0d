// A proxy that forwards every request after a fixed delay, streaming both ways: a DAM that is
// slow per request, so that spreading work over workers shows on a 2-core machine. Used by the
// scale-out benchmark and by the CLI's scale-out tests (which also read the arrival times).
import { createServer, request as httpRequest } from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout } from 'node:timers';

/** Forwards every request to `target` after `delayMs`; `requests` lists each arrival in order. */
export async function startDelayProxy(target, delayMs) {
  const upstream = new URL(target);
  const requests = [];
  const server = createServer((req, res) => {
    requests.push({ at: performance.now(), method: req.method ?? 'GET', path: req.url ?? '/' });
    req.pause();
    setTimeout(() => {
      const out = httpRequest({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (reply) => {
        res.writeHead(reply.statusCode ?? 502, reply.headers);
        reply.pipe(res);
      });
      out.on('error', () => {
        if (!res.headersSent) res.writeHead(502);
        res.end();
      });
      req.pipe(out);
      req.resume();
    }, delayMs);
  });
  server.keepAliveTimeout = 30_000;
  await new Promise((done) => server.listen(0, '127.0.0.1', done));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    requests,
    close: () =>
      new Promise((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}
