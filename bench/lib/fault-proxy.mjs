#!/usr/bin/env node
// A fault-injecting HTTP proxy in front of a local server: each request draws from a seeded
// xorshift32 stream (same seed, same sequence of faults, so a failing run can be replayed) and is
// passed on, or answered with one fault. Used in-process by the client's fault tests
// (packages/client/test/faults.test.ts, types in fault-proxy.d.mts) and as its own process by the
// faults-1pct workload, so its CPU and memory are not charged to the client being measured:
//
//   node bench/lib/fault-proxy.mjs --target http://127.0.0.1:PORT --rate 0.01 --seed 1
//
// The process prints `listening on http://127.0.0.1:PORT`; on SIGTERM it prints one JSON line of
// counts per fault and exits. There RATE is split evenly over four faults: the 503 and the TCP
// reset, each either before the server sees the request or after it has fully handled it (the
// write landed, the client is told otherwise).

import { createServer, request as httpRequest } from 'node:http';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

/**
 * Starts the proxy on 127.0.0.1. `shares` gives each fault's share of requests (the rest pass);
 * `drops: 'reset'` makes dropped connections TCP resets (what a crashed middlebox or load
 * balancer does) rather than the default clean close.
 */
export async function startFaultProxy(target, shares, seed = 1, { drops = 'close' } = {}) {
  const targetUrl = new URL(target);
  let state = seed >>> 0 || 1;
  const random = () => {
    // xorshift32: tiny, deterministic, good enough to spread faults.
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
  const counts = { requests: 0, pass: 0, 'rate-limit': 0, unavailable: 0, 'drop-early': 0, 'unavailable-after': 0, 'drop-after': 0 };
  const pick = () => {
    let draw = random();
    for (const [fault, share] of Object.entries(shares)) {
      if (draw < share) return fault;
      draw -= share;
    }
    return 'pass';
  };

  const drop = (req) => (drops === 'reset' && req.socket.resetAndDestroy ? req.socket.resetAndDestroy() : req.socket.destroy());
  const unavailable = (res, msg) =>
    res.writeHead(503, { 'content-type': 'application/json', connection: 'close' }).end(JSON.stringify({ status: 'error', code: 'UNAVAILABLE', msg }));

  const forward = (req, onResponse, onError) => {
    const upstream = httpRequest({ host: targetUrl.hostname, port: targetUrl.port, method: req.method, path: req.url, headers: req.headers }, onResponse);
    upstream.on('error', onError);
    req.pipe(upstream);
  };

  const server = createServer((req, res) => {
    const fault = pick();
    counts.requests++;
    counts[fault]++;
    switch (fault) {
      case 'rate-limit':
        req.resume();
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '0' }).end('{"status":"error","code":"TOO_MANY_REQUESTS","msg":"injected: slow down"}');
        return;
      case 'unavailable':
        req.resume();
        req.on('end', () => unavailable(res, 'injected: try later'));
        return;
      case 'drop-early':
        // Let part of the body arrive first, so the client is mid-send when the connection goes.
        req.once('data', () => drop(req));
        req.once('end', () => drop(req));
        return;
      case 'unavailable-after':
      case 'drop-after':
        forward(
          req,
          (upstream) => {
            upstream.resume();
            upstream.on('end', () => (fault === 'drop-after' ? drop(req) : unavailable(res, 'injected: gateway lost the reply')));
          },
          () => drop(req),
        );
        return;
      default:
        forward(
          req,
          (upstream) => {
            res.writeHead(upstream.statusCode ?? 502, upstream.headers);
            upstream.pipe(res);
          },
          () => drop(req),
        );
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    counts,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The faults-1pct process: its faults are resets, and its counts are named so. */
async function main() {
  const { values } = parseArgs({ options: { target: { type: 'string' }, rate: { type: 'string', default: '0.01' }, seed: { type: 'string', default: '1' } } });
  const rate = Number(values.rate);
  const names = { unavailable: 'unavailable', 'drop-early': 'reset-early', 'unavailable-after': 'unavailable-after', 'drop-after': 'reset-after' };
  const shares = Object.fromEntries(Object.keys(names).map((fault) => [fault, rate / 4]));
  const proxy = await startFaultProxy(values.target ?? '', shares, Number(values.seed), { drops: 'reset' });
  process.stdout.write(`listening on ${proxy.url}\n`);
  process.once('SIGTERM', () => {
    const { requests, pass } = proxy.counts;
    const report = { requests, pass, ...Object.fromEntries(Object.entries(names).map(([fault, name]) => [name, proxy.counts[fault]])) };
    process.stdout.write(`${JSON.stringify(report)}\n`);
    proxy.close().then(() => process.exit(0));
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
