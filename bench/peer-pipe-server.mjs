#!/usr/bin/env node
// Peer for bench/upload-memory.mjs: the plainest Node HTTP server that stores an upload, piping
// the request body straight to a file (no hashing, no parsing, no database). Its memory and
// throughput are what "streaming an upload to disk with Node" costs at the least.
//
//   node bench/peer-pipe-server.mjs DIR   ->  prints "peer listening on http://127.0.0.1:PORT"
//
// Any PUT or POST stores its body as DIR/peer-<n>.bin and answers {"status":"success","bytes":N}.

import { createWriteStream } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';

const dir = process.argv[2];
if (!dir) {
  process.stderr.write('usage: node bench/peer-pipe-server.mjs DIR\n');
  process.exit(2);
}

let count = 0;
const server = createServer((req, res) => {
  if (req.method !== 'PUT' && req.method !== 'POST') {
    res.writeHead(405).end();
    return;
  }
  let bytes = 0;
  req.on('data', (chunk) => {
    bytes += chunk.length;
  });
  const path = join(dir, `peer-${++count}.bin`);
  pipeline(req, createWriteStream(path)).then(
    () => {
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ status: 'success', bytes, path }));
    },
    (error) => {
      res
        .writeHead(500, { 'content-type': 'application/json' })
        .end(JSON.stringify({ status: 'error', msg: String(error) }));
    },
  );
});
server.requestTimeout = 0;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`peer listening on http://127.0.0.1:${server.address().port}\n`);
});
const stop = () => server.close(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
