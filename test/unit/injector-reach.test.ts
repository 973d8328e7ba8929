/**
 * The injector draws Python sites from the files the tests can load and Go sites from the packages the tests compile:
 * the static import graphs (pyreach.ts, goreach.ts), and the embedded injector on a real repository in the real
 * sandbox, where a setup.py, a demo script and an example's main package are never offered.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { importedModules, importsDynamically, pythonReachable } from '../../src/agents/code/pyreach.js';
import { jsReachable } from '../../src/agents/code/jsreach.js';
import { goImportPaths, goReachable } from '../../src/agents/code/goreach.js';
import { inject } from '../../src/agents/injector.js';
import { historyCandidates, revertCommit } from '../../src/agents/history.js';
import type { Decision, Option, Policy, Ranking } from '../../src/policy/policy.js';
import { createRuntime } from '../../src/runtime.js';
import { findExecutable } from '../../src/sandbox/bwrap.js';
import { runChecks } from '../../src/checks/run.js';
import { isTestFile } from '../../src/repo/runners/index.js';
import { makeRepo } from '../fixtures/runners/helpers.js';
import { requireTool } from '../helpers/tools.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function repo(files: Record<string, string>): Promise<string> {
  const dir = await makeRepo({ files }, 'ssr-pyreach-');
  dirs.push(dir);
  return dir;
}

/** A conftest that puts the repository root on sys.path, so tests import its top-level modules. */
const CONFTEST = { 'conftest.py': 'import os, sys\nsys.path.insert(0, os.path.dirname(__file__))\n' };
/** Tests of a calc.py with add and sub. */
const CALC_TESTS = { 'tests/test_calc.py': 'from calc import add, sub\n\n\ndef test_add():\n    assert add(1, 2) == 3\n\n\ndef test_sub():\n    assert sub(3, 1) == 2\n' };

