/** Toolchains the local backend binds from the host: pytest, go and cargo with their warm caches. python3 and node in general are part of the contract (contract.ts). */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import os from 'node:os';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { LocalSandboxProvider } from '../../src/sandbox/local.js';
import type { Sandbox } from '../../src/sandbox/types.js';
import { findExecutable } from '../../src/sandbox/bwrap.js';
import { cleanup, isolatedSkipReason, makeBase, tempDir } from './helpers.js';
import { requireTool } from '../helpers/tools.js';

const skip = await isolatedSkipReason();
let stateDir = '';
let base = '';
let sb: Sandbox;

before(async () => {
  if (skip) return;
  stateDir = await tempDir('state');
  base = await makeBase({
    'pkg/calc.py': 'def add(a, b):\n    return a + b\n',
    'pkg/__init__.py': '',
    'tests/test_calc.py': 'from pkg.calc import add\n\ndef test_add():\n    assert add(1, 2) == 3\n\ndef test_fail():\n    assert add(1, 1) == 3\n',
    'gomod/go.mod': 'module example.com/m\n\ngo 1.21\n',
    'gomod/m.go': 'package m\n\nimport "strings"\n\nfunc Up(s string) string { return strings.ToUpper(s) }\n',
    'gomod/m_test.go': 'package m\n\nimport "testing"\n\nfunc TestUp(t *testing.T) {\n\tif Up("a") != "A" {\n\t\tt.Fatal("x")\n\t}\n}\n',
    'crate/Cargo.toml': '[package]\nname = "c"\nversion = "0.1.0"\nedition = "2021"\n',
    'crate/src/lib.rs': 'pub fn add(a: i32, b: i32) -> i32 { a + b }\n#[cfg(test)]\nmod t {\n    #[test]\n    fn adds() { assert_eq!(super::add(1, 2), 3); }\n}\n',
    // As a crate's own toolchain file may ask: components rustup would download (llvm-tools is rarely installed).
    'pinned/rust-toolchain.toml': '[toolchain]\ncomponents = ["rust-src", "llvm-tools"]\n',
    'pinned/Cargo.toml': '[package]\nname = "p"\nversion = "0.1.0"\nedition = "2021"\n',
    'pinned/src/lib.rs': '#[cfg(test)]\nmod t {\n    #[test]\n    fn runs() {}\n}\n',
  });
  sb = await new LocalSandboxProvider({ stateDir, isolation: 'bwrap', defaults: { timeoutMs: 240_000 } }).create({ base });
});
after(async () => {
  if (skip) return;
  await sb.dispose();
  await cleanup(stateDir, path.dirname(base));
});

test('python3 and pytest run, and leave no bytecode in the tree', { skip }, async () => {
  const r = await sb.exec('python3 -m pytest -q tests 2>&1');
  assert.equal(r.exitCode, 1, r.stdout);
  assert.match(r.stdout, /1 failed, 1 passed/);
  assert.equal((await sb.exec('find . -name __pycache__ -o -name "*.pyc"')).stdout, '');
});

test('go builds and tests a stdlib-only module offline, with its cache kept across commands', { skip }, async () => {
  requireTool('go');
  assert.match((await sb.exec('go version')).stdout, /^go version go1\./);
  const r = await sb.exec('cd gomod && go test ./... 2>&1');
  assert.equal(r.exitCode, 0, r.stdout);
  assert.match(r.stdout, /^ok\s+example\.com\/m/);
  const again = await sb.exec('cd gomod && go test ./... 2>&1');
  assert.match(again.stdout, /\(cached\)/);
});

test('cargo tests a dependency-free crate offline', { skip }, async () => {
  requireTool('cargo');
  const r = await sb.exec('cd crate && cargo test 2>&1');
  assert.equal(r.exitCode, 0, r.stdout);
  assert.match(r.stdout, /test t::adds \.\.\. ok/);
  // Build output goes to /tmp, not into the repository's tree.
  assert.equal((await sb.exec('test -e crate/target && echo target; true')).stdout, '');
});

test('a rust-toolchain.toml asking for components the host lacks does not send rustup to download them', { skip }, async () => {
  requireTool('cargo');
  // rustup would try to install them (offline, into a read-only ~/.rustup) and cargo would not even start.
  const r = await sb.exec('cd pinned && cargo test 2>&1');
  assert.equal(r.exitCode, 0, r.stdout);
  assert.match(r.stdout, /test t::runs \.\.\. ok/);
});

test("the host's PATH order and JAVA_HOME pick the toolchain where the sandbox shows it", { skip }, async () => {
  // A tool installed outside the fixed PATH (Maven unpacked under /opt, a JDK chosen with JAVA_HOME): the host ran the
  // tests with it, so the sandbox must not fall back to the system's older copy. Outside /tmp: the sandbox's own
  // /tmp covers the host's.
  const tools = await mkdtemp(path.join(os.homedir(), '.ssr-sbtest-tools-'));
  const hidden = await tempDir('hidden');
  const saved = { PATH: process.env.PATH, JAVA_HOME: process.env.JAVA_HOME };
  let own: Sandbox | null = null;
  try {
    for (const d of ['bin', 'jdk', 'node_modules/.bin']) await mkdir(path.join(tools, d), { recursive: true });
    await mkdir(path.join(hidden, 'bin'));
    for (const dir of ['bin', 'node_modules/.bin']) {
      await writeFile(path.join(tools, dir, 'mvn'), `#!/bin/sh\necho ${dir}\n`, { mode: 0o755 });
    }
    process.env.PATH = [path.join(tools, 'node_modules/.bin'), path.join(hidden, 'bin'), path.join(tools, 'bin'), '/nonexistent', saved.PATH].join(':');
    process.env.JAVA_HOME = path.join(tools, 'jdk');
    own = await new LocalSandboxProvider({ stateDir, isolation: 'bwrap', extraReadOnlyPaths: [tools] }).create({ base });
    const r = await own.exec('mvn; echo "java_home=$JAVA_HOME"; echo "path=$PATH"');
    assert.equal(r.exitCode, 0, r.stderr);
    const [which, javaHome, pathLine] = r.stdout.trim().split('\n');
    assert.equal(which, 'bin');
    assert.equal(javaHome, `java_home=${path.join(tools, 'jdk')}`);
    // The host's order first, then the fixed directories; what the sandbox cannot show, or npm's per-package tools, left out.
    const dirs = pathLine!.slice('path='.length).split(':');
    assert.equal(dirs[0], path.join(tools, 'bin'));
    assert.ok(!dirs.some((d) => d.startsWith(hidden) || d.includes('node_modules') || d === '/nonexistent'), pathLine);
    assert.ok(dirs.includes('/usr/bin') && dirs.includes('/bin'), pathLine);

    process.env.JAVA_HOME = hidden;
    assert.equal((await own.exec('echo "java_home=${JAVA_HOME-unset}"')).stdout.trim(), 'java_home=unset');
  } finally {
    process.env.PATH = saved.PATH;
    if (saved.JAVA_HOME === undefined) delete process.env.JAVA_HOME;
    else process.env.JAVA_HOME = saved.JAVA_HOME;
    await own?.dispose();
    await rm(tools, { recursive: true, force: true });
    await rm(hidden, { recursive: true, force: true });
  }
});
