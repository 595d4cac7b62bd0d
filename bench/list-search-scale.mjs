// list-1Mx / search-1Mx: inserts N synthetic assets straight into the metadata store (no HTTP, no blobs)
// and times the listing and search queries the API runs. Usage: node bench/list-search-scale.mjs [N=1000000]
// Each query row is the median of 3 runs (the first run's time is printed too), so a busy machine
// shows as spread rather than as one unlucky figure.
import { openDatabase } from '../packages/server/dist/store/database.js';
import { MetadataStore } from '../packages/server/dist/store/metadata-store.js';
import { compileSearch } from '../packages/server/dist/search/query.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
const N = Number(process.argv[2] ?? 1_000_000);
const file = join(mkdtempSync(join(tmpdir(), 'sfx-scale-')), 'm.sqlite');
const db = openDatabase(file, 'relaxed');
const store = new MetadataStore(db);
let t = Date.now();
const folders = Array.from({ length: 100 }, (_, i) => store.ensureFolder(`/cat/f${i}`));
db.transaction(() => {
  for (let i = 0; i < N; i++) {
    store.insertFile({ folderId: folders[i % 100].id, name: `asset-${i}.jpg`, extension: 'jpg', type: 'image/jpeg', size: 1000 + i, sha1: (i).toString(16).padStart(40, '0'), blobId: `b${i}`,
      meta: { sku: `SKU-${i}`, color: ['red', 'blue', 'green'][i % 3] }, tags: i % 10 === 0 ? { en: [{ sid: '#tgx', label: 'summer' }] } : {}, info: {} });
  }
})();
console.log(`insert ${N}: ${Date.now() - t} ms`);
const time = (label, fn) => {
  const runs = [];
  let result;
  for (let i = 0; i < 3; i++) {
    const t0 = process.hrtime.bigint();
    result = fn();
    runs.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const median = [...runs].sort((a, b) => a - b)[1];
  console.log(`${label.padEnd(44)} ${median.toFixed(1).padStart(8)} ms  (first ${runs[0].toFixed(1)})  ${JSON.stringify(result)}`);
};
const page = (options) => store.listFiles({ orderBy: 'f.created_at DESC, f.id DESC', limit: 100, offset: 0, ...options });
time('list root recursive first page (limit 100)', () => page({ folder: '/', recursive: true }).total);
time('list one folder, offset 9000', () => page({ folder: '/cat/f7', recursive: false, offset: 9000 }).files.length);
time('list /cat recursive', () => page({ folder: '/cat', recursive: true }).total);
time('list /cat/f7 recursive (small subtree)', () => page({ folder: '/cat/f7', recursive: true }).total);
time('list root recursive by name', () => page({ folder: '/', recursive: true, orderBy: 'f.name ASC, f.id ASC' }).total);
for (const q of ['#summer', 'color:red', 'sku:SKU-424242', '"asset-77777"', 'size>500000']) {
  const w = compileSearch(q);
  time(`search ${q}`, () => page({ folder: '/', recursive: true, where: { sql: w.where, params: w.params } }).total);
}
const red = compileSearch('color:red');
time('search color:red in one folder', () => page({ folder: '/cat/f7', recursive: false, where: { sql: red.where, params: red.params } }).total);
time('folder counts /', () => store.folderCounts(store.root()).filesRecursive);
time('folder listing /cat with counts (100)', () => {
  const listed = store.listFolders({ folder: '/cat', recursive: false, orderBy: 'name ASC', limit: 1000, offset: 0 }).folders;
  // Builds without folderCountsMany counted folder by folder; the fallback lets this script measure them too.
  return store.folderCountsMany ? store.folderCountsMany(listed).size : listed.map((f) => store.folderCounts(f)).length;
});
db.close();
rmSync(dirname(file), { recursive: true, force: true });
