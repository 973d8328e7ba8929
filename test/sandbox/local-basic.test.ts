import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { LocalSandboxProvider, SandboxPathError, SandboxUnavailableError, sandboxDoctor } from '../../src/sandbox/local.js';
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
  assert.deepEqual(d, { bwrap: true, overlay: true, cgroups: true, problems: [] });
});

test('exec: stdout and stderr apart, exit codes, stdin, env, cwd', { skip }, async () => {
  const sb = await provider.create({ base });
  try {
    assert.equal(sb.workdir, '/sandbox/repo');
    const r = await sb.exec('echo out; echo err >&2; exit 7');
    assert.equal(r.stdout, 'out\n');
    assert.equal(r.stderr, 'err\n');
    assert.equal(r.exitCode, 7);
    assert.equal(r.signal, null);
    assert.equal(r.killed, null);
    assert.equal(r.truncated, false);
    assert.ok(r.durationMs >= 0);

    assert.equal((await sb.exec('cat a.txt')).stdout, 'alpha\n');
    assert.equal((await sb.exec('tr a-z A-Z', { stdin: 'hello' })).stdout, 'HELLO');
    // The environment is fixed: nothing of the host's leaks in, options.env is added.
    process.env.SSR_SECRET_TEST = 'leak';
    const env = await sb.exec('echo "$FOO|$HOME|$LANG|${SSR_SECRET_TEST:-none}"', { env: { FOO: 'bar' } });
    assert.equal(env.stdout, 'bar|/tmp|C.UTF-8|none\n');
    assert.equal((await sb.exec('pwd', { cwd: 'src' })).stdout, '/sandbox/repo/src\n');
    assert.equal((await sb.exec('pwd', { cwd: '/sandbox/repo/keep' })).stdout, '/sandbox/repo/keep\n');
    const missing = await sb.exec('pwd', { cwd: 'nope' });
    assert.notEqual(missing.exitCode, 0);
    await assert.rejects(sb.exec('pwd', { cwd: '../..' }), SandboxPathError);
    // A signal-killed command reports the shell convention (128 + signal): the pid-1 reaper passes it on.
    assert.equal((await sb.exec('kill -TERM $$')).exitCode, 143);
  } finally {
    await sb.dispose();
  }
});

test('writes persist across execs; sandboxes over one base are independent; the base never changes', { skip }, async () => {
  const before = await treeChecksum(base);
  const a = await provider.create({ base });
  const b = await provider.create({ base });
  try {
    assert.equal((await a.exec('echo one > new.txt && echo changed > a.txt && rm src/lib.py && mkdir -p d/e && echo z > d/e/z')).exitCode, 0);
    assert.equal((await a.exec('cat new.txt a.txt d/e/z; test -e src/lib.py || echo gone')).stdout, 'one\nchanged\nz\ngone\n');
    const inB = await b.exec('test -e new.txt && echo yes || echo no; cat a.txt src/lib.py');
    assert.equal(inB.stdout, 'no\nalpha\nX = 1\n');
    assert.equal((await b.exec('echo b > b-only.txt')).exitCode, 0);
    assert.notEqual((await a.exec('cat b-only.txt')).exitCode, 0);
  } finally {
    await a.dispose();
    await b.dispose();
  }
  assert.equal(await treeChecksum(base), before);
});

test('readFile and writeFile stay inside the work directory', { skip }, async () => {
  const sb = await provider.create({ base });
  try {
    assert.equal((await sb.readFile('a.txt')).toString(), 'alpha\n');
    const bin = Buffer.from([0, 1, 2, 255, 254, 10, 13, 0]);
    await sb.writeFile('deep/er/bin.dat', bin);
    assert.deepEqual(await sb.readFile('deep/er/bin.dat'), bin);
    assert.equal((await sb.exec('wc -c < deep/er/bin.dat')).stdout.trim(), '8');
    await sb.writeFile('a.txt', 'overwritten');
    assert.equal((await sb.exec('cat a.txt')).stdout, 'overwritten');

    await assert.rejects(sb.readFile('../../etc/passwd'), SandboxPathError);
    await assert.rejects(sb.readFile('/etc/passwd'), SandboxPathError);
    await assert.rejects(sb.writeFile('../x', 'x'), SandboxPathError);
    await assert.rejects(sb.readFile('missing.txt'), (e: NodeJS.ErrnoException) => e.code === 'ENOENT');
    await assert.rejects(sb.readFile('src'), (e: NodeJS.ErrnoException) => e.code === 'EISDIR');
    // Symlinks that lead out are refused both ways, even though the outside is itself sandboxed.
    assert.equal((await sb.exec('ln -s /etc/passwd pw && ln -s /tmp out && ln -s a.txt inside')).exitCode, 0);
    await assert.rejects(sb.readFile('pw'), SandboxPathError);
    await assert.rejects(sb.writeFile('out/x', 'x'), SandboxPathError);
    assert.equal((await sb.exec('ls -A /tmp')).stdout.includes('x'), false);
    assert.equal((await sb.readFile('inside')).toString(), 'overwritten');
  } finally {
    await sb.dispose();
  }
});

test('snapshot: later sandboxes see the frozen changes and deletions, and stay independent', { skip }, async () => {
  const baseSum = await treeChecksum(base);
  const a = await provider.create({ base });
  const snapDir = path.join(stateDir, 'layers');
  let snap;
  try {
    assert.equal((await a.exec('echo buggy > src/lib.py && echo n > n.txt && rm a.txt && rm -rf .git keep')).exitCode, 0);
    snap = await a.snapshot();
    assert.equal(snap.backend, 'local');
    assert.equal(snap.layers.length, 1);
    // The sandbox goes on after the snapshot; its later changes are not part of the snapshot.
    assert.equal((await a.exec('cat src/lib.py && echo after > after.txt')).stdout, 'buggy\n');
  } finally {
    await a.dispose();
  }
  assert.ok(existsSync(path.join(snapDir, snap.layers[0]!)), 'dispose keeps snapshot layers');

  const b = await provider.create(snap);
  const c = await provider.create(snap);
  try {
    for (const sb of [b, c]) {
      const r = await sb.exec('cat src/lib.py n.txt; for f in a.txt .git keep after.txt; do test -e $f && echo "has $f"; done; true');
      assert.equal(r.stdout, 'buggy\nn\n');
    }
    assert.equal((await b.exec('echo b > src/lib.py && echo again > a.txt')).exitCode, 0);
    assert.equal((await c.exec('cat src/lib.py; test -e a.txt || echo no-a')).stdout, 'buggy\nno-a\n');

    // A snapshot of a sandbox started from a snapshot stacks one more layer.
    const snap2 = await b.snapshot();
    assert.equal(snap2.layers.length, 2);
    assert.equal(snap2.layers[1], snap.layers[0]);
    const d = await provider.create(snap2);
    try {
      assert.equal((await d.exec('cat src/lib.py a.txt n.txt')).stdout, 'b\nagain\nn\n');
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

test('dispose removes the sandbox directory and its cgroups; a disposed sandbox refuses work', { skip }, async () => {
  const sb = await provider.create({ base });
  await sb.exec('echo x > x');
  const dir = path.join(stateDir, 'sandboxes', sb.id);
  assert.ok(existsSync(dir));
  await sb.dispose();
  assert.equal(existsSync(dir), false);
  assert.equal(existsSync(`/sys/fs/cgroup/pids/ssr/${sb.id}.1`), false);
  await assert.rejects(sb.exec('true'), /disposed/);
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
