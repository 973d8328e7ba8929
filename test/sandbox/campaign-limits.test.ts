/** A campaign's `sandbox:` limits reach every sandbox of its episodes; unset, the worker's own limits hold. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { createRuntime } from '../../src/runtime.js';
import { parseConfig } from '../../src/config/load.js';
import { sandboxes } from '../../src/episode/sandboxes.js';
import { cleanup, makeBase, tempDir } from './helpers.js';

test('sandbox.maxOutputKb of the campaign caps a command\'s output; without it the worker\'s cap applies', async () => {
  const home = await tempDir('home');
  const base = await makeBase({ 'a.txt': 'alpha\n' });
  const rt = createRuntime({ home, limits: { maxOutputBytes: 1024 * 1024 } });
  const noisy = 'head -c 100000 /dev/zero | tr "\\0" x';
  try {
    const capped = await sandboxes(rt, parseConfig({ repos: [{ path: base }], sandbox: { maxOutputKb: 16 } })).create({ base });
    try {
      const r = await capped.exec(noisy);
      assert.equal(r.truncated, true);
      assert.ok(r.stdout.length <= 16 * 1024, `at most 16 KiB kept, got ${r.stdout.length}`);
    } finally { await capped.dispose(); }
    const plain = await sandboxes(rt, parseConfig({ repos: [{ path: base }] })).create({ base });
    try {
      const r = await plain.exec(noisy);
      assert.equal(r.truncated, false);
      assert.equal(r.stdout.length, 100000);
    } finally { await plain.dispose(); }
    // A limit given for one sandbox still wins over the campaign's.
    const own = await sandboxes(rt, parseConfig({ repos: [{ path: base }], sandbox: { maxOutputKb: 16 } })).create({ base }, { maxOutputBytes: 1024 * 1024 });
    try {
      assert.equal((await own.exec(noisy)).stdout.length, 100000);
    } finally { await own.dispose(); }
  } finally {
    await cleanup(home, path.dirname(base));
  }
});
