// Preloaded with `node --import` by tests: every module URL the process resolves through the ESM
// loader is appended, one a line, to the file named by SFX_TEST_IMPORTS_FILE.
import { register } from 'node:module';

register(new URL('./record-imports-hooks.mjs', import.meta.url), { data: { file: process.env.SFX_TEST_IMPORTS_FILE } });
