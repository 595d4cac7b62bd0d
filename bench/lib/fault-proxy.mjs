#!/usr/bin/env node
// A fault-injecting HTTP proxy for the faults-1pct workload, run as its own process so its CPU
// and memory are not charged to the client being measured:
//
//   node bench/lib/fault-proxy.mjs --target http://127.0.0.1:PORT --rate 0.01 --seed 1
//
// Prints `listening on http://127.0.0.1:PORT`; on SIGTERM prints one JSON line of counts per fault
// and exits. Each request draws from a seeded xorshift32 stream (same seed, same sequence of
// faults), and RATE is split evenly over four faults: the two 5xx and the two resets, each either
// before the server sees the request or after it has fully handled it (the write landed, the client
// is told otherwise). The same model as packages/client/test/fault-proxy.ts, plus real TCP resets.

import { createServer, request as httpRequest } from 'node:http';
import { parseArgs } from 'node:util';

const FAULTS = ['unavailable', 'reset-early', 'unavailable-after', 'reset-after'];

const { values } = parseArgs({ options: { target: { type: 'string' }, rate: { type: 'string', default: '0.01' }, seed: { type: 'string', default: '1' } } });
const target = new URL(values.target ?? '');
const rate = Number(values.rate);
let state = Number(values.seed) >>> 0 || 1;
const random = () => {
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return (state >>> 0) / 2 ** 32;
};

const counts = { requests: 0, pass: 0, ...Object.fromEntries(FAULTS.map((f) => [f, 0])) };
const pick = () => {
  const draw = random();
  return draw < rate ? FAULTS[Math.min(FAULTS.length - 1, Math.floor((draw / rate) * FAULTS.length))] : 'pass';
};

// A TCP RST rather than a clean close: what a crashed middlebox or load balancer does.
const reset = (req) => (req.socket.resetAndDestroy ? req.socket.resetAndDestroy() : req.socket.destroy());
const unavailable = (res, msg) => res.writeHead(503, { 'content-type': 'application/json', connection: 'close' }).end(JSON.stringify({ status: 'error', code: 'UNAVAILABLE', msg }));

function forward(req, onResponse, onError) {
  const upstream = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, onResponse);
  upstream.on('error', onError);
  req.pipe(upstream);
}

const server = createServer((req, res) => {
  const fault = pick();
  counts.requests++;
  counts[fault]++;
  switch (fault) {
    case 'unavailable':
      req.resume();
      req.on('end', () => unavailable(res, 'injected: try later'));
      return;
    case 'reset-early':
      // Let part of the body arrive first, so the client is mid-send when the connection goes.
      req.once('data', () => reset(req));
      req.once('end', () => reset(req));
      return;
    case 'unavailable-after':
    case 'reset-after':
      forward(
        req,
        (upstream) => {
          upstream.resume();
          upstream.on('end', () => (fault === 'reset-after' ? reset(req) : unavailable(res, 'injected: gateway lost the reply')));
        },
        () => reset(req),
      );
      return;
    default:
      forward(
        req,
        (upstream) => {
          res.writeHead(upstream.statusCode ?? 502, upstream.headers);
          upstream.pipe(res);
        },
        () => reset(req),
      );
  }
});

server.listen(0, '127.0.0.1', () => process.stdout.write(`listening on http://127.0.0.1:${server.address().port}\n`));
process.once('SIGTERM', () => {
  process.stdout.write(`${JSON.stringify(counts)}\n`);
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
