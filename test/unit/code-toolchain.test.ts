/*
 * Beyond "parses": the edits this library produces should compile with the real toolchains.
 * A check whose toolchain is not installed fails, saying how to install it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { applyEdits, findMutations, findRemovals, findTests, removalEdits } from '../../src/agents/code/index.js';
import { requireTool } from '../helpers/tools.js';

const fixture = (name: string): string => readFileSync(new URL(`../fixtures/code/${name}`, import.meta.url), 'utf8');
const has = (cmd: string, args: string[]): boolean => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
const run = (cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): { ok: boolean; out: string } => {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 180_000 });
  // A run the timeout stopped says so: on a loaded machine that, not the edits, is the likelier cause.
  const stopped = r.signal ? `(${cmd} stopped by ${r.signal}${r.error ? `: ${r.error.message}` : ''}; the limit is 180 s)\n` : '';
  return { ok: r.status === 0, out: `${stopped}${r.stdout ?? ''}${r.stderr ?? ''}` };
};

const dirs: string[] = [];
const tempDir = (prefix: string): string => {
  const d = mkdtempSync(path.join(tmpdir(), prefix));
  dirs.push(d);
  return d;
};
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('code: toolchains accept the edits', () => {
  it('go: every mutation and removal builds and vets; weakened tests too', async () => {
    requireTool('go');
    const src = fixture('calc.go');
    const testSrc = fixture('calc_test.go');
    const muts = await findMutations('go', src);
    const rems = await findRemovals('go', src);
    const tests = await findTests('go', testSrc);
    const weakened = applyEdits(testSrc, tests.flatMap((t) => t.assertions));
    const variants = [
      ...muts.map((m) => ({ what: m.description, code: applyEdits(src, [m.edit]) })),
      ...rems.map((r) => ({ what: r.description, code: applyEdits(src, removalEdits(r)) })),
    ];
    const root = tempDir('ssr-code-go-');
    writeFileSync(path.join(root, 'go.mod'), 'module example.com/variants\n\ngo 1.21\n');
    // One package per variant: a single `go vet ./...` compiles them all in parallel.
    variants.forEach((v, i) => {
      const dir = path.join(root, `v${i}`);
      mkdirSync(dir);
      writeFileSync(path.join(dir, 'calc.go'), v.code);
      writeFileSync(path.join(dir, 'calc_test.go'), i === 0 ? weakened : testSrc);
    });
    const env = { GOFLAGS: '-mod=mod', GOTOOLCHAIN: 'local', GOPROXY: 'off' };
    const r = run('go', ['vet', './...'], root, env);
    const failing = [...r.out.matchAll(/v(\d+)\//g)].map((m) => variants[Number(m[1])]?.what);
    assert.ok(r.ok, `go vet failed for: ${[...new Set(failing)].join('; ')}\n${r.out.slice(0, 3000)}`);
  });

  it('python: mutations, removals and weakened tests compile; the whole-file stub imports', async () => {
    requireTool('python3');
    const src = fixture('inventory.py');
    const testSrc = fixture('test_inventory.py');
    const muts = await findMutations('python', src);
    const rems = await findRemovals('python', src);
    const tests = await findTests('python', testSrc);
    const dir = tempDir('ssr-code-py-');
    const files: string[] = [];
    const put = (name: string, code: string): void => {
      writeFileSync(path.join(dir, name), code);
      files.push(name);
    };
    muts.forEach((m, i) => put(`m${i}.py`, applyEdits(src, [m.edit])));
    rems.forEach((r, i) => put(`r${i}.py`, applyEdits(src, removalEdits(r))));
    put('test_weak.py', applyEdits(testSrc, tests.flatMap((t) => t.assertions)));
    const compiled = run('python3', ['-m', 'py_compile', ...files], dir);
    assert.ok(compiled.ok, compiled.out);
    const whole = rems.find((r) => r.kind === 'whole-file');
    assert.ok(whole);
    writeFileSync(path.join(dir, 'inventory.py'), applyEdits(src, removalEdits(whole)));
    const imported = run(
      'python3',
      ['-c', 'import inventory as m; assert all(hasattr(m, n) for n in ["Item", "Store", "clamp", "countdown", "MAX_ITEMS"]); assert m.clamp(1, 2, 3) is None; print("ok")'],
      dir,
    );
    assert.ok(imported.ok, imported.out);
    const reg = fixture('registry.py');
    const regWhole = (await findRemovals('python', reg)).find((r) => r.kind === 'whole-file');
    assert.ok(regWhole);
    writeFileSync(path.join(dir, 'registry.py'), applyEdits(reg, removalEdits(regWhole)));
    const regImported = run('python3', ['-c', 'import registry as m; assert m.HIGH == 10 and m.DEFAULT_LEVEL == 1; assert m.double(3) is None; print("ok")'], dir);
    assert.ok(regImported.ok, regImported.out);
  });

  it('typescript: stubs and return changes type-check under --strict', async () => {
    const req = createRequire(import.meta.url);
    const tsc = path.join(path.dirname(req.resolve('typescript/package.json')), 'bin', 'tsc');
    const typeRoots = path.join(path.dirname(req.resolve('@types/node/package.json')), '..');
    const src = fixture('shapes.ts');
    const muts = (await findMutations('typescript', src)).filter((m) => m.kind === 'return-change');
    const rems = await findRemovals('typescript', src);
    assert.ok(muts.length > 3 && rems.length > 5);
    const dir = tempDir('ssr-code-ts-');
    writeFileSync(path.join(dir, 'options.ts'), fixture('options.ts'));
    const files = ['options.ts'];
    const variants = [
      ...muts.map((m) => ({ what: m.description, code: applyEdits(src, [m.edit]) })),
      ...rems.map((r) => ({ what: r.description, code: applyEdits(src, removalEdits(r)) })),
    ];
    variants.forEach((v, i) => {
      writeFileSync(path.join(dir, `v${i}.ts`), v.code);
      files.push(`v${i}.ts`);
    });
    const args = [tsc, '--noEmit', '--strict', '--skipLibCheck', '--target', 'es2022', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--typeRoots', typeRoots, '--types', 'node', ...files];
    const r = run(process.execPath, args, dir);
    const failing = [...r.out.matchAll(/^v(\d+)\.ts/gm)].map((m) => variants[Number(m[1])]?.what);
    assert.ok(r.ok, `tsc failed for: ${[...new Set(failing)].join('; ')}\n${r.out.slice(0, 3000)}`);
  });

  it('typescript: every mutation and removal type-checks under strict, noUnused* and noImplicitReturns', async () => {
    // What a type-checking runner (ts-jest's default diagnostics, ts-node) sees: a type error stops the test file at
    // load, so an edit that does not type-check is no bug. The fixture narrows by typeof, instanceof, discriminants
    // and guards, has literal-typed fields, a constructor that returns, and names only one function body reads.
    const req = createRequire(import.meta.url);
    const tsc = path.join(path.dirname(req.resolve('typescript/package.json')), 'bin', 'tsc');
    const src = fixture('ledger.ts');
    // Deleting mutations (a return's value, a statement, a branch) are the solver's options, never injected.
    const muts = (await findMutations('typescript', src)).filter((m) => !['return-change', 'remove-statement', 'remove-branch'].includes(m.kind));
    // The whole-file stub still leaves a private field that several stubbed bodies read unread (a known limit).
    const rems = (await findRemovals('typescript', src)).filter((r) => r.kind !== 'whole-file');
    assert.ok(muts.length > 15 && rems.length > 8, `${muts.length} mutations, ${rems.length} removals`);
    const dir = tempDir('ssr-code-ts-strict-');
    writeFileSync(path.join(dir, 'money.ts'), fixture('money.ts'));
    const variants = [
      ...muts.map((m) => ({ what: m.description, code: applyEdits(src, [m.edit]) })),
      ...rems.map((r) => ({ what: r.description, code: applyEdits(src, removalEdits(r)) })),
    ];
    const files = variants.map((v, i) => {
      writeFileSync(path.join(dir, `v${i}.ts`), v.code);
      return `v${i}.ts`;
    });
    const flags = ['--strict', '--noUnusedLocals', '--noUnusedParameters', '--noImplicitReturns', '--skipLibCheck', '--target', 'es2022', '--module', 'commonjs', '--types', 'node', '--typeRoots', path.join(path.dirname(req.resolve('@types/node/package.json')), '..')];
    const base = run(process.execPath, [tsc, '--noEmit', ...flags, 'money.ts', ...(writeFileSync(path.join(dir, 'orig.ts'), src), ['orig.ts'])], dir);
    assert.ok(base.ok, `the fixture itself: ${base.out.slice(0, 2000)}`);
    const r = run(process.execPath, [tsc, '--noEmit', ...flags, 'money.ts', ...files], dir);
    const failing = [...r.out.matchAll(/^v(\d+)\.ts\(\d+,\d+\): error (TS\d+)/gm)].map((m) => `${variants[Number(m[1])]?.what} (${m[2]})`);
    assert.ok(r.ok, `tsc failed for ${new Set(failing).size} of ${variants.length}: ${[...new Set(failing)].join('; ')}\n${r.out.slice(0, 3000)}`);
  });

  /**
   * gcc and g++ check every variant (-fsyntax-only; -Werror=return-type: a stub must still return a value). Each
   * variant is a file of its own in one directory, compiled by one make -j2 run.
   */
  const compileAll = (cc: string, flags: string[], ext: string, variants: { what: string; code: string }[], headers: Record<string, string> = {}): void => {
    const root = tempDir(`ssr-code-${ext}-`);
    for (const [name, text] of Object.entries(headers)) writeFileSync(path.join(root, name), text);
    const targets = variants.map((v, i) => {
      writeFileSync(path.join(root, `v${i}.${ext}`), v.code);
      return `v${i}.ok`;
    });
    const rules = targets.map((t) => `${t}: ${t.replace('.ok', `.${ext}`)}\n\t${cc} ${flags.join(' ')} -fsyntax-only -Werror=return-type -I. $< && touch $@\n`).join('');
    writeFileSync(path.join(root, 'Makefile'), `all: ${targets.join(' ')}\n${rules}`);
    const r = run('make', ['-k', '-j2', '-s'], root);
    const failing = [...r.out.matchAll(/v(\d+)\.\w+:\d+/g)].map((m) => variants[Number(m[1])]?.what);
    assert.ok(r.ok, `${cc} rejected: ${[...new Set(failing)].join('; ')}\n${r.out.slice(0, 3000)}`);
  };

  it('c: every mutation and removal compiles with gcc; weakened tests too', async () => {
    requireTool('gcc', 'make');
    const src = fixture('ring.c');
    const testSrc = fixture('test_ring.c');
    const tests = await findTests('c', testSrc);
    const variants = [
      { what: 'the original', code: src },
      ...(await findMutations('c', src)).map((m) => ({ what: m.description, code: applyEdits(src, [m.edit]) })),
      ...(await findRemovals('c', src)).map((r) => ({ what: r.description, code: applyEdits(src, removalEdits(r)) })),
      ...tests.map((t) => ({ what: `weakened ${t.name}`, code: applyEdits(testSrc, t.assertions) })),
    ];
    compileAll('gcc', ['-std=c11', '-Wall'], 'c', variants, { 'ring.h': fixture('ring.h') });
  });

  it('c and cpp: function bodies removed still compile under -Wall -Wextra -Werror (parameters kept used)', async () => {
    requireTool('gcc', 'g++', 'make');
    const bodies = async (lang: 'c' | 'cpp', src: string): Promise<{ what: string; code: string }[]> =>
      (await findRemovals(lang, src)).filter((r) => r.kind === 'function-body').map((r) => ({ what: r.description, code: applyEdits(src, removalEdits(r)) }));
    const c = fixture('ring.c');
    compileAll('gcc', ['-std=c11', '-Wall', '-Wextra', '-Werror', '-Wno-unused-function'], 'c', await bodies('c', c), { 'ring.h': fixture('ring.h') });
    const cpp = fixture('shelf.cpp');
    compileAll('g++', ['-std=c++17', '-Wall', '-Wextra', '-Werror', '-Wno-unused-function'], 'cpp', await bodies('cpp', cpp));
  });

  it('c: weakened tests still compile under -Wall -Wextra -Werror (names only the assertions read are kept used)', async () => {
    requireTool('gcc', 'make');
    const testSrc = fixture('test_werror.c');
    const tests = await findTests('c', testSrc);
    const variants = [{ what: 'the original', code: testSrc }, ...tests.map((t) => ({ what: `weakened ${t.name}`, code: applyEdits(testSrc, t.assertions) }))];
    compileAll('gcc', ['-std=c11', '-Wall', '-Wextra', '-Werror'], 'c', variants, { 'ring.h': fixture('ring.h') });
  });

  it('cpp: every mutation and removal compiles with g++; weakened GoogleTest tests too', async () => {
    requireTool('g++', 'make');
    const src = fixture('shelf.cpp');
    const testSrc = fixture('shelf_test.cpp');
    const tests = await findTests('cpp', testSrc);
    const variants = [
      { what: 'the original', code: src },
      ...(await findMutations('cpp', src)).map((m) => ({ what: m.description, code: applyEdits(src, [m.edit]) })),
      ...(await findRemovals('cpp', src)).map((r) => ({ what: r.description, code: applyEdits(src, removalEdits(r)) })),
    ];
    const gtest = ['/usr/include/gtest/gtest.h', '/usr/local/include/gtest/gtest.h'].some((h) => has('test', ['-f', h]));
    assert.ok(gtest, 'this test needs GoogleTest\'s headers: apt-get install libgtest-dev (npm test\'s setup installs it where it runs as root)');
    variants.push(...tests.map((t) => ({ what: `weakened ${t.name}`, code: applyEdits(testSrc, t.assertions) })));
    compileAll('g++', ['-std=c++17'], 'cpp', variants);
  });
});
