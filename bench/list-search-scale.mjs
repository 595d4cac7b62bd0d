// list-1Mx / search-1Mx: inserts N synthetic assets straight into the metadata store (no HTTP, no blobs)
// and times the listing and search queries the API runs. Usage: node bench/list-search-scale.mjs [N=1000000]
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
const time = (label, fn) => { const t0 = process.hrtime.bigint(); const r = fn(); console.log(label, Number(process.hrtime.bigint() - t0) / 1e6, 'ms', r); };
time('list root recursive first page (limit 100)', () => store.listFiles({ folder: '/', recursive: true, orderBy: 'f.created_at DESC, f.id DESC', limit: 100, offset: 0 }).total);
time('list one folder, offset 9000', () => store.listFiles({ folder: '/cat/f7', recursive: false, orderBy: 'f.created_at DESC, f.id DESC', limit: 100, offset: 9000 }).files.length);
time('list /cat recursive', () => store.listFiles({ folder: '/cat', recursive: true, orderBy: 'f.created_at DESC, f.id DESC', limit: 100, offset: 0 }).total);
for (const q of ['#summer', 'color:red', 'sku:SKU-424242', '"asset-77777"', 'size>500000']) {
  const w = compileSearch(q);
  time(`search ${q}`, () => store.listFiles({ folder: '/', recursive: true, where: { sql: w.where, params: w.params }, orderBy: 'f.created_at DESC, f.id DESC', limit: 100, offset: 0 }).total);
}
time('folder counts /', () => store.folderCounts(store.root()));
db.close();
rmSync(dirname(file), { recursive: true, force: true });