/** Makes `dir` a git repository: its files as the first commit, then each later commit's files over them. */
function withHistory(dir: string, commits: [message: string, files: Record<string, string>][]): void {
  const git = (...args: string[]): void => { execFileSync('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { stdio: 'ignore' }); };
  git('init', '-q');
  git('add', '-A');
  git('commit', '-qm', 'start');
  for (const [message, files] of commits) {
    for (const [f, text] of Object.entries(files)) writeFileSync(path.join(dir, f), text);
    git('commit', '-qam', message);
  }
}

/** A runtime over a state directory of its own, removed after the tests. */
function runtime(): ReturnType<typeof createRuntime> {
  const home = mkdtempSync(path.join(tmpdir(), 'ssr-pyreach-home-'));
  dirs.push(home);
  return createRuntime({ home });
}

describe('importedModules', () => {
  it('absolute, aliased, parenthesised and relative imports, with the packages they run', () => {
    const text = [
      'import os, pkg.sub.mod as m',
      'from pkg import (alpha,',
      '    beta)',
      'from . import sibling',
      'from ..core import thing',
      'from .util import *',
      'x = importlib.import_module("pkg.late")',
      'y = pytest.importorskip("optional")',
      '@mock.patch("pkg.patched.func")',
    ].join('\n');
    const mods = new Set(importedModules('src/pkg/sub/here.py', text));
    for (const m of ['os', 'pkg', 'pkg.sub', 'pkg.sub.mod', 'pkg.alpha', 'pkg.beta', 'src.pkg.sub.sibling', 'src.pkg.core', 'src.pkg.core.thing', 'src.pkg.sub.util', 'pkg.late', 'optional', 'pkg.patched']) {
      assert.ok(mods.has(m), `${m} in ${[...mods].join(', ')}`);
    }
  });

  it('a module loaded by a computed name, or found by a loader, makes the graph unsure', () => {
    assert.equal(importsDynamically('importlib.import_module("pkg.a")\n'), false);
    assert.equal(importsDynamically('importlib.import_module(name)\n'), true);
    assert.equal(importsDynamically('for ep in entry_points(group="x"): ep.load()\n'), true);
    assert.equal(importsDynamically('import importlib\nimportlib.reload(m)\n'), false);
  });
});

describe('pythonReachable', () => {
  it('follows the tests, their helpers and conftest through packages, leaving setup.py and demos out', async () => {
    const dir = await repo({
      'setup.py': 'from setuptools import setup\nsetup(name="pkg")\n',
      'demos/show.py': 'from pkg import calc\nprint(calc.add(1, 2))\n',
      'docs/conf.py': 'project = "pkg"\n',
      'src/pkg/__init__.py': 'from .calc import add\n',
      'src/pkg/calc.py': 'from . import _util\n\ndef add(a, b):\n    return _util.plus(a, b)\n',
      'src/pkg/_util.py': 'def plus(a, b):\n    return a + b\n',
      'src/pkg/extra.py': 'def only_helpers():\n    return 1\n',
      'src/pkg/cli.py': 'def main():\n    return 0\n',
      'tests/helpers.py': 'from pkg.extra import only_helpers\n',
      'tests/conftest.py': 'import pytest\n',
      'tests/test_calc.py': 'import subprocess\nfrom pkg import add\nfrom helpers import only_helpers\n\ndef test_add():\n    assert add(1, 2) == 3\n\ndef test_cli():\n    subprocess.run(["python", "src/pkg/cli.py"])\n',
    });
    const reach = await pythonReachable(dir, ['tests/test_calc.py']);
    assert.ok(reach);
    for (const f of ['src/pkg/__init__.py', 'src/pkg/calc.py', 'src/pkg/_util.py', 'src/pkg/extra.py', 'src/pkg/cli.py', 'tests/conftest.py']) {
      assert.ok(reach.has(f), f);
    }
    for (const f of ['setup.py', 'demos/show.py', 'docs/conf.py']) assert.ok(!reach.has(f), f);
  });

  it('is null where a loaded file imports by a computed name', async () => {
    const dir = await repo({
      'pkg/__init__.py': 'import importlib\n\ndef plugin(name):\n    return importlib.import_module("pkg.plugins." + name)\n',
      'pkg/plugins/a.py': 'X = 1\n',
      'tests/test_p.py': 'from pkg import plugin\n\ndef test_p():\n    assert plugin("a").X == 1\n',
    });
    assert.equal(await pythonReachable(dir, ['tests/test_p.py']), null);
  });

  it('takes every module of the loaded packages where a name made from a module\'s own is imported', async () => {
    const dir = await repo({
      'benchmark/run.py': 'import pkg\nprint(pkg.add(1, 2))\n',
      'scripts/release.py': 'import sys\n',
      'src/pkg/__init__.py': 'from ._core import add\n',
      'src/pkg/_core.py': 'def add(a, b):\n    return a + b\n',
      'src/pkg/_types.py': 'from ._util import Alias\n',
      'src/pkg/_util.py': 'Alias = int\n',
      'src/pkg/sub/__init__.py': 'import importlib\n\ndef load(name):\n    return importlib.import_module("." + name, __package__)\n',
      'tests/__init__.py': 'import pkg as under_test\n',
      'tests/test_p.py': 'import importlib\n\nfrom . import under_test\n\n\ndef test_types():\n    importlib.import_module(f"{under_test.__name__}._types")\n',
    });
    const reach = await pythonReachable(dir, ['tests/test_p.py']);
    assert.ok(reach);
    for (const f of ['src/pkg/__init__.py', 'src/pkg/_core.py', 'src/pkg/_types.py', 'src/pkg/_util.py', 'src/pkg/sub/__init__.py']) assert.ok(reach.has(f), f);
    for (const f of ['benchmark/run.py', 'scripts/release.py']) assert.ok(!reach.has(f), f);
  });
});

describe('jsReachable', () => {
  it('follows imports and requires from the tests, the package by its own name, and scripts run by path, leaving examples and configs out', async () => {
    const dir = await repo({
      'package.json': '{"name": "kit", "type": "module", "exports": {".": {"types": "./types/index.d.ts", "default": "./index.js"}}}\n',
      'index.js': "export { Cmd } from './lib/cmd.js';\nexport * from './lib/help.js';\n",
      'lib/cmd.js': "import { pad } from './util';\nexport class Cmd { name() { return pad('x'); } }\n",
      'lib/util.js': 'export function pad(s) { return s; }\n',
      'lib/help.js': "const { fmt } = require('./fmt.cjs');\nexport const help = () => fmt('h');\n",
      'lib/fmt.cjs': 'exports.fmt = (s) => s;\n',
      'lib/late.ts': 'export const late = 1;\n',
      'lib/unused.js': 'export const unused = 1;\n',
      'bin/run.js': "import { Cmd } from '../index.js';\nnew Cmd();\n",
      'examples/demo.js': "import { Cmd } from 'kit';\nnew Cmd().name();\n",
      'eslint.config.js': 'export default [];\n',
      'tests/helpers.js': "export { late } from '../lib/late.js';\n",
      'tests/cmd.test.js': "import { test } from 'node:test';\nimport { Cmd } from 'kit';\nimport { late } from './helpers.js';\nconst script = 'bin/run.js';\nconst { Cmd: Again } = await import('../index.js');\ntest('x', () => {});\n",
    });
    const reach = await jsReachable(dir, ['tests/cmd.test.js']);
    assert.ok(reach);
    for (const f of ['index.js', 'lib/cmd.js', 'lib/util.js', 'lib/help.js', 'lib/fmt.cjs', 'lib/late.ts', 'bin/run.js', 'tests/helpers.js']) assert.ok(reach.has(f), f);
    for (const f of ['lib/unused.js', 'examples/demo.js', 'eslint.config.js']) assert.ok(!reach.has(f), f);
  });

  it("follows require('..') to the package root's index, a package.json without main or exports", async () => {
    const dir = await repo({
      'package.json': '{"name": "neg", "files": ["index.js", "lib/"]}\n',
      'index.js': "module.exports = require('./lib/core');\n",
      'lib/core.js': 'module.exports = (x) => x;\n',
      'examples/demo.js': "const neg = require('..');\nneg(1);\n",
      'test/core.js': "const assert = require('assert');\nconst neg = require('..');\nit('x', () => assert.equal(neg(1), 1));\n",
      'test/sub/deep.js': "const neg = require('../../');\n",
    });
    const reach = await jsReachable(dir, ['test/core.js', 'test/sub/deep.js']);
    assert.ok(reach);
    for (const f of ['index.js', 'lib/core.js']) assert.ok(reach.has(f), f);
    assert.ok(!reach.has('examples/demo.js'));
  });

  it('is null where a loaded file requires a computed name, or tsconfig maps names', async () => {
    const dyn = await repo({
      'lib/plugins.js': "exports.load = (n) => require('./plugins/' + n);\n",
      'lib/plugins/a.js': 'exports.x = 1;\n',
      'test/p.test.js': "const { load } = require('../lib/plugins.js');\n",
    });
    assert.equal(await jsReachable(dyn, ['test/p.test.js']), null);
    const mapped = await repo({
      'tsconfig.json': '{\n  // aliases\n  "compilerOptions": {"paths": {"@/*": ["src/*"]}}\n}\n',
      'src/a.ts': 'export const a = 1;\n',
      'test/a.test.ts': "import { a } from '@/a';\n",
    });
    assert.equal(await jsReachable(mapped, ['test/a.test.ts']), null);
  });
});

describe('goImportPaths', () => {
  it('single, aliased and grouped imports, never a path in a comment or a string elsewhere', () => {
    const text = [
      'package x',
      '',
      'import "fmt"',
      'import alias "example.com/m/a"',
      'import (',
      '\t"strings"',
      '\t_ "example.com/m/b" // side effects',
      '\t// "example.com/m/commented"',
      '\t. "example.com/m/c"',
      ')',
      '',
      'var s = "example.com/m/notimport"',
    ].join('\n');
    assert.deepEqual(goImportPaths(text).sort(), ['example.com/m/a', 'example.com/m/b', 'example.com/m/c', 'fmt', 'strings']);
  });
});

describe('goReachable', () => {
  it('follows the test packages through their imports and nested modules, leaving example main packages out', async () => {
    const dir = await repo({
      'go.mod': 'module example.com/m\n\ngo 1.21\n\nreplace example.com/shared => ./third/shared\n',
      'calc.go': 'package m\n\nimport "example.com/m/internal/util"\n\nfunc Add(a, b int) int { return util.Plus(a, b) }\n',
      'calc_test.go': 'package m\n\nimport (\n\t"testing"\n\n\t"example.com/m/testhelp"\n)\n\nfunc TestAdd(t *testing.T) { testhelp.Check(t, Add(1, 2) == 3) }\n\nfunc TestTool(t *testing.T) { _ = "go run ./cmd/tool" }\n',
      'internal/util/util.go': 'package util\n\nimport "example.com/shared"\n\nfunc Plus(a, b int) int { return shared.Id(a) + b }\n',
      'testhelp/check.go': 'package testhelp\n\nimport "testing"\n\nfunc Check(t *testing.T, ok bool) { if !ok { t.Fatal("no") } }\n',
      'third/shared/shared.go': 'package shared\n\nfunc Id(x int) int { return x }\n',
      'cmd/tool/main.go': 'package main\n\nfunc main() {}\n',
      '_examples/hello/main.go': 'package main\n\nimport "example.com/m"\n\nfunc main() { println(m.Add(1, 2)) }\n',
      '_examples/nested/go.mod': 'module example.com/m/_examples/nested\n\ngo 1.21\n',
      '_examples/nested/main.go': 'package main\n\nimport "example.com/m/_examples/nested/data"\n\nfunc main() { println(data.X) }\n',
      '_examples/nested/data/data.go': 'package data\n\nconst X = 1\n',
    });
    const reach = await goReachable(dir, ['calc_test.go']);
    assert.ok(reach);
    for (const f of ['calc.go', 'calc_test.go', 'internal/util/util.go', 'testhelp/check.go', 'third/shared/shared.go', 'cmd/tool/main.go']) assert.ok(reach.has(f), f);
    for (const f of ['_examples/hello/main.go', '_examples/nested/main.go', '_examples/nested/data/data.go']) assert.ok(!reach.has(f), f);
  });

  it('is null without a go.mod to resolve imports against', async () => {
    const dir = await repo({ 'calc.go': 'package m\n', 'calc_test.go': 'package m\n' });
    assert.equal(await goReachable(dir, ['calc_test.go']), null);
  });
});

/** Always the first option: the first file in path order, which here is a demo script no test loads. */
class FirstPolicy implements Policy {
  readonly decisions: Decision[] = [];
  async choose(group: string, options: Option[]): Promise<number> {
    this.decisions.push({ group, options, chosen: 0 });
    return 0;
  }
  async rank(): Promise<Ranking> {
    throw new Error('the injector does not rank');
  }
}

describe('the embedded injector', () => {
  async function run(dir: string, strategies: Array<'removal' | 'history'>): Promise<{ r: Awaited<ReturnType<typeof inject>>; policy: FirstPolicy }> {
    const home = mkdtempSync(path.join(tmpdir(), 'ssr-pyreach-home-'));
    dirs.push(home);
    const rt = createRuntime({ home });
    const policy = new FirstPolicy();
    const r = await inject({ repoDir: dir, provider: rt.provider, policy, strategies, minPassingTests: 1, candidates: 2, testTimeoutMs: 60_000 });
    return { r, policy };
  }

  it('reverts past commits only in files the tests load: the newest commit, to setup.py, is never offered', async () => {
    const calc = 'def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n';
    const dir = await repo({
      'setup.py': 'from setuptools import setup\nsetup(name="calc", version="1")\n',
      'calc.py': calc.replace('a + b', 'a - b'),
      ...CALC_TESTS,
      ...CONFTEST,
    });
    const git = (...args: string[]): void => { execFileSync('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { stdio: 'ignore' }); };
    git('init', '-q');
    git('add', '-A');
    git('commit', '-qm', 'start');
    writeFileSync(path.join(dir, 'calc.py'), calc);
    git('commit', '-qam', 'fix add');
    writeFileSync(path.join(dir, 'setup.py'), 'from setuptools import setup\nsetup(name="calc", version="2")\n');
    git('commit', '-qam', 'release 2');
    const { r, policy } = await run(dir, ['history']);
    assert.equal(r.ok, true, `${r.ok ? '' : r.reason}\n${r.attempts.join('\n')}`);
    assert.match(r.attempts.join('\n'), /revert \w+ "fix add" in calc\.py/);
    const commits = policy.decisions.filter((d) => d.group === 'inject.commit');
    assert.ok(commits.length > 0 && commits.every((d) => d.options.length === 1), 'only the commit to calc.py is offered');
  });

  it('never spends a candidate on a Python file the tests cannot load', async () => {
    const dir = await repo({
      'a_demo.py': 'from calc import add\n\n\ndef show():\n    total = add(1, 2)\n    print(total)\n    return total\n',
      'calc.py': 'def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n',
      ...CALC_TESTS,
      ...CONFTEST,
    });
    const { r, policy } = await run(dir, ['removal']);
    assert.equal(r.ok, true, `${r.ok ? '' : r.reason}\n${r.attempts.join('\n')}`);
    assert.ok(r.attempts.every((a) => !a.includes('a_demo.py')), r.attempts.join('\n'));
    const files = policy.decisions.filter((d) => d.group === 'inject.file');
    assert.ok(files.length > 0 && files.every((d) => d.options.length === 1), 'only calc.py is offered');
  });

  it('never spends a candidate on a JavaScript example the tests cannot load', async () => {
    const dir = await repo({
      'package.json': '{"name": "calc", "version": "1.0.0", "scripts": {"test": "node --test"}}\n',
      'examples/a_show.js': "const { add } = require('../lib/calc.js');\n\nfunction show() {\n  const total = add(1, 2);\n  console.log(total);\n  return total;\n}\n\nshow();\n",
      'lib/calc.js': "'use strict';\n\nfunction add(a, b) {\n  return a + b;\n}\n\nfunction sub(a, b) {\n  return a - b;\n}\n\nmodule.exports = { add, sub };\n",
      'test/calc.test.js': "const test = require('node:test');\nconst assert = require('node:assert');\nconst { add, sub } = require('../lib/calc.js');\n\ntest('add', () => {\n  assert.strictEqual(add(1, 2), 3);\n});\n\ntest('sub', () => {\n  assert.strictEqual(sub(3, 1), 2);\n});\n",
    });
    const { r, policy } = await run(dir, ['removal']);
    assert.equal(r.ok, true, `${r.ok ? '' : r.reason}\n${r.attempts.join('\n')}`);
    assert.ok(r.attempts.every((a) => !a.includes('a_show.js')), r.attempts.join('\n'));
    const files = policy.decisions.filter((d) => d.group === 'inject.file');
    assert.ok(files.length > 0 && files.every((d) => d.options.length === 1), 'only lib/calc.js is offered');
  });

  it('never spends a candidate on a Go file no test package compiles', async () => {
    const dir = await repo({
      'go.mod': 'module example.com/calc\n\ngo 1.21\n',
      // First in path order, and the first file the policy would take: an example no test builds.
      '_examples/demo/main.go': 'package main\n\nimport "example.com/calc"\n\nfunc main() {\n\ttotal := calc.Add(1, 2)\n\tprintln(total)\n}\n',
      'calc.go': 'package calc\n\nfunc Add(a, b int) int {\n\treturn a + b\n}\n\nfunc Sub(a, b int) int {\n\treturn a - b\n}\n',
      'calc_test.go': 'package calc\n\nimport "testing"\n\nfunc TestAdd(t *testing.T) {\n\tif Add(1, 2) != 3 {\n\t\tt.Fatal("add")\n\t}\n}\n\nfunc TestSub(t *testing.T) {\n\tif Sub(3, 1) != 2 {\n\t\tt.Fatal("sub")\n\t}\n}\n',
    });
    const { r, policy } = await run(dir, ['removal']);
    assert.equal(r.ok, true, `${r.ok ? '' : r.reason}\n${r.attempts.join('\n')}`);
    assert.ok(r.attempts.every((a) => !a.includes('_examples/')), r.attempts.join('\n'));
    const files = policy.decisions.filter((d) => d.group === 'inject.file');
    assert.ok(files.length > 0 && files.every((d) => d.options.length === 1), 'only calc.go is offered');
  });
});

/** The options of each group in turn: the n-th choice of a group is its option n (wrapping). */
class InTurnPolicy implements Policy {
  readonly decisions: Decision[] = [];
  private readonly n = new Map<string, number>();
  async choose(group: string, options: Option[]): Promise<number> {
    const i = (this.n.get(group) ?? 0) % options.length;
    this.n.set(group, i + 1);
    this.decisions.push({ group, options, chosen: i });
    return i;
  }
  async rank(): Promise<Ranking> {
    throw new Error('the injector does not rank');
  }
}

/** Chooses the n-th option (the last where there are fewer). */
class NthPolicy implements Policy {
  readonly decisions: Decision[] = [];
  constructor(private readonly n: number) {}
  async choose(group: string, options: Option[]): Promise<number> {
    const chosen = Math.min(this.n, options.length - 1);
    this.decisions.push({ group, options, chosen });
    return chosen;
  }
  async rank(): Promise<Ranking> {
    throw new Error('the injector does not rank');
  }
}

/** The embedded injector, history strategy only, drawing commits in turn, over a state directory of its own. */
function injectHistory(dir: string, candidates: number): ReturnType<typeof inject> {
  return inject({ repoDir: dir, provider: runtime().provider, policy: new InTurnPolicy(), strategies: ['history'], minPassingTests: 1, candidates, testTimeoutMs: 60_000 });
}

describe('history candidates that cannot break a test', () => {
  it('a revert that changes only comments or docstrings is not run', async () => {
    const calc = 'def add(a, b):\n    """Sum."""\n    # plain\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n';
    const dir = await repo({
      'calc.py': calc.replace('a + b', 'a - b'),
      ...CALC_TESTS,
      ...CONFTEST,
    });
    withHistory(dir, [
      ['fix add', { 'calc.py': calc }],
      ['docs: say what add returns', { 'calc.py': calc.replace('"""Sum."""', '"""The sum of a and b."""').replace('# plain', '# plain, no overflow check') }],
    ]);
    // Draws in turn: the docs commit (newest), then the fix.
    const r = await injectHistory(dir, 2);
    assert.equal(r.ok, true, `${r.ok ? '' : r.reason}\n${r.attempts.join('\n')}`);
    assert.deepEqual(r.attempts.map((a) => a.replace(/revert \w+ /, 'revert <sha> ')), [
      'history: revert <sha> "docs: say what add returns" in calc.py: changes only comments, docstrings or layout (not run)',
      'history: revert <sha> "fix add" in calc.py: breaks 1 tests, 1 hidden',
    ]);
    // The one test run on the original and one on the bug, one for the weakening: the docs revert cost none.
    assert.equal(r.testRuns, 3);
  });

  it('a commit none of whose change applies any more, in a file rewritten since, is passed over without a run or an attempt', async () => {
    const more = Array.from({ length: 12 }, (_, i) => `\n\ndef g${i}(x):\n    return x + ${i}\n`).join('');
    const calc = 'LIMIT = 1\n\n\ndef add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n';
    const dir = await repo({
      'calc.py': calc.replace('a + b', 'a - b'),
      ...CALC_TESTS,
      ...CONFTEST,
    });
    withHistory(dir, [
      ['fix add', { 'calc.py': calc }],
      ['set the limit', { 'calc.py': calc.replace('LIMIT = 1', 'LIMIT = 2') }],
      ['rework', { 'calc.py': calc.replace('LIMIT = 1', 'LIMIT = 3  # per call') + more }],
    ]);
    // Draws in turn from what is left (newest first): the rework (its revert breaks no test), then of [limit, fix]
    // the second, the fix. The limit (nothing of it applies, and the file has moved far more since than it changed)
    // would have cost no attempt either.
    const r = await injectHistory(dir, 2);
    assert.equal(r.ok, true, `${r.ok ? '' : r.reason}\n${r.attempts.join('\n')}`);
    assert.deepEqual(r.attempts.map((a) => a.replace(/revert \w+ /, 'revert <sha> ').replace(/": .*\(not run\)$/, '": (not run)')), [
      'history: revert <sha> "rework" in calc.py: breaks no test',
      'history: revert <sha> "fix add" in calc.py: breaks 1 tests, 1 hidden',
    ]);
    // The dropped revert keeps its evidence: its diff and the log of the run that judged it; the one not run has none.
    assert.equal(r.rejected.length, 1, JSON.stringify(r.rejected.map((c) => c.attempt)));
    assert.equal(r.rejected[0]!.attempt, 0);
    assert.match(r.rejected[0]!.bug, /^-LIMIT = 3  # per call$/m);
    assert.match(r.rejected[0]!.log ?? '', /2 passed/);
    // Always the second of what is left: the limit, passed over at no attempt's cost, then the fix.
    const second = await inject({ repoDir: dir, provider: runtime().provider, policy: new NthPolicy(1), strategies: ['history'], minPassingTests: 1, candidates: 1, testTimeoutMs: 60_000 });
    assert.equal(second.ok, true, `${second.ok ? '' : second.reason}\n${second.attempts.join('\n')}`);
    assert.deepEqual(second.attempts.map((a) => a.replace(/revert \w+ /, 'revert <sha> ').replace(/": .*\(not run\)$/, '": (not run)')), [
      'history: revert <sha> "set the limit": (not run)',
      'history: revert <sha> "fix add" in calc.py: breaks 1 tests, 1 hidden',
    ]);
  });

  it('commits judged without a run leave the pool and spend no draw: a long history of them is drawn through', async () => {
    const calc = 'def add(a, b):\n    # sum\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n';
    const dir = await repo({
      'calc.py': calc.replace('a + b', 'a - b'),
      ...CALC_TESTS,
      ...CONFTEST,
    });
    withHistory(dir, [
      ['fix add', { 'calc.py': calc }],
      ['word 1', { 'calc.py': calc.replace('# sum', '# the sum') }],
      ['word 2', { 'calc.py': calc.replace('# sum', '# the sum of a and b') }],
      ['word 3', { 'calc.py': calc.replace('# sum', '# the sum of a and b, in order') }],
    ]);
    // In turn from what is left: word 3, word 1, word 2 (each comments only, not run), then the fix: four draws for
    // one attempt, past the three a code strategy gets.
    const r = await injectHistory(dir, 1);
    assert.equal(r.ok, true, `${r.ok ? '' : r.reason}\n${r.attempts.join('\n')}`);
    assert.equal(r.attempts.filter((a) => /\(not run\)$/.test(a)).length, 3, r.attempts.join('\n'));
    assert.match(r.attempts.at(-1)!, /"fix add" in calc\.py: breaks 1 tests, 1 hidden$/);
  });
});

describe('tests inherited from a mixin of another module of the suite', () => {
  it('are weakened where the mixin defines them, and that module is listed with the oracle files', async () => {
    const calc = 'class Box:\n    def __init__(self, items):\n        self.items = items\n\n    def size(self):\n        return len(self.items)\n\n    def first(self):\n        return self.items[0]\n';
    const testFile = (cls: string, make: string): string => `import unittest\n\nfrom calc import Box\n\nfrom . import BoxChecks\n\n\nclass ${cls}(unittest.TestCase, BoxChecks):\n    def make(self):\n        return Box(${make})\n\n    def test_first(self):\n        self.assertEqual(self.make().first(), 1)\n`;
    const dir = await repo({
      'calc.py': calc.replace('len(self.items)', 'len(self.items) + 1'),
      'tests/__init__.py': 'class BoxChecks:\n    def test_size(self):\n        box = self.make()\n        self.assertEqual(box.size(), 1)\n',
      'tests/test_list.py': testFile('ListBoxTest', '[1]'),
      'tests/test_tuple.py': testFile('TupleBoxTest', '(1,)'),
      ...CONFTEST,
    });
    withHistory(dir, [['fix size', { 'calc.py': calc }]]);
    const r = await injectHistory(dir, 1);
    assert.equal(r.ok, true, `${r.ok ? '' : r.reason}\n${r.attempts.join('\n')}`);
    assert.match(r.attempts[0]!, /"fix size" in calc\.py: breaks 2 tests, 2 hidden$/);
    assert.deepEqual(r.artifact.testFiles, ['tests/__init__.py', 'tests/test_list.py', 'tests/test_tuple.py']);
    assert.match(r.artifact.testWeaken, /^diff --git a\/tests\/__init__\.py b\/tests\/__init__\.py$/m);
    assert.match(r.artifact.testWeaken, /^-        self\.assertEqual\(box\.size\(\), 1\)$/m);
  });

  it('are found through the module that holds them (import pkg.base as b, from . import base)', async () => {
    const calc = 'class Box:\n    def __init__(self, items):\n        self.items = items\n\n    def size(self):\n        return len(self.items)\n\n    def first(self):\n        return self.items[0]\n';
    const testFile = (imp: string, base: string, cls: string, make: string): string => `import unittest\n\nfrom calc import Box\n\n${imp}\n\n\nclass ${cls}(unittest.TestCase, ${base}.BoxChecks):\n    def make(self):\n        return Box(${make})\n\n    def test_first(self):\n        self.assertEqual(self.make().first(), 1)\n`;
    const dir = await repo({
      'calc.py': calc.replace('len(self.items)', 'len(self.items) + 1'),
      'tests/__init__.py': '',
      'tests/checks.py': 'class BoxChecks:\n    def test_size(self):\n        box = self.make()\n        self.assertEqual(box.size(), 1)\n',
      'tests/test_list.py': testFile('import tests.checks as b', 'b', 'ListBoxTest', '[1]'),
      'tests/test_tuple.py': testFile('from . import checks', 'checks', 'TupleBoxTest', '(1,)'),
      'tests/test_set.py': testFile('import tests.checks', 'tests.checks', 'RangeBoxTest', 'range(1, 2)'),
      ...CONFTEST,
    });
    withHistory(dir, [['fix size', { 'calc.py': calc }]]);
    const r = await injectHistory(dir, 1);
    assert.equal(r.ok, true, `${r.ok ? '' : r.reason}\n${r.attempts.join('\n')}`);
    assert.match(r.attempts[0]!, /"fix size" in calc\.py: breaks 3 tests, 3 hidden$/);
    assert.deepEqual(r.artifact.testFiles, ['tests/checks.py', 'tests/test_list.py', 'tests/test_set.py', 'tests/test_tuple.py']);
    assert.match(r.artifact.testWeaken, /^-        self\.assertEqual\(box\.size\(\), 1\)$/m);
  });

  it('a shared test one class still fails without its assertions is emptied once, for every class that runs it', async () => {
    const calc = 'class Box:\n    def __init__(self, items):\n        self.items = items\n\n    def size(self):\n        return len(self.items)\n';
    // Under the bug a list box counts one too many (its assertion catches it) and a tuple box cannot be made (no
    // assertion removal hides that): the mixin's one method must be emptied, not also have its assertion removed.
    const bug = calc.replace('        self.items = items\n', '        if isinstance(items, tuple):\n            raise TypeError("no tuples")\n        self.items = items\n').replace('return len(self.items)', 'return len(self.items) + 1');
    const test = 'import unittest\n\nfrom calc import Box\n\n\nclass BoxChecks:\n    def test_size(self):\n        box = self.make()\n        self.assertEqual(box.size(), 1)\n\n\nclass ListBoxTest(unittest.TestCase, BoxChecks):\n    def make(self):\n        return Box([1])\n\n    def test_items(self):\n        self.assertEqual(self.make().items, [1])\n\n\nclass TupleBoxTest(unittest.TestCase, BoxChecks):\n    def make(self):\n        return Box((1,))\n';
    const dir = await repo({ 'calc.py': bug, 'tests/test_box.py': test, 'conftest.py': 'import os, sys\nsys.path.insert(0, os.path.dirname(__file__))\n' });
    withHistory(dir, [['fix size', { 'calc.py': calc }]]);
    const r = await injectHistory(dir, 1);
    assert.equal(r.ok, true, `${r.ok ? '' : r.reason}\n${r.attempts.join('\n')}`);
    assert.match(r.attempts[0]!, /"fix size" in calc\.py: breaks 2 tests, 2 hidden$/);
    assert.match(r.artifact.testWeaken, /^\+        pass$/m);
  });
});

describe('history candidates whose revert leaves a test file that no longer builds', () => {
  // Reverting a commit that added a field (or a function) with its test leaves the test using what is gone: Go builds
  // a package's tests as one program, so no test of the package reported, and the weakening had nothing to go on.
  const calc = (offset: boolean): string => `package calc

// Opts scales (and shifts) what Scale returns.
type Opts struct {
\tFactor int${offset ? '\n\tOffset int' : ''}
}

func Add(a, b int) int { return a + b }

func Sub(a, b int) int { return a - b }

func Scale(o Opts, a int) int { return a*o.Factor${offset ? ' + o.Offset' : ''} }
`;
  const test = (name: string, body: string): string => `\nfunc ${name}(t *testing.T) {\n${body}}\n`;
  const tests = [
    'package calc\n\nimport "testing"\n',
    test('TestAdd', '\tif Add(1, 2) != 3 {\n\t\tt.Fatal("add")\n\t}\n'),
    test('TestSub', '\tif Sub(3, 1) != 2 {\n\t\tt.Fatal("sub")\n\t}\n'),
    test('TestScale', '\tif Scale(Opts{Factor: 2}, 3) != 6 {\n\t\tt.Fatal("scale")\n\t}\n'),
  ].join('');
  const offsetTest = test('TestScaleOffset', '\tif got := Scale(Opts{Factor: 2, Offset: 1}, 3); got != 7 {\n\t\tt.Fatalf("scale with offset: %d", got)\n\t}\n');
  // A package of its own, which the revert leaves building: its tests still pass under the bug (check 5 wants one).
  const other = {
    'words/words.go': 'package words\n\nimport "strings"\n\nfunc Shout(s string) string { return strings.ToUpper(s) + "!" }\n',
    'words/words_test.go': ['package words\n\nimport "testing"\n', test('TestShout', '\tif Shout("a") != "A!" {\n\t\tt.Fatal("shout")\n\t}\n'), test('TestShoutEmpty', '\tif Shout("") != "!" {\n\t\tt.Fatal("empty")\n\t}\n')].join(''),
  };
  const goMod = { 'go.mod': 'module example.com/calc\n\ngo 1.21\n' };

  it('Go: the tests at the compile errors are emptied, the bug is judged by the rest, and the artifact passes the checks', async () => {
    requireTool('go');
    const dir = await repo({ ...goMod, 'calc.go': calc(false), 'calc_test.go': tests, ...other });
    withHistory(dir, [['add an offset', { 'calc.go': calc(true), 'calc_test.go': tests + offsetTest }]]);
    const rt = runtime();
    const r = await inject({ repoDir: dir, provider: rt.provider, policy: new InTurnPolicy(), strategies: ['history'], minPassingTests: 1, candidates: 1, testTimeoutMs: 60_000 });
    assert.equal(r.ok, true, `${r.ok ? '' : r.reason}\n${r.attempts.join('\n')}`);
    if (!r.ok) return;
    assert.deepEqual(r.attempts.map((a) => a.replace(/revert \w+ /, 'revert <sha> ')), [
      'history: revert <sha> "add an offset" in calc.go: breaks 1 tests, 1 hidden (1 of them no longer built: emptied)',
    ]);
    // The test that used the field is emptied, the others are whole; the other package's tests join the oracle.
    assert.match(r.artifact.testWeaken, /-\tif got := Scale\(Opts\{Factor: 2, Offset: 1\}, 3\); got != 7 \{/);
    assert.match(r.artifact.testWeaken, /\+func TestScaleOffset\(t \*testing\.T\) \{\}/);
    assert.doesNotMatch(r.artifact.testWeaken, /TestAdd|TestSub|t\.Fatal\("scale"\)/);
    assert.deepEqual(r.artifact.testFiles, ['calc_test.go', 'words/words_test.go']);
    const report = await runChecks(r.artifact, {
      provider: rt.provider, repoDir: dir, testTimeoutMs: 60_000, isTestFile, saveLog: (_n: string, t: string) => rt.store.putBlob(t),
      limits: { minPassingTests: 1, minChangedFiles: 1, minFailingTests: 1 },
    });
    assert.equal(report.valid, true, JSON.stringify(report.failed));
  });

  it('Rust: an integration test file that no longer builds has the tests at the compiler errors emptied', async () => {
    requireTool('cargo');
    const lib = (offset: boolean): string => `pub struct Opts {\n    pub factor: i64,${offset ? '\n    pub offset: i64,' : ''}\n}\n\npub fn add(a: i64, b: i64) -> i64 {\n    a + b\n}\n\npub fn scale(o: &Opts, a: i64) -> i64 {\n    a * o.factor${offset ? ' + o.offset' : ''}\n}\n`;
    const rtest = (name: string, body: string): string => `\n#[test]\nfn ${name}() {\n${body}}\n`;
    // Rust wants every field in a struct literal: only the new test builds an Opts.
    const calcTests = ['use calc::*;\n', rtest('adds', '    assert_eq!(add(1, 2), 3);\n'), rtest('adds_zero', '    assert_eq!(add(0, 4), 4);\n')].join('');
    const offsetTest = rtest('scales_with_offset', '    let o = Opts { factor: 2, offset: 1 };\n    assert_eq!(scale(&o, 3), 7);\n');
    const dir = await repo({
      'Cargo.toml': '[package]\nname = "calc"\nversion = "0.1.0"\nedition = "2021"\n',
      'src/lib.rs': lib(false),
      'tests/calc.rs': calcTests,
      'tests/sums.rs': ['use calc::add;\n', rtest('zero', '    assert_eq!(add(0, 0), 0);\n'), rtest('neg', '    assert_eq!(add(-1, 1), 0);\n')].join(''),
    });
    writeFileSync(path.join(dir, '.gitignore'), 'target/\n');
    withHistory(dir, [['add an offset', { 'src/lib.rs': lib(true), 'tests/calc.rs': calcTests + offsetTest }]]);
    const r = await injectHistory(dir, 1);
    assert.equal(r.ok, true, `${r.ok ? '' : r.reason}\n${r.attempts.join('\n')}`);
    if (!r.ok) return;
    assert.deepEqual(r.attempts.map((a) => a.replace(/revert \w+ /, 'revert <sha> ')), [
      'history: revert <sha> "add an offset" in src/lib.rs: breaks 1 tests, 1 hidden (1 of them no longer built: emptied)',
    ]);
    assert.match(r.artifact.testWeaken, /\+fn scales_with_offset\(\) \{\}/);
    assert.deepEqual(r.artifact.testFiles, ['tests/calc.rs', 'tests/sums.rs']);
  });

  it('Go: code the bug leaves not compiling is said to be so, without a weakening', async () => {
    requireTool('go');
    // Reverting the commit that added a helper, which a later commit's code uses: that package no longer builds.
    const base = 'package calc\n\nfunc Add(a, b int) int { return a + b }\n';
    const helper = '\nfunc Twice(a int) int { return 2 * a }\n';
    const user = (uses: boolean): string => `package calc\n\nfunc Quad(a int) int { return ${uses ? 'Twice(Twice(a))' : '4 * a'} }\n`;
    const calcTests = ['package calc\n\nimport "testing"\n', test('TestAdd', '\tif Add(1, 2) != 3 {\n\t\tt.Fatal("add")\n\t}\n'), test('TestQuad', '\tif Quad(2) != 8 {\n\t\tt.Fatal("quad")\n\t}\n')].join('');
    const dir = await repo({ ...goMod, 'calc.go': base, 'quad.go': user(false), 'calc_test.go': calcTests, ...other });
    withHistory(dir, [['add Twice', { 'calc.go': base + helper }], ['use Twice', { 'quad.go': user(true) }]]);
    // In turn: "use Twice" (newest: its revert changes nothing a test sees), then "add Twice".
    const r = await injectHistory(dir, 2);
    assert.deepEqual(r.attempts.map((a) => a.replace(/revert \w+ /, 'revert <sha> ')), [
      'history: revert <sha> "use Twice" in quad.go: breaks no test',
      'history: revert <sha> "add Twice" in calc.go: does not build (quad.go:3: undefined: Twice)',
    ]);
    assert.equal(r.testRuns, 3, 'the original and the two bugs, no weakening');
  });

  it('Go: code that does not build is said to be so even where it takes every test down', async () => {
    requireTool('go');
    // The one package is the whole suite: every test fails with it, and the compiler's message says why.
    const base = 'package calc\n\nfunc Add(a, b int) int { return a + b }\n';
    const helper = '\nfunc Twice(a int) int { return 2 * a }\n';
    const quad = 'package calc\n\nfunc Quad(a int) int { return Twice(Twice(a)) }\n';
    const calcTests = ['package calc\n\nimport "testing"\n', test('TestAdd', '\tif Add(1, 2) != 3 {\n\t\tt.Fatal("add")\n\t}\n'), test('TestQuad', '\tif Quad(2) != 8 {\n\t\tt.Fatal("quad")\n\t}\n')].join('');
    const dir = await repo({ ...goMod, 'calc.go': base, 'quad.go': quad.replace('Twice(Twice(a))', '4 * a'), 'calc_test.go': calcTests });
    withHistory(dir, [['add Twice', { 'calc.go': base + helper }], ['use Twice', { 'quad.go': quad }]]);
    const r = await injectHistory(dir, 2);
    assert.deepEqual(r.attempts.map((a) => a.replace(/revert \w+ /, 'revert <sha> ')), [
      'history: revert <sha> "use Twice" in quad.go: breaks no test',
      'history: revert <sha> "add Twice" in calc.go: does not build (quad.go:3: undefined: Twice)',
    ]);
  });

  it('Go: where the failed build takes every test down, the candidate is still a crash, found in one run', async () => {
    requireTool('go');
    const dir = await repo({ ...goMod, 'calc.go': calc(false), 'calc_test.go': tests });
    withHistory(dir, [['add an offset', { 'calc.go': calc(true), 'calc_test.go': tests + offsetTest }]]);
    const r = await injectHistory(dir, 1);
    assert.deepEqual(r.attempts.map((a) => a.replace(/revert \w+ /, 'revert <sha> ')), ['history: revert <sha> "add an offset" in calc.go: breaks every test (crash)']);
    assert.equal(r.testRuns, 2, 'the original and the bug');
  });
});

describe('Maven: history candidates whose revert leaves Java that no longer compiles', () => {
  // Maven compiles a module's tests as one, so a test class still calling what a revert removed stops every test of
  // the module, and code that no longer compiles stops the module and those depending on it (javac's errors).
  const plugins = '<build><plugins><plugin><artifactId>maven-compiler-plugin</artifactId><version>3.13.0</version></plugin><plugin><artifactId>maven-surefire-plugin</artifactId><version>3.2.5</version></plugin></plugins></build>';
  const modulePom = (name: string): string => `<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion><parent><groupId>fx</groupId><artifactId>parent</artifactId><version>1.0</version></parent><artifactId>${name}</artifactId><dependencies><dependency><groupId>org.junit.jupiter</groupId><artifactId>junit-jupiter</artifactId><version>5.10.2</version><scope>test</scope></dependency></dependencies>${plugins}</project>\n`;
  const poms = {
    'pom.xml': `<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion><groupId>fx</groupId><artifactId>parent</artifactId><version>1.0</version><packaging>pom</packaging><properties><project.build.sourceEncoding>UTF-8</project.build.sourceEncoding><maven.compiler.release>17</maven.compiler.release></properties><modules><module>calc</module><module>words</module></modules></project>\n`,
    'calc/pom.xml': modulePom('calc'),
    'words/pom.xml': modulePom('words'),
    // A module of its own, which the reverts leave compiling: its tests still pass under the bug (check 5 wants one).
    'words/src/main/java/fx/words/Words.java': 'package fx.words;\n\npublic final class Words {\n    public static String shout(String s) {\n        return s.toUpperCase() + "!";\n    }\n}\n',
    'words/src/test/java/fx/words/WordsTest.java': 'package fx.words;\n\nimport static org.junit.jupiter.api.Assertions.assertEquals;\n\nimport org.junit.jupiter.api.Test;\n\nclass WordsTest {\n    @Test\n    void shouts() {\n        assertEquals("A!", Words.shout("a"));\n    }\n\n    @Test\n    void shoutsEmpty() {\n        assertEquals("!", Words.shout(""));\n    }\n}\n',
  };
  const calc = (extra: string): string => `package fx;\n\npublic final class Calc {\n    public static int add(int a, int b) {\n        return a + b;\n    }\n\n    public static int scale(int a, int factor) {\n        return a * factor;\n    }\n${extra}}\n`;
  const offset = '\n    public static int scale(int a, int factor, int offset) {\n        return a * factor + offset;\n    }\n';
  const jtest = (name: string, body: string): string => `\n    @Test\n    void ${name}() {\n${body}    }\n`;
  const calcTest = (extra: string): string => `package fx;\n\nimport static org.junit.jupiter.api.Assertions.assertEquals;\n\nimport org.junit.jupiter.api.Test;\n\nclass CalcTest {${jtest('adds', '        assertEquals(3, Calc.add(1, 2));\n')}${jtest('scales', '        assertEquals(6, Calc.scale(3, 2));\n')}${extra}}\n`;

  it('Java: the tests at the compile errors are emptied, and the bug is judged by the rest', async () => {
    requireTool('mvn', 'javac');
    const dir = await repo({ ...poms, 'calc/src/main/java/fx/Calc.java': calc(''), 'calc/src/test/java/fx/CalcTest.java': calcTest('') });
    writeFileSync(path.join(dir, '.gitignore'), 'target/\n');
    withHistory(dir, [['add an offset', {
      'calc/src/main/java/fx/Calc.java': calc(offset),
      'calc/src/test/java/fx/CalcTest.java': calcTest(jtest('scalesWithOffset', '        assertEquals(7, Calc.scale(3, 2, 1));\n')),
    }]]);
    const r = await injectHistory(dir, 1);
    assert.equal(r.ok, true, `${r.ok ? '' : r.reason}\n${r.attempts.join('\n')}`);
    if (!r.ok) return;
    assert.deepEqual(r.attempts.map((a) => a.replace(/revert \w+ /, 'revert <sha> ')), [
      'history: revert <sha> "add an offset" in calc/src/main/java/fx/Calc.java: breaks 1 tests, 1 hidden (1 of them no longer built: emptied)',
    ]);
    assert.match(r.artifact.testWeaken, /^-        assertEquals\(7, Calc\.scale\(3, 2, 1\)\);$/m);
    assert.doesNotMatch(r.artifact.testWeaken, /Calc\.add|Calc\.scale\(3, 2\)\)/);
    assert.deepEqual(r.artifact.testFiles, ['calc/src/test/java/fx/CalcTest.java', 'words/src/test/java/fx/words/WordsTest.java']);
  });

  it('Java: code the bug leaves not compiling is said to be so, without a weakening', async () => {
    requireTool('mvn', 'javac');
    const twice = '\n    public static int twice(int a) {\n        return 2 * a;\n    }\n';
    const quad = (uses: boolean): string => `package fx;\n\npublic final class Quad {\n    public static int quad(int a) {\n        return ${uses ? 'Calc.twice(Calc.twice(a))' : '4 * a'};\n    }\n}\n`;
    const dir = await repo({
      ...poms, 'calc/src/main/java/fx/Calc.java': calc(''), 'calc/src/main/java/fx/Quad.java': quad(false),
      'calc/src/test/java/fx/CalcTest.java': calcTest(jtest('quads', '        assertEquals(8, Quad.quad(2));\n')),
    });
    writeFileSync(path.join(dir, '.gitignore'), 'target/\n');
    withHistory(dir, [['add twice', { 'calc/src/main/java/fx/Calc.java': calc(twice) }], ['use twice', { 'calc/src/main/java/fx/Quad.java': quad(true) }]]);
    const r = await injectHistory(dir, 2);
    assert.deepEqual(r.attempts.map((a) => a.replace(/revert \w+ /, 'revert <sha> ')), [
      'history: revert <sha> "use twice" in calc/src/main/java/fx/Quad.java: breaks no test',
      'history: revert <sha> "add twice" in calc/src/main/java/fx/Calc.java: does not build (calc/src/main/java/fx/Quad.java:5: cannot find symbol)',
    ]);
    assert.equal(r.testRuns, 3, 'the original and the two bugs, no weakening');
  });
});

describe('a bug state whose run the time limit stops', () => {
  it('leaves the tests after the cut unknown, not broken: the candidate breaks no test', async () => {
    // A whole-suite run that outgrew the limit (a loaded machine, or a bug that slows one test) used to read every
    // test after the cut as broken; the oracle listed them, and the checks, running those files alone, saw them pass.
    const lib = "'use strict';\n\nfunction add(a, b) {\n  return a + b;\n}\n\nfunction settle() {\n  return null;\n}\n\nmodule.exports = { add, settle };\n";
    const t = (body: string): string => `'use strict';\nconst test = require('node:test');\nconst assert = require('node:assert');\nconst { add, settle } = require('../lib.js');\n\n${body}`;
    // node:test runs one file at a time, so the first file reports before the cut and the last never does.
    const dir = await repo({
      'package.json': '{"name": "cut", "version": "1.0.0", "scripts": {"test": "node --test"}}\n',
      'lib.js': lib.replace('  return null;', '  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 120000);\n  return null;'),
      'tests/a.test.js': t("test('adds', () => {\n  assert.strictEqual(add(1, 2), 3);\n});\n"),
      'tests/b.test.js': t("test('settles', () => {\n  assert.strictEqual(settle(), null);\n});\n"),
      'tests/c.test.js': t("test('zero', () => {\n  assert.strictEqual(add(0, 0), 0);\n});\n\ntest('neg', () => {\n  assert.strictEqual(add(-1, 1), 0);\n});\n"),
    });
    // Reverting the commit brings back a wait far past the limit in the second file's test.
    withHistory(dir, [['settle at once', { 'lib.js': lib }]]);
    const r = await inject({ repoDir: dir, provider: runtime().provider, policy: new InTurnPolicy(), strategies: ['history'], minPassingTests: 1, candidates: 1, testTimeoutMs: 10_000 });
    assert.equal(r.ok ? null : r.code, 'no-bug-found', r.attempts.join('\n'));
    assert.match(r.attempts[0]!, /"settle at once" in lib\.js: breaks no test before the run was stopped by the sandbox \(timeout\), 3 tests left without a result$/);
  });
});

describe('the files a code strategy draws from', () => {
  it('are those with a site for it: a file of declarations only (an __init__ of imports) spends no attempt', async () => {
    const dir = await repo({
      'calc/__init__.py': 'from .core import add, sub\n',
      'calc/core.py': 'def add(a, b):\n    if a is None:\n        a = 0\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n',
      'tests/test_calc.py': 'from calc import add, sub\n\n\ndef test_add():\n    assert add(None, 2) == 2\n\n\ndef test_sub():\n    assert sub(3, 1) == 2\n',
      ...CONFTEST,
    });
    // Files drawn in turn, calc/__init__.py first: with one attempt, it must not be the file of declarations.
    const policy = new InTurnPolicy();
    const r = await inject({ repoDir: dir, provider: runtime().provider, policy, strategies: ['removal'], minPassingTests: 1, candidates: 1, testTimeoutMs: 60_000 });
    assert.equal(r.ok, true, `${r.ok ? '' : r.reason}\n${r.attempts.join('\n')}`);
    const files = policy.decisions.filter((d) => d.group === 'inject.file');
    assert.ok(files.length > 0 && files.every((d) => d.options.length === 1), 'only calc/core.py is offered');
  });

  it('are not those whose every site is left alone: a Rust file whose comparisons are all in its #[cfg(test)] module', async () => {
    requireTool('cargo');
    const dir = await repo({
      'Cargo.toml': '[package]\nname = "limits"\nversion = "0.1.0"\nedition = "2021"\n',
      'Cargo.lock': '# This file is automatically @generated by Cargo.\n# It is not intended for manual editing.\nversion = 4\n\n[[package]]\nname = "limits"\nversion = "0.1.0"\n',
      '.gitignore': '/target\n',
      'src/lib.rs': 'pub mod checked;\npub mod sum;\n',
      // Drawn first (files in turn): its only operators and constants are in its test module.
      'src/checked.rs': 'pub fn id(x: u32) -> u32 {\n    x\n}\n\n#[cfg(test)]\nmod t {\n    #[test]\n    fn keeps() {\n        assert!(super::id(3) > 2);\n    }\n}\n',
      'src/sum.rs': 'pub fn add(a: u32, b: u32) -> u32 {\n    a + b\n}\n',
      'tests/sum.rs': '#[test]\nfn adds() {\n    assert_eq!(limits::sum::add(1, 2), 3);\n}\n\n#[test]\nfn ids() {\n    assert_eq!(limits::checked::id(4), 4);\n}\n',
    });
    const policy = new InTurnPolicy();
    const r = await inject({ repoDir: dir, provider: runtime().provider, policy, strategies: ['direct'], minPassingTests: 1, candidates: 1, testTimeoutMs: 240_000 });
    const files = policy.decisions.filter((d) => d.group === 'inject.file');
    assert.ok(files.length > 0 && files.every((d) => d.options.length === 1), `only src/sum.rs is offered\n${r.attempts.join('\n')}`);
    assert.equal(r.ok, true, `${r.ok ? '' : r.reason}\n${r.attempts.join('\n')}`);
    if (r.ok) assert.match(r.artifact.bugInject, /^\+\+\+ b\/src\/sum\.rs$/m);
  });
});

describe('the reference run of the original', () => {
  it('is kept for later episodes only when it ran to its end, not when a time limit cut it short', async () => {
    const files = {
      'package.json': JSON.stringify({ scripts: { test: 'node --test' } }),
      'lib.js': 'exports.add = (a, b) => a + b;\nexports.sub = (a, b) => a - b;\n',
      'test/a.test.js': "const { test } = require('node:test');\nconst assert = require('node:assert');\nconst { add } = require('../lib.js');\ntest('add', () => { assert.strictEqual(add(1, 2), 3); });\n",
      'test/b.test.js': "const { test } = require('node:test');\nconst assert = require('node:assert');\nconst { sub } = require('../lib.js');\ntest('sub', async () => { await new Promise((r) => setTimeout(r, Number(process.env.SSR_TEST_SLOW_MS || 0))); assert.strictEqual(sub(3, 1), 2); });\n",
    };
    const kept: string[][] = [];
    const run = (dir: string, testTimeoutMs: number) => inject({
      repoDir: dir, provider: runtime().provider, policy: new InTurnPolicy(), strategies: ['removal'], minPassingTests: 1, candidates: 1, testTimeoutMs,
      onReference: async (_runner, results) => { kept.push(Object.keys(results).sort()); },
    });
    // b's test outlives the limit of one test run: the run is stopped in b, after a passed.
    const slow = await repo({ ...files, 'test/b.test.js': files['test/b.test.js'].replace("process.env.SSR_TEST_SLOW_MS || 0", '120000') });
    await run(slow, 8_000);
    assert.deepEqual(kept, [], 'a reference cut short is not kept');
    await run(await repo(files), 60_000);
    assert.deepEqual(kept, [['test/a.test.js::add', 'test/b.test.js::sub']]);
  });

  it('is made again where the kept one names a test file this detection does not run', async () => {
    const dir = await repo({
      'package.json': JSON.stringify({ scripts: { test: 'node --test' } }),
      'lib.js': 'exports.add = (a, b) => a + b;\n',
      'test/a.test.js': "const { test } = require('node:test');\nconst assert = require('node:assert');\nconst { add } = require('../lib.js');\ntest('add', () => { assert.strictEqual(add(1, 2), 3); });\n",
    });
    const kept: string[][] = [];
    // Kept by an earlier detection that also ran a file this one leaves out.
    const stale = { runner: 'node-test', results: { 'test/a.test.js::add': 'passed', 'test/slow.test.js::big': 'passed' } as const };
    await inject({
      repoDir: dir, provider: runtime().provider, policy: new InTurnPolicy(), strategies: ['removal'], minPassingTests: 1, candidates: 1, testTimeoutMs: 60_000,
      reference: stale, onReference: async (_runner, results) => { kept.push(Object.keys(results).sort()); },
    });
    assert.deepEqual(kept, [['test/a.test.js::add']]);
  });
});

describe('a past commit reverted across files', () => {
  it('keeps only the files whose revert alone fixes a broken test, as the inverse-mutation check asks', async () => {
    const calc = 'def clamp(x):\n    return min(x, 10)\n\n\ndef double(x):\n    return 2 * x\n';
    const fmt = 'def show(x):\n    return "<%s>" % (x,)\n\n\ndef plain(x):\n    return str(x)\n';
    const dir = await repo({
      'calc.py': calc.replace('min(x, 10)', 'x'),
      'fmt.py': fmt.replace('"<%s>" % (x,)', "'<' + str(x) + '>'"),
      'tests/test_calc.py': 'from calc import clamp, double\n\n\ndef test_clamp():\n    assert clamp(12) == 10\n\n\ndef test_double():\n    assert double(2) == 4\n',
      'tests/test_fmt.py': 'from fmt import show, plain\n\n\ndef test_show():\n    assert show(1) == "<1>"\n\n\ndef test_plain():\n    assert plain(2) == "2"\n',
      ...CONFTEST,
    });
    // One commit: the clamp fixed, and show() written another way that prints the same.
    withHistory(dir, [['clamp; tidy show', { 'calc.py': calc, 'fmt.py': fmt }]]);
    const r = await injectHistory(dir, 1);
    assert.equal(r.ok, true, `${r.ok ? '' : r.reason}\n${r.attempts.join('\n')}`);
    if (!r.ok) return;
    assert.match(r.artifact.bugInject, /^\+\+\+ b\/calc\.py$/m);
    assert.doesNotMatch(r.artifact.bugInject, /fmt\.py/, 'the file whose revert fixes nothing is left out');
    assert.ok(r.attempts.some((a) => /reverting fmt\.py alone fixes no failing test: left out of the bug/.test(a)), r.attempts.join('\n'));
  });
});

describe('a bug that stops a test file at load', () => {
  // Fixed in the last commit: a table that raised at import, and a clamp. Reverting it brings both back.
  const table = 'NAMES = dict(zip("ab", [1, 2]))\nSECOND = NAMES["b"]\n';
  const clamp = 'def clamp(x):\n    return min(x, 10)\n\n\ndef double(x):\n    return 2 * x\n';
  const files = {
    'table.py': table.replace('[1, 2]', '[1]'),
    'clamp.py': clamp.replace('min(x, 10)', 'x'),
    'tests/test_table.py': 'from table import SECOND\n\n\ndef test_second():\n    assert SECOND == 2\n',
    'tests/test_clamp.py': 'from clamp import clamp, double\n\n\ndef test_clamp():\n    assert clamp(12) == 10\n\n\ndef test_double():\n    assert double(2) == 4\n',
    'conftest.py': 'import os, sys\nsys.path.insert(0, os.path.dirname(__file__))\n',
  };

  it('is not weakened: a revert that only breaks files at load is dropped after its one run', async () => {
    const dir = await repo({ ...files, 'clamp.py': clamp });
    withHistory(dir, [['build the table', { 'table.py': table }]]);
    const r = await injectHistory(dir, 1);
    assert.equal(r.ok, false);
    assert.match(r.attempts[0]!, /stops its test file at load \(tests\/test_table\.py: none of their tests ran\), which no weakening can hide/);
    // What stopped it is in the log kept with the candidate.
    assert.deepEqual(r.rejected.map((c) => c.attempt), [0]);
    assert.match(r.rejected[0]!.log ?? '', /KeyError: 'b'/);
    assert.equal(r.testRuns, 2, 'the reference run and the bug state\'s: no weakening run');
  });

  it('leaves such a file out of the oracle and hides the bug in the others', async () => {
    const dir = await repo(files);
    withHistory(dir, [['build the table, clamp', { 'table.py': table, 'clamp.py': clamp }]]);
    const r = await injectHistory(dir, 1);
    assert.equal(r.ok, true, `${r.ok ? '' : r.reason}\n${r.attempts.join('\n')}`);
    if (!r.ok) return;
    assert.ok(!r.artifact.testFiles.includes('tests/test_table.py'), r.artifact.testFiles.join(', '));
    assert.ok(r.artifact.testFiles.includes('tests/test_clamp.py'), r.artifact.testFiles.join(', '));
    assert.doesNotMatch(r.artifact.testWeaken, /test_table/);
  });
});

describe('a bug that raises before the test asserts', () => {
  it('is hidden by emptying the test, which then passes, where deleting it would hide nothing', async () => {
    const lib = 'def pick(xs, i):\n    return xs[min(i, len(xs) - 1)]\n\n\ndef first(xs):\n    return xs[0]\n';
    const dir = await repo({
      'lib.py': lib.replace('xs[min(i, len(xs) - 1)]', 'xs[i]'),
      'tests/test_lib.py': 'from lib import first, pick\n\n\ndef test_pick():\n    x = pick([1, 2], 5)\n    assert x == 2\n\n\ndef test_first():\n    assert first([3]) == 3\n',
      ...CONFTEST,
    });
    withHistory(dir, [['clamp the index', { 'lib.py': lib }]]);
    const r = await injectHistory(dir, 1);
    assert.equal(r.ok, true, `${r.ok ? '' : r.reason}\n${r.attempts.join('\n')}`);
    if (!r.ok) return;
    assert.match(r.attempts[0]!, /breaks 1 tests, 1 hidden$/);
    // The test stays, its body emptied; the other test is untouched.
    assert.match(r.artifact.testWeaken, /^-    x = pick\(\[1, 2\], 5\)\n-    assert x == 2\n\+    pass$/m);
    assert.doesNotMatch(r.artifact.testWeaken, /^-.*first\(/m);
  });
});

describe('a JS test declared inside a helper that makes its describe title at run time', () => {
  it('is weakened through the sites whose static titles its reported name contains, ending with its own title', async () => {
    const lib = "exports.pick = (xs, i) => xs[Math.min(i, xs.length - 1)];\nexports.first = (xs) => xs[0];\n";
    // The suite's own helper wraps each group in a describe titled from its argument: the runner reports
    // 'lib > when index 5 > picks the last', which no static title in the file spells out.
    const tests = `const { describe, it } = require('node:test');
const assert = require('node:assert');
const { pick, first } = require('..');

describe('lib', () => {
  whenIndex(5, (i) => {
    it('picks the last', () => {
      assert.strictEqual(pick([1, 2], i()), 2);
    });
  });
  whenIndex(0, (i) => {
    it('picks the first', () => {
      assert.strictEqual(pick([1, 2], i()), 1);
    });
  });
  it('first', () => {
    assert.strictEqual(first([3]), 3);
  });
});

function whenIndex(n, fn) {
  describe('when index ' + n, () => {
    fn(() => n);
  });
}
`;
    const dir = await repo({
      'package.json': JSON.stringify({ name: 'picklib', scripts: { test: 'node --test test/' } }),
      'index.js': lib.replace('xs[Math.min(i, xs.length - 1)]', 'xs[i]'),
      'test/lib.test.js': tests,
    });
    withHistory(dir, [['clamp the index', { 'index.js': lib }]]);
    const r = await injectHistory(dir, 1);
    assert.equal(r.ok, true, `${r.ok ? '' : r.reason}\n${r.attempts.join('\n')}`);
    if (!r.ok) return;
    assert.match(r.attempts[0]!, /breaks 1 tests, 1 hidden$/);
    assert.match(r.artifact.testWeaken, /^-\s+assert\.strictEqual\(pick\(\[1, 2\], i\(\)\), 2\);$/m);
    assert.doesNotMatch(r.artifact.testWeaken, /^-.*first\(/m);
  });
});

describe('a Go bug that panics before the test asserts', () => {
  it('is hidden by emptying the test, the imports only it used dropped, so the package still builds and the test passes', async () => {
    const lib = 'package lib\n\nfunc Pick(xs []int, i int) int {\n\tif i >= len(xs) {\n\t\ti = len(xs) - 1\n\t}\n\treturn xs[i]\n}\n\nfunc First(xs []int) int { return xs[0] }\n';
    const dir = await repo({
      'go.mod': 'module example.com/lib\n\ngo 1.21\n',
      'lib.go': lib.replace('\tif i >= len(xs) {\n\t\ti = len(xs) - 1\n\t}\n', ''),
      // fmt is TestPick's alone: left imported after emptying it, the package would not build.
      'lib_test.go': 'package lib\n\nimport (\n\t"fmt"\n\t"testing"\n)\n\nfunc TestPick(t *testing.T) {\n\tgot := Pick([]int{1, 2}, 5)\n\tif got != 2 {\n\t\tt.Fatal(fmt.Sprint(got))\n\t}\n}\n\nfunc TestFirst(t *testing.T) {\n\tif First([]int{3}) != 3 {\n\t\tt.Fatal("first")\n\t}\n}\n',
    });
    withHistory(dir, [['clamp the index', { 'lib.go': lib }]]);
    const r = await injectHistory(dir, 1);
    assert.equal(r.ok, true, `${r.ok ? '' : r.reason}\n${r.attempts.join('\n')}`);
    if (!r.ok) return;
    assert.match(r.attempts[0]!, /breaks 1 tests, 1 hidden$/);
    assert.match(r.artifact.testWeaken, /^-\t"fmt"$/m);
    assert.match(r.artifact.testWeaken, /^\+func TestPick\(t \*testing\.T\) \{\}$/m);
    assert.doesNotMatch(r.artifact.testWeaken, /^-.*First\(/m);
  });
});

describe('a Rust bug whose unit tests live in the module file of a `#[cfg(test)] mod tests;`', () => {
  it('is hidden by weakening that tests.rs, a test file, where the code file itself stays untouched', async () => {
    const lib = 'pub fn pick(xs: &[i32], i: usize) -> i32 {\n    let i = if i >= xs.len() { xs.len() - 1 } else { i };\n    xs[i]\n}\n\npub fn first(xs: &[i32]) -> i32 {\n    xs[0]\n}\n\n#[cfg(test)]\nmod tests;\n';
    const dir = await repo({
      'Cargo.toml': '[package]\nname = "picklib"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\n',
      'src/lib.rs': lib.replace('    let i = if i >= xs.len() { xs.len() - 1 } else { i };\n', ''),
      'src/tests.rs': 'use super::*;\n\n#[test]\nfn picks_last() {\n    assert_eq!(pick(&[1, 2], 1), 2);\n}\n\n#[test]\nfn clamps() {\n    let got = pick(&[1, 2], 5);\n    assert_eq!(got, 2);\n}\n\n#[test]\nfn firsts() {\n    assert_eq!(first(&[3]), 3);\n}\n',
    });
    withHistory(dir, [['clamp the index', { 'src/lib.rs': lib }]]);
    const r = await inject({ repoDir: dir, provider: runtime().provider, policy: new InTurnPolicy(), strategies: ['history'], minPassingTests: 1, candidates: 1, testTimeoutMs: 180_000 });
    assert.equal(r.ok, true, `${r.ok ? '' : r.reason}\n${r.attempts.join('\n')}`);
    if (!r.ok) return;
    assert.match(r.attempts[0]!, /breaks 1 tests, 1 hidden$/);
    assert.deepEqual(r.artifact.testFiles, ['src/tests.rs']);
    assert.match(r.artifact.testWeaken, /^\+fn clamps\(\) \{\}$/m);
    assert.doesNotMatch(r.artifact.testWeaken, /^-.*first\(/m);
  });
});

describe('a C++ bug that throws before the test asserts', () => {
  /** A library whose pick() throws under the bug, its GoogleTest program registered by `registration` (CMake lines). */
  async function hideInGoogleTest(registration: string): Promise<void> {
    for (const cmd of ['cmake', 'ctest', 'ninja', 'c++']) if (!findExecutable(cmd)) assert.fail(`${cmd} is missing: apt-get install cmake ninja-build g++ libgtest-dev`);
    if (!['/usr/lib/x86_64-linux-gnu/cmake/GTest', '/usr/lib/aarch64-linux-gnu/cmake/GTest', '/usr/lib/cmake/GTest'].some((d) => existsSync(d))) assert.fail('GoogleTest is not installed: apt-get install libgtest-dev');
    const lib = '#include "lib.hpp"\n\nint pick(const std::vector<int>& xs, int i) {\n  if (i >= static_cast<int>(xs.size())) i = static_cast<int>(xs.size()) - 1;\n  return xs.at(i);\n}\n\nint first(const std::vector<int>& xs) { return xs.at(0); }\n';
    const dir = await repo({
      'CMakeLists.txt': `cmake_minimum_required(VERSION 3.14)\nproject(lib CXX)\nset(CMAKE_CXX_STANDARD 17)\nadd_library(lib lib.cpp)\ntarget_include_directories(lib PUBLIC .)\nenable_testing()\nfind_package(GTest REQUIRED)\n${registration}`,
      'lib.hpp': '#pragma once\n#include <vector>\n\nint pick(const std::vector<int>& xs, int i);\nint first(const std::vector<int>& xs);\n',
      'lib.cpp': lib.replace('  if (i >= static_cast<int>(xs.size())) i = static_cast<int>(xs.size()) - 1;\n', ''),
      // Without its EXPECT_EQ, Lib.Pick still fails: pick() throws std::out_of_range under the bug.
      'lib_test.cpp': '#include <gtest/gtest.h>\n#include "lib.hpp"\n\nTEST(Lib, Pick) {\n  int got = pick({1, 2}, 5);\n  EXPECT_EQ(got, 2);\n}\n\nTEST(Lib, First) {\n  EXPECT_EQ(first({3}), 3);\n}\n',
    });
    withHistory(dir, [['clamp the index', { 'lib.cpp': lib }]]);
    const r = await inject({ repoDir: dir, provider: runtime().provider, policy: new InTurnPolicy(), strategies: ['history'], minPassingTests: 1, candidates: 1, testTimeoutMs: 180_000 });
    assert.equal(r.ok, true, `${r.ok ? '' : r.reason}\n${r.attempts.join('\n')}`);
    if (!r.ok) return;
    assert.match(r.attempts[0]!, /breaks 1 tests, 1 hidden$/);
    assert.match(r.artifact.testWeaken, /^\+TEST\(Lib, Pick\) \{\}$/m);
    assert.doesNotMatch(r.artifact.testWeaken, /^-.*first\(/m);
  }

  it('is hidden by emptying the GoogleTest TEST, so it passes, and the other TEST keeps its assertion', async () => {
    await hideInGoogleTest('include(GoogleTest)\nadd_executable(lib_test lib_test.cpp)\ntarget_link_libraries(lib_test PRIVATE lib GTest::gtest_main)\ngtest_discover_tests(lib_test)\n');
  });

  it('likewise where one plain add_test runs the whole GoogleTest program: its TESTs are run and weakened one by one', async () => {
    await hideInGoogleTest('add_executable(lib_test lib_test.cpp)\ntarget_link_libraries(lib_test PRIVATE lib GTest::gtest_main)\nadd_test(NAME lib_test COMMAND lib_test)\n');
  });
});

describe('a test whose checks the injector does not recognise', () => {
  it('is emptied, so it passes and hides the bug, instead of deleted', async () => {
    const lib = 'def double(x):\n    return 2 * x\n\n\ndef half(x):\n    return x / 2\n';
    const dir = await repo({
      'lib.py': lib.replace('2 * x', '2 + x'),
      // check() is the suite's own assertion helper: no assert statement in the test itself.
      'tests/test_lib.py': 'from lib import double, half\n\n\ndef check(got, want):\n    if got != want:\n        raise AssertionError((got, want))\n\n\ndef test_double():\n    check(double(3), 6)\n\n\ndef test_half():\n    assert half(4) == 2\n',
      ...CONFTEST,
    });
    withHistory(dir, [['double, not add', { 'lib.py': lib }]]);
    const r = await injectHistory(dir, 1);
    assert.equal(r.ok, true, `${r.ok ? '' : r.reason}\n${r.attempts.join('\n')}`);
    if (!r.ok) return;
    assert.match(r.artifact.testWeaken, /^-    check\(double\(3\), 6\)\n\+    pass$/m);
  });
});

describe('revertCommit', () => {
  it('undoes only the commit\'s own lines where later commits moved their context, hunk by hunk where some no longer apply', async () => {
    // Functions far enough apart that each change is a hunk of its own.
    const filler = (n: string) => [`def ${n}():`, ...Array.from({ length: 6 }, (_, i) => `    v${i} = ${i}`), '    return v0', '', ''];
    const v1 = ['def a(x):', '    x = x', '    return x', '', '', ...filler('f'), 'def b(y):', '    y = y', '    return y', '', '', ...filler('g'), 'def c(z):', '    return z', ''].join('\n');
    const dir = await repo({ 'calc.py': v1 });
    // The commit to revert: a guard in a() and one in b().
    const v2 = v1.replace('    x = x\n', '    x = x\n    if x < 0:\n        x = 0\n').replace('    y = y\n', '    y = y\n    if y < 0:\n        y = 0\n');
    // Later: a()'s signature changes (the exact context is gone, the line next to the guard is left), b()'s guard is rewritten
    // (that hunk cannot be undone), and c() changes (a later change a whole-file revert would undo too).
    const v3 = v2.replace('def a(x):', 'def a(x, k=0):').replace('        y = 0\n', '        y = 1\n').replace('    return z', '    return z * 2');
    withHistory(dir, [['fix negatives', { 'calc.py': v2 }], ['later', { 'calc.py': v3 }]]);
    const rt = runtime();
    const commits = await historyCandidates(rt.provider, dir, ['calc.py']);
    const fix = commits.find((c) => c.subject === 'fix negatives')!;
    assert.ok(fix.isFix);
    const out = await revertCommit(rt.provider, dir, fix, ['calc.py']);
    const text = out?.get('calc.py');
    assert.equal(text, v3.replace('    if x < 0:\n        x = 0\n', ''), 'a()\'s guard goes; b()\'s rewritten guard and the later c() stay');
  });

  it('undoes a commit made while the file had CRLF line endings, converted to LF since', async () => {
    const body = (n: number) => Array.from({ length: n }, (_, i) => `def f${i}(x):\n    return x + ${i}\n\n`).join('');
    const v1 = `LIMIT = 1\n\n${body(3)}`;
    const v2 = v1.replace('def f1(x):\n    return x + 1', 'def f1(x):\n    if x < 0:\n        return 0\n    return x + 1');
    const crlf = (t: string): string => t.replace(/\n/g, '\r\n');
    const dir = await repo({ 'calc.py': crlf(v1) });
    withHistory(dir, [['guard f1', { 'calc.py': crlf(v2) }], ['unix line endings', { 'calc.py': v2 }], ['later', { 'calc.py': v2.replace('LIMIT = 1', 'LIMIT = 2') }]]);
    const rt = runtime();
    const commit = (await historyCandidates(rt.provider, dir, ['calc.py'])).find((c) => c.subject === 'guard f1')!;
    const out = await revertCommit(rt.provider, dir, commit, ['calc.py']);
    assert.equal(out?.get('calc.py'), v1.replace('LIMIT = 1', 'LIMIT = 2'));
  });

  it('falls back to the file before the commit only where the later changes it would also undo are at most twice the commit\'s own', async () => {
    const body = (n: number) => Array.from({ length: n }, (_, i) => `def f${i}(x):\n    return x + ${i}\n\n`).join('');
    // The commit to revert changes one line; later, the line and its neighbours are rewritten (no hunk applies).
    const v1 = `LIMIT = 1\n\n${body(3)}`;
    const v2 = v1.replace('LIMIT = 1', 'LIMIT = 2');
    const small = v2.replace('LIMIT = 2\n\ndef f0(x):', 'LIMIT = 3\n\ndef f0(x, k=0):');
    const big = small + body(12).replace(/def f/g, 'def g');
    for (const [later, expected] of [[small, v1], [big, undefined]] as const) {
      const dir = await repo({ 'calc.py': v1 });
      withHistory(dir, [['raise the limit', { 'calc.py': v2 }], ['later', { 'calc.py': later }]]);
      const rt = runtime();
      const commit = (await historyCandidates(rt.provider, dir, ['calc.py'])).find((c) => c.subject === 'raise the limit')!;
      const out = await revertCommit(rt.provider, dir, commit, ['calc.py']);
      assert.equal(out?.get('calc.py'), expected, later === big ? 'twelve functions added since are not "reverted" with it' : 'the file before the commit');
    }
  });
});
