// Bundles the console's browser code (browser/*.ts) and copies its stylesheet into dist/static,
// which the console serves at /ui/static. Run by the root prepare/build/test scripts, so `npm ci`
// leaves a working console; esbuild does no type checking (tsc -b checks browser/ through its tsconfig).
import { build } from 'esbuild';
import { copyFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist/static');
/** One bundle per page that needs browser code, plus common.js on every page. */
const ENTRIES = ['common', 'assets', 'flow-editor', 'run-live'];

await mkdir(out, { recursive: true });
await build({
  entryPoints: ENTRIES.map((name) => join(root, 'browser', `${name}.ts`)),
  outdir: out,
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  logLevel: 'warning',
});
await copyFile(join(root, 'browser/console.css'), join(out, 'console.css'));
