/**
 * The per-repository Go build cache (src/repo/runners/go-warm.ts over sandbox/base-warm.ts): real go, real
 * sandboxes. Go's cache is keyed by content, so the repository's own packages stay in it; what must hold is that a
 * later sandbox compiles nothing it already has, and that an edited package is compiled and tested again.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { LocalSandboxProvider } from '../../src/sandbox/local.js';
import { baseWarmDir } from '../../src/sandbox/base-warm.js';
import { warmTmpDir } from '../../src/sandbox/warm.js';
import { findExecutable } from '../../src/sandbox/bwrap.js';
import { goWarmer } from '../../src/repo/runners/go-warm.js';
import { cleanup, makeBase, tempDir } from './helpers.js';

if (!findExecutable('go')) throw new Error('go is not installed: install Go (https://go.dev/doc/install or apt-get install golang)');
const dirs: string[] = [];
let stateDir = '';
let provider: LocalSandboxProvider;

const FILES = {
  'go.mod': 'module example.com/w\n\ngo 1.21\n',
  'w.go': 'package w\n\nfunc Add(a, b int) int { return a + b }\n',
  'w_test.go': 'package w\n\nimport "testing"\n\nfunc TestAdd(t *testing.T) {\n\tif Add(1, 2) != 3 {\n\t\tt.Fatal("bad sum")\n\t}\n}\n',
  'sub/sub.go': 'package sub\n\nimport "example.com/w"\n\nfunc Twice(a int) int { return w.Add(a, a) }\n',
  'sub/sub_test.go': 'package sub\n\nimport "testing"\n\nfunc TestTwice(t *testing.T) {\n\tif Twice(2) != 4 {\n\t\tt.Fatal("bad twice")\n\t}\n}\n',
};
// -x lists every command go runs: a compile it did not need to run is not listed.
const GO_TEST = 'go test -count=1 -vet=off -x -v ./... 2>&1';

async function layers(): Promise<string[]> {
  return (await readdir(baseWarmDir(stateDir)).catch(() => [] as string[])).filter((n) => !n.includes('.building')).sort();
}

before(async () => {
  stateDir = await tempDir('state');
  dirs.push(stateDir);
  // As in production, the toolchain cache (warm.ts) is a lower layer of every /tmp, the build's too; here an empty
  // one, so the standard library is built into the repository's cache as well.
  await mkdir(warmTmpDir(stateDir), { recursive: true });
  await writeFile(path.join(warmTmpDir(stateDir), 'toolchain-marker'), 'go');
  provider = new LocalSandboxProvider({ stateDir, isolation: 'bwrap', defaults: { timeoutMs: 240_000 }, baseWarmers: [goWarmer()] });
});
after(async () => {
  await cleanup(...dirs);
});

test('a Go repository\'s packages are compiled once into its cache; an edited package is compiled and tested again', async () => {
  const base = await makeBase(FILES);
  dirs.push(path.dirname(base));
  const sb1 = await provider.create({ base });
  try {
    const built = await layers();
    assert.equal(built.length, 1, built.join(' '));
    assert.match(built[0]!, /^go-build-/);
    const r = await sb1.exec(`cat /tmp/toolchain-marker && ${GO_TEST}`);
    assert.equal(r.exitCode, 0, r.stdout);
    assert.match(r.stdout, /^go/, 'the toolchain layer is still below');
    assert.match(r.stdout, /--- PASS: TestAdd/);
    assert.match(r.stdout, /--- PASS: TestTwice/);
    assert.doesNotMatch(r.stdout, /\/compile -o /, 'nothing is compiled again');
  } finally {
    await sb1.dispose();
  }

  const sb2 = await provider.create({ base });
  try {
    assert.equal((await layers()).length, 1, 'one build per repository');
    // The correctness guard: the cached build of w must not serve the edited w, for its own tests or its importers'.
    await sb2.writeFile('w.go', FILES['w.go'].replace('a + b', 'a - b'));
    await sb2.exec('touch -d @946684800 w.go');
    const r = await sb2.exec(GO_TEST);
    assert.notEqual(r.exitCode, 0, r.stdout);
    assert.match(r.stdout, /\/compile -o /);
    assert.match(r.stdout, /--- FAIL: TestAdd/);
    assert.match(r.stdout, /--- FAIL: TestTwice/);
  } finally {
    await sb2.dispose();
  }

  // Without the cache the same sandbox compiles: the difference above is the cache's.
  const coldState = await tempDir('cold');
  dirs.push(coldState);
  await mkdir(warmTmpDir(coldState), { recursive: true });
  const cold = await new LocalSandboxProvider({ stateDir: coldState, isolation: 'bwrap', defaults: { timeoutMs: 240_000 } }).create({ base });
  try {
    const r = await cold.exec(GO_TEST);
    assert.equal(r.exitCode, 0, r.stdout);
    assert.match(r.stdout, /\/compile -o /);
  } finally {
    await cold.dispose();
  }
});

test('a repository with no Go tests gets no Go cache', async () => {
  const base = await makeBase({ 'go.mod': 'module example.com/n\n\ngo 1.21\n', 'n.go': 'package n\n\nfunc N() int { return 1 }\n' });
  dirs.push(path.dirname(base));
  const before = new Set(await layers());
  await (await provider.create({ base })).dispose();
  assert.deepEqual((await layers()).filter((l) => !before.has(l)), []);
});
