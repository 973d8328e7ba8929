/**
 * What only the local backend has: the doctor, the message without bubblewrap, overlay layers on disk and
 * deleteSnapshot, the sandbox directory and its cgroups. The shared contract runs in contract-local.test.ts.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { LocalSandboxProvider, SandboxUnavailableError, sandboxDoctor } from '../../src/sandbox/local.js';
import { cleanup, isolatedSkipReason, makeBase, tempDir, treeChecksum } from './helpers.js';

const skip = await isolatedSkipReason();
let stateDir = '';
let base = '';
let provider: LocalSandboxProvider;

before(async () => {
  stateDir = await tempDir('state');
  base = await makeBase({ 'a.txt': 'alpha\n', 'src/lib.py': 'X = 1\n', '.git/HEAD': 'ref: refs/heads/main\n', 'keep/k.txt': 'k\n' });
  provider = new LocalSandboxProvider({ stateDir, isolation: 'bwrap', defaults: { timeoutMs: 30_000 } });
});
after(async () => cleanup(stateDir, path.dirname(base)));

test('doctor finds every piece working on this machine', { skip }, async () => {
  const d = await sandboxDoctor();
  assert.deepEqual(d, { bwrap: true, overlay: true, cgroups: true, cpuTime: true, problems: [] });
});

test('snapshot layers: one per snapshot, stacked, kept after dispose, deleted only when nothing reads them', { skip }, async () => {
  const baseSum = await treeChecksum(base);
  const snapDir = path.join(stateDir, 'layers');
  const a = await provider.create({ base });
  let snap;
  try {
    assert.equal((await a.exec('echo buggy > src/lib.py && rm a.txt')).exitCode, 0);
    snap = await a.snapshot();
    assert.equal(snap.backend, 'local');
    assert.equal(snap.layers.length, 1);
  } finally {
    await a.dispose();
  }
  assert.ok(existsSync(path.join(snapDir, snap.layers[0]!)), 'dispose keeps snapshot layers');

  const b = await provider.create(snap);
  const c = await provider.create(snap);
  try {
    assert.equal((await b.exec('echo b > src/lib.py')).exitCode, 0);
    // A snapshot of a sandbox started from a snapshot stacks one more layer.
    const snap2 = await b.snapshot();
    assert.equal(snap2.layers.length, 2);
    assert.equal(snap2.layers[1], snap.layers[0]);
    const d = await provider.create(snap2);
    try {
      assert.equal((await d.exec('cat src/lib.py')).stdout, 'b\n');
      await assert.rejects(provider.deleteSnapshot(snap2), /in use/);
    } finally {
      await d.dispose();
    }
    await assert.rejects(provider.deleteSnapshot(snap), /in use by sandbox/);
    await b.dispose();
    await c.dispose();
    // Nothing reads the first layer now except the snapshot stacked on it.
    await assert.rejects(provider.deleteSnapshot(snap), /later snapshot/);
    await provider.deleteSnapshot(snap2);
    assert.equal(existsSync(path.join(snapDir, snap2.layers[0]!)), false);
    assert.equal(existsSync(path.join(snapDir, snap.layers[0]!)), true);
  } finally {
    await b.dispose();
    await c.dispose();
  }
  await provider.deleteSnapshot(snap);
  assert.equal(existsSync(path.join(snapDir, snap.layers[0]!)), false);
  assert.equal(await treeChecksum(base), baseSum);
});

test('dispose removes the sandbox directory and its cgroups', { skip }, async () => {
  const sb = await provider.create({ base });
  await sb.exec('echo x > x');
  const dir = path.join(stateDir, 'sandboxes', sb.id);
  assert.ok(existsSync(dir));
  await sb.dispose();
  assert.equal(existsSync(dir), false);
  assert.equal(existsSync(`/sys/fs/cgroup/pids/ssr/${sb.id}.1`), false);
});

test('without bubblewrap, creating an isolated sandbox says how to fix it', async () => {
  const dir = await tempDir('nobwrap');
  try {
    const p = new LocalSandboxProvider({ stateDir: dir, isolation: 'bwrap', bwrapPath: '/nonexistent/bwrap' });
    await assert.rejects(p.create({ base: dir }), (e: Error) => {
      assert.ok(e instanceof SandboxUnavailableError);
      assert.match(e.message, /apt-get install bubblewrap/);
      assert.match(e.message, /--no-isolation/);
      return true;
    });
  } finally {
    await cleanup(dir);
  }
});
