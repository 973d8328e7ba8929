import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { LocalSandboxProvider } from '../../src/sandbox/local.js';
import { cleanup, hostProcsWith, isolatedSkipReason, makeBase, tempDir, treeChecksum, uniqueMarker } from './helpers.js';

let stateDir = '';
let base = '';
let provider: LocalSandboxProvider;

before(async () => {
  stateDir = await tempDir('state');
  base = await makeBase({ 'a.txt': 'alpha\n', '.git/HEAD': 'x\n', 'src/m.py': 'M = 1\n' });
  provider = new LocalSandboxProvider({ stateDir, isolation: 'none', defaults: { timeoutMs: 20_000, maxOutputBytes: 100_000 } });
});
after(async () => cleanup(stateDir, path.dirname(base)));

test('unisolated: a private full copy, the same exec contract, the base untouched', async () => {
  const sum = await treeChecksum(base);
  const a = await provider.create({ base });
  const b = await provider.create({ base });
  try {
    assert.equal(a.workdir, path.join(stateDir, 'sandboxes', a.id, 'tree'));
    assert.equal(a.hostPath, a.workdir);
    const r = await a.exec('echo out; echo err >&2; cat a.txt; exit 4');
    assert.deepEqual([r.stdout, r.stderr, r.exitCode, r.killed], ['out\nalpha\n', 'err\n', 4, null]);
    assert.equal((await a.exec('cat', { stdin: 'in' })).stdout, 'in');
    // Signal deaths read as in the isolated backend (128 + n), so results do not depend on the backend.
    assert.deepEqual(await a.exec('kill -TERM $$').then((x) => [x.exitCode, x.signal]), [143, null]);
    assert.equal((await a.exec('echo "$FOO:$LANG"', { env: { FOO: 'f' } })).stdout, 'f:C.UTF-8\n');
    assert.equal((await a.exec('basename "$PWD"', { cwd: 'src' })).stdout, 'src\n');
    await a.exec('echo changed > a.txt && rm -rf .git');
    assert.equal((await b.exec('cat a.txt; test -d .git && echo git')).stdout, 'alpha\ngit\n');
    await a.writeFile('w/x.txt', 'X');
    assert.equal((await a.readFile('w/x.txt')).toString(), 'X');
    await assert.rejects(a.readFile('../../x'), /escapes/);

    const big = await a.exec('yes | head -c 10000000');
    assert.equal(big.truncated, true);
    assert.equal(big.stdout.length, 100_000);

    const m = uniqueMarker();
    const t = await a.exec(`sleep ${m} & sleep ${m}`, { timeoutMs: 1000 });
    assert.equal(t.killed, 'timeout');
    assert.deepEqual(await hostProcsWith(`sleep ${m}`), []);

    const snap = await a.snapshot();
    const c = await provider.create(snap);
    try {
      assert.equal((await c.exec('cat a.txt w/x.txt; test -e .git || echo no-git')).stdout, 'changed\nXno-git\n');
    } finally {
      await c.dispose();
    }
    await provider.deleteSnapshot(snap);
  } finally {
    await a.dispose();
    await b.dispose();
  }
  assert.equal(existsSync(path.join(stateDir, 'sandboxes', a.id)), false);
  assert.equal(await treeChecksum(base), sum);
});

test('snapshots move between the isolated and the unisolated backend', { skip: await isolatedSkipReason() }, async () => {
  const iso = new LocalSandboxProvider({ stateDir, isolation: 'bwrap' });
  const a = await iso.create({ base });
  await a.exec('echo bug > src/m.py && rm -rf .git a.txt && mkdir -p d && echo n > d/n');
  const layered = await a.snapshot();
  await a.dispose();
  // Diff layers (whiteouts, opaque dirs) become a plain tree for the unisolated backend.
  const n = await provider.create(layered);
  try {
    assert.equal((await n.exec('cat src/m.py d/n; ls -A')).stdout, 'bug\nn\nd\nsrc\n');
    await n.exec('echo more > more.txt');
    // A full-tree snapshot of the unisolated backend starts an isolated sandbox.
    const full = await n.snapshot();
    const b = await iso.create(full);
    try {
      assert.equal((await b.exec('cat src/m.py more.txt; ls -A')).stdout, 'bug\nmore\nd\nmore.txt\nsrc\n');
    } finally {
      await b.dispose();
    }
  } finally {
    await n.dispose();
  }
});
