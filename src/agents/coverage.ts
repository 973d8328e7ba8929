/**
 * Which lines of code the failing tests executed: the solver's dynamic localisation. A bug can only be on a line the
 * failing tests ran (or in a declaration they read), so an edit elsewhere is a poor bet however suspicious its
 * function looks to the static call graph. One extra run of the runner's own script over the failing tests' files,
 * with each language's native coverage switched on from the outside, so that no runner and no repository changes:
 *   Python  a sitecustomize on PYTHONPATH sets sys.settrace; it keeps the lines run while a failing test's function
 *           was on the stack (per test, whatever the runner: pytest, unittest), plus module and class bodies
 *           (imports run those outside any test);
 *   JS      V8's block counts: per test for node:test (a preloaded hook takes them around each test function),
 *           else NODE_V8_COVERAGE for every node process (the failing tests' files as one test); a script whose
 *           source V8 saw is not the file on disk (a transforming loader: jest's babel, tsx) is dropped, since its
 *           offsets mean nothing here;
 *   Go      the go-test script adds -coverpkg=./... -coverprofile when SSR_COV_DIR is set, and runs only the failing
 *           tests when SSR_COV_TESTS names them.
 * Anything else (Rust, a runner that never starts the instrumented process) yields no data for its language, and the
 * solver's features say "unknown", not "not executed".
 */
import type { Sandbox } from '../sandbox/types.js';
import type { Runner } from '../repo/runners/index.js';
import { shQuote } from '../sandbox/shell.js';
import { testNameOf } from './common.js';

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

const SITECUSTOMIZE = String.raw`
import os, sys, atexit, json, threading

def _ssr_cov():
    root, out = os.environ.get('SSR_COV_ROOT'), os.environ.get('SSR_COV_DIR')
    if not root or not out:
        return
    root = os.path.realpath(root) + os.sep
    failing = set(n for n in os.environ.get('SSR_COV_TESTS', '').split(',') if n)
    test_files = set(f for f in os.environ.get('SSR_COV_TEST_FILES', '').split('\n') if f)
    skip = (os.sep + 'site-packages' + os.sep, os.sep + 'dist-packages' + os.sep, os.sep + '.venv' + os.sep,
            os.sep + 'venv' + os.sep, os.sep + 'node_modules' + os.sep)
    # tests: 'f:name' / 'p:name' -> file -> lines run while that test function was on the stack (the innermost one).
    tests, module, anytime, rels, stack = {}, {}, {}, {}, []

    def rel(fn):
        r = rels.get(fn, 0)
        if r == 0:
            p = os.path.realpath(fn) if fn and not fn.startswith('<') else ''
            r = p[len(root):] if p.startswith(root) and not any(s in p for s in skip) else None
            rels[fn] = r
        return r

    def local(r, module_level, test):
        m, a = module.setdefault(r, set()), anytime.setdefault(r, set())
        def tr(frame, event, arg):
            if event == 'line':
                n = frame.f_lineno
                a.add(n)
                if stack:
                    stack[-1].setdefault(r, set()).add(n)
                if module_level:
                    m.add(n)
            elif event == 'return' and test is not None and stack and stack[-1] is test:
                stack.pop()
            return tr
        return tr

    def glob(frame, event, arg):
        co = frame.f_code
        r = rel(co.co_filename)
        if r is None:
            return None
        test = None
        if co.co_name in failing:
            test = tests.setdefault('f:' + co.co_name, {})
        elif r in test_files and co.co_name.startswith('test'):
            test = tests.setdefault('p:' + co.co_name, {})
        if test is not None:
            stack.append(test)
        # CO_OPTIMIZED is set on function bodies only: without it, a module or class body (definitions, constants).
        return local(r, not (co.co_flags & 1), test)

    def dump():
        sys.settrace(None)
        sets = lambda v: {f: sorted(s) for f, s in v.items() if s}
        data = {'tests': {k: sets(v) for k, v in tests.items()}, 'module': sets(module), 'any': sets(anytime)}
        try:
            with open(os.path.join(out, 'py-%d.json' % os.getpid()), 'w') as fh:
                json.dump(data, fh)
        except OSError:
            pass

    atexit.register(dump)
    threading.settrace(glob)
    sys.settrace(glob)

_ssr_cov()
del _ssr_cov
`;

/**
 * node:test, per test: preloaded (NODE_OPTIONS=--require) into every node process of the run. It wraps the builtin
 * module's test/it/describe/suite (and syncs the ESM view of it, so `import { test } from 'node:test'` gets the
 * wrappers), and takes V8's precise block coverage (an in-process inspector session, synchronous) before and after
 * each test function: the counts in between are that test's. Names are the parser's ids: the suites' names and the
 * test's, joined by ' > '. What runs outside any test (loading the modules) is kept apart, as Python's module bodies.
 */
export const NODE_TEST_HOOK = String.raw`
'use strict';
(() => {
  const root = process.env.SSR_COV_ROOT, out = process.env.SSR_COV_DIR;
  if (!root || !out) return;
  const fs = require('node:fs'), inspector = require('node:inspector'), Module = require('node:module');
  let prefix;
  try { prefix = 'file://' + fs.realpathSync(root) + '/'; } catch { return; }
  const failing = (process.env.SSR_COV_JS_TESTS || '').split('\n').filter(Boolean);
  const session = new inspector.Session();
  // A process started without an inspector (node --test's runner under some flags) cannot be measured.
  try { session.connect(); } catch { return; }
  const post = (method, params) => {
    let res, err;
    session.post(method, params || {}, (e, r) => { err = e; res = r; });
    if (err) throw err;
    return res;
  };
  try {
    post('Profiler.enable');
    post('Profiler.startPreciseCoverage', { callCount: true, detailed: true });
  } catch { return; }
  const texts = new Map();
  const textOf = (file) => {
    if (!texts.has(file)) { try { texts.set(file, fs.readFileSync(file, 'utf8')); } catch { texts.set(file, null); } }
    return texts.get(file);
  };
  // Lines run since the last take, by repository file: a line ran when the innermost block range around its first
  // non-blank character has a non-zero count. A script whose top-level range is not the file's length was compiled
  // from something else (a transforming loader): its offsets cannot be placed, so it is left out.
  const take = (into) => {
    let result;
    try { result = post('Profiler.takePreciseCoverage').result; } catch { return; }
    for (const s of result) {
      if (!s.url.startsWith(prefix) || s.url.includes('/node_modules/')) continue;
      const file = decodeURIComponent(s.url.slice('file://'.length).split('?')[0]);
      const text = textOf(file);
      const ranges = s.functions.flatMap((f) => f.ranges);
      if (text === null || !ranges.length) continue;
      // Takes after the first report only the functions that ran since; the script's own top level shows at load.
      const top = s.functions.find((f) => f.functionName === '' && f.ranges[0].startOffset === 0);
      if ((top && top.ranges[0].endOffset !== text.length) || ranges.some((r) => r.endOffset > text.length)) continue;
      ranges.sort((x, y) => x.startOffset - y.startOffset || y.endOffset - x.endOffset);
      const rel = file.slice(prefix.length - 'file://'.length);
      const lines = into[rel] || (into[rel] = []);
      let off = 0, n = 0;
      for (const line of text.split('\n')) {
        n++;
        const o = off + (line.length - line.trimStart().length);
        off += line.length + 1;
        if (!line.trim()) continue;
        let best = null;
        for (const r of ranges) {
          if (r.startOffset > o) break;
          if (o < r.endOffset && (!best || r.endOffset - r.startOffset <= best.endOffset - best.startOffset)) best = r;
        }
        if (best && best.count > 0) lines.push(n);
      }
    }
  };
  // The format of the Python tracer's files: lines per test ('f:'/'p:' + name), and outside any test ('module').
  const data = { tests: {}, module: {}, any: {} };
  const suites = [];
  const nameOf = (args, fn) => (typeof args[0] === 'string' ? args[0] : (fn && fn.name) || '<anonymous>');
  const isFailing = (full) => failing.some((f) => f === full || f.startsWith(full + ' > '));
  const wrapTestFn = (full, fn) => {
    // A callback-style test (t, done) is told apart by its arity: keep its shape, lose its attribution.
    if (typeof fn !== 'function' || fn.length >= 2) return fn;
    const key = (isFailing(full) ? 'f:' : 'p:') + full;
    const w = async function (...a) {
      take(data.module);
      try { return await fn.apply(this, a); } finally { take(data.tests[key] || (data.tests[key] = {})); }
    };
    Object.defineProperty(w, 'length', { value: fn.length });
    return w;
  };
  const wrap = (orig, suite) => {
    if (typeof orig !== 'function') return orig;
    const w = function (...args) {
      const i = args.findIndex((x) => typeof x === 'function');
      if (i >= 0) {
        const fn = args[i], name = nameOf(args, fn);
        if (suite) {
          args[i] = function (...a) { suites.push(name); try { return fn.apply(this, a); } finally { suites.pop(); } };
        } else {
          args[i] = wrapTestFn([...suites, name].join(' > '), fn);
        }
      }
      return orig.apply(this, args);
    };
    for (const k of Object.keys(orig)) w[k] = ['only', 'skip', 'todo'].includes(k) ? wrap(orig[k], suite) : orig[k];
    return w;
  };
  const nt = require('node:test');
  for (const k of ['test', 'it']) if (typeof nt[k] === 'function') nt[k] = wrap(nt[k], false);
  for (const k of ['describe', 'suite']) if (typeof nt[k] === 'function') nt[k] = wrap(nt[k], true);
  Module.syncBuiltinESMExports();
  process.on('exit', () => {
    take(data.module);
    try { fs.writeFileSync(out + '/js-' + process.pid + '.json', JSON.stringify(data)); } catch {}
  });
})();
`;

/**
 * Reads what the instrumented run left in SSR_COV_DIR and prints, for the files asked about, each executed line's
 * spectrum [ef, ep]: how many failing and how many passing tests ran it, out of F and P per language. Where a language
 * cannot tell tests apart, each group of tests counts as one test (JS: the failing tests' files as one failing test).
 */
const REDUCER = String.raw`
import glob, json, os, re, sys

root = os.path.realpath(os.environ['SSR_COV_ROOT'])
out = os.environ['SSR_COV_DIR']
wanted = [f for f in os.environ.get('SSR_COV_FILES', '').split('\n') if f]
langs, totals, spectra = set(), {}, {}

def source(rel):
    try:
        with open(os.path.join(root, rel), encoding='utf-8', errors='surrogateescape') as fh:
            return fh.read()
    except OSError:
        return None

def add(rel, lines, ef, ep):
    s = spectra.setdefault(rel, {})
    for n in lines:
        cur = s.get(n, (0, 0))
        s[n] = (cur[0] + ef, cur[1] + ep)

# Per-test files (Python's tracer, the node:test hook): lines per test, and lines run outside any test (module and
# class bodies, loading), which count as run by every test. When no failing test's own function ever ran (a failure
# at collection or in a fixture), all lines as one failing test.
def per_test(lang, pattern):
    files = []
    for p in glob.glob(os.path.join(out, pattern)):
        try:
            files.append(json.load(open(p)))
        except (OSError, ValueError):
            pass
    if not files:
        return False
    keys = set(k for d in files for k in d.get('tests', {}))
    F = len([k for k in keys if k.startswith('f:')])
    P = len(keys) - F
    if F == 0:
        union = {}
        for d in files:
            for part in [d.get('any', {}), d.get('module', {})] + list(d.get('tests', {}).values()):
                for rel, lines in part.items():
                    union.setdefault(rel, set()).update(lines)
        if not any(union.values()):
            return False
        F, P = 1, 0
        for rel, lines in union.items():
            add(rel, lines, 1, 0)
    else:
        merged, module = {}, {}
        for d in files:
            for k, parts in d.get('tests', {}).items():
                for rel, lines in parts.items():
                    merged.setdefault((k, rel), set()).update(lines)
            for rel, lines in d.get('module', {}).items():
                module.setdefault(rel, set()).update(lines)
        for (k, rel), lines in merged.items():
            add(rel, lines, 1 if k.startswith('f:') else 0, 0 if k.startswith('f:') else 1)
        for rel, lines in module.items():
            add(rel, lines - set(spectra.get(rel, {})), F, P)
    langs.add(lang)
    totals[lang] = [F, P]
    return True

per_test('python', 'py-*.json')

# JS: node:test per test (the hook); other runners through NODE_V8_COVERAGE, the failing tests' files as one test.
# There a line ran when the innermost block range around its first non-blank character has a non-zero count.
if not per_test('js', 'js-*.json'):
    js_lines = {}
    for p in glob.glob(os.path.join(out, 'v8', '*.json')):
        try:
            scripts = json.load(open(p)).get('result', [])
        except (OSError, ValueError):
            continue
        for s in scripts:
            url = s.get('url', '')
            if not url.startswith('file://'):
                continue
            path = os.path.realpath(url[len('file://'):].split('?')[0])
            if not path.startswith(root + os.sep) or '/node_modules/' in path:
                continue
            rel = path[len(root) + 1:]
            text = source(rel)
            ranges = [r for f in s.get('functions', []) for r in f.get('ranges', [])]
            if text is None or not ranges:
                continue
            # V8 counts offsets in the source it compiled: when that was not this file, none of them can be placed.
            if max(r['endOffset'] for r in ranges) != len(text):
                continue
            ranges.sort(key=lambda r: (r['startOffset'], -r['endOffset']))
            lines, off = js_lines.setdefault(rel, set()), 0
            for n, line in enumerate(text.split('\n'), 1):
                stripped = len(line) - len(line.lstrip())
                o = off + stripped
                off += len(line) + 1
                if stripped == len(line):
                    continue
                best = None
                for r in ranges:
                    if r['startOffset'] > o:
                        break
                    if o < r['endOffset'] and (best is None or r['endOffset'] - r['startOffset'] <= best['endOffset'] - best['startOffset']):
                        best = r
                if best is not None and best['count'] > 0:
                    lines.add(n)
    if js_lines:
        langs.add('js')
        totals['js'] = [1, 0]
        for rel, lines in js_lines.items():
            add(rel, lines, 1, 0)

# Go: profiles name files by import path; a line ran unless it lies only in blocks that never did. Lines outside any
# block (declarations) count as run: the profile says nothing against them. go-f-* profiles are the failing tests'
# runs, go-p-* the passing tests' of the same files.
mods = {}
for d, dirs, files in os.walk(root):
    dirs[:] = [x for x in dirs if x not in ('.git', 'vendor', 'node_modules', 'testdata')]
    if 'go.mod' in files:
        m = re.search(r'^module\s+(\S+)', source(os.path.relpath(os.path.join(d, 'go.mod'), root)) or '', re.M)
        if m:
            mods[m.group(1).strip('"')] = os.path.relpath(d, root)
BLOCK = re.compile(r'^(.+\.go):(\d+)\.\d+,(\d+)\.\d+ \d+ (\d+)$')
for group in ('f', 'p'):
    hit, dead = {}, {}
    profiles = glob.glob(os.path.join(out, 'go-%s-*.out' % group))
    for p in profiles:
        try:
            rows = open(p).read().split('\n')
        except OSError:
            continue
        for row in rows:
            m = BLOCK.match(row)
            if not m:
                continue
            name = m.group(1)
            mod = max((k for k in mods if name.startswith(k + '/')), key=len, default=None)
            if mod is None:
                continue
            rel = os.path.normpath(os.path.join(mods[mod], name[len(mod) + 1:]))
            span = range(int(m.group(2)), int(m.group(3)) + 1)
            (hit if int(m.group(4)) > 0 else dead).setdefault(rel, set()).update(span)
    if group == 'f' and (hit or dead):
        langs.add('go')
        totals['go'] = [1, 0]
    elif group == 'p' and (hit or dead) and 'go' in langs:
        totals['go'] = [1, 1]
    elif group == 'p':
        continue
    for rel in set(hit) | set(dead):
        text = source(rel)
        if text is not None:
            ran = set(range(1, text.count('\n') + 2)) - (dead.get(rel, set()) - hit.get(rel, set()))
            add(rel, ran, 1 if group == 'f' else 0, 1 if group == 'p' else 0)

print(json.dumps({'langs': sorted(langs), 'totals': totals,
                  'spectra': {f: {str(n): list(v) for n, v in sorted(spectra.get(f, {}).items())} for f in wanted}}))
`;

export type CoverageLang = 'python' | 'js' | 'go';

/**
 * Runners whose tests run the files on disk as they are, in a process the environment above instruments. Not jest or
 * vitest (they transform every module, so V8's offsets are not the file's), not TypeScript (a loader compiles it),
 * not cargo: a coverage run for them would spend a test run to learn nothing.
 */
export function coverageSupported(runner: Pick<Runner, 'name' | 'language'>): boolean {
  return ['pytest', 'unittest', 'node-test', 'mocha', 'ava', 'tape', 'go-test'].includes(runner.name) && runner.language !== 'typescript';
}

/** The language whose coverage speaks for a file; null where none is collected. */
export function coverageLangOf(file: string): CoverageLang | null {
  if (/\.py$/.test(file)) return 'python';
  if (/\.[cm]?js$|\.jsx$/.test(file)) return 'js';
  if (/\.go$/.test(file)) return 'go';
  return null;
}

type Spectrum = readonly [ef: number, ep: number];

/**
 * The failing tests' coverage of the files asked about, for the languages the run produced data for: per executed
 * line, how many failing (ef) and passing (ep) tests ran it, out of F failing and P passing tests of its language.
 */
export class Coverage {
  constructor(
    readonly langs: ReadonlySet<CoverageLang>,
    private readonly totals: ReadonlyMap<CoverageLang, Spectrum>,
    private readonly spectra: ReadonlyMap<string, ReadonlyMap<number, Spectrum>>,
  ) {}

  /** Whether the failing tests ran any of lines `from`..`to` of `file`; null when coverage cannot say. */
  executed(file: string, from: number, to = from): boolean | null {
    const lang = coverageLangOf(file);
    if (!lang || !this.langs.has(lang)) return null;
    for (let l = from; l <= to; l++) if ((this.spectra.get(file)?.get(l)?.[0] ?? 0) > 0) return true;
    return false;
  }

  /**
   * The highest Ochiai coefficient ef / sqrt(F · (ef + ep)) of lines `from`..`to`: 1 for a line that every failing
   * test and no passing test ran. Null when coverage cannot say.
   */
  ochiai(file: string, from: number, to = from): number | null {
    const lang = coverageLangOf(file);
    if (!lang || !this.langs.has(lang)) return null;
    const F = this.totals.get(lang)?.[0] ?? 0;
    let best = 0;
    for (let l = from; l <= to; l++) {
      const [ef, ep] = this.spectra.get(file)?.get(l) ?? [0, 0];
      if (ef > 0 && F > 0) best = Math.max(best, ef / Math.sqrt(F * (ef + ep)));
    }
    return best;
  }

  /** The reducer's JSON; anything malformed in it is dropped, never trusted. */
  static parse(json: string): Coverage {
    const v = JSON.parse(json) as { langs?: unknown; totals?: unknown; spectra?: unknown };
    const isLang = (l: unknown): l is CoverageLang => l === 'python' || l === 'js' || l === 'go';
    const pair = (x: unknown): Spectrum | null =>
      Array.isArray(x) && x.length === 2 && x.every((n) => Number.isInteger(n) && n >= 0) ? [x[0] as number, x[1] as number] : null;
    const langs = new Set((Array.isArray(v.langs) ? v.langs : []).filter(isLang));
    const totals = new Map<CoverageLang, Spectrum>();
    for (const [l, t] of Object.entries((v.totals ?? {}) as Record<string, unknown>)) {
      const p = pair(t);
      if (isLang(l) && p) totals.set(l, p);
    }
    const spectra = new Map<string, Map<number, Spectrum>>();
    for (const [f, lines] of Object.entries((v.spectra ?? {}) as Record<string, unknown>)) {
      const m = new Map<number, Spectrum>();
      for (const [n, x] of Object.entries((lines ?? {}) as Record<string, unknown>)) {
        const p = pair(x);
        if (Number.isInteger(Number(n)) && p) m.set(Number(n), p);
      }
      spectra.set(f, m);
    }
    return new Coverage(langs, totals, spectra);
  }
}

/** The function name a coverage tracer sees for a test id: the last part of its own name (no class, no parameters). */
export function coverageTestName(id: string): string {
  return testNameOf(id).split(/::|\./).pop() ?? '';
}

export interface CoverageRun { coverage: Coverage | null; durationMs: number; error?: string }

/**
 * Runs `testFiles` with the runner's own script and coverage on; the spectra of `files`' lines over the `failing`
 * tests and the passing tests of the same files.
 * Never throws for what the run does: a run that is killed or leaves nothing readable gives `coverage: null`.
 */
export async function failingCoverage(sb: Sandbox, runner: Runner, testFiles: string[], failing: string[], files: string[], timeoutMs: number): Promise<CoverageRun> {
  const t0 = Date.now();
  const names = [...new Set(failing.map(coverageTestName).filter((n) => /^[\w$]+$/.test(n)))];
  const script = runner.script(testFiles);
  const cmd = [
    'set -u',
    'rm -rf /tmp/ssr/cov /tmp/ssr/covpy && mkdir -p /tmp/ssr/cov/v8 /tmp/ssr/covpy',
    `echo '${b64(SITECUSTOMIZE)}' | base64 -d > /tmp/ssr/covpy/sitecustomize.py`,
    `echo '${b64(REDUCER)}' | base64 -d > /tmp/ssr/cov_reduce.py`,
    `echo '${b64(script)}' | base64 -d > /tmp/ssr/cov_script.sh`,
    `echo '${b64(NODE_TEST_HOOK)}' | base64 -d > /tmp/ssr/covpy/ssr_node_test_hook.cjs`,
    'export SSR_COV_ROOT="$(pwd -P)" SSR_COV_DIR=/tmp/ssr/cov',
    // node:test gets its tests apart through the hook; V8's own dump would see counters the hook resets.
    runner.name === 'node-test'
      ? 'export NODE_OPTIONS="--require /tmp/ssr/covpy/ssr_node_test_hook.cjs${NODE_OPTIONS:+ $NODE_OPTIONS}"'
      : 'export NODE_V8_COVERAGE=/tmp/ssr/cov/v8',
    `export SSR_COV_JS_TESTS=${shQuote(failing.map((id) => testNameOf(id)).join('\n'))}`,
    `export SSR_COV_TESTS='${names.join(',')}'`,
    `export SSR_COV_TEST_FILES=${shQuote(testFiles.join('\n'))}`,
    'export PYTHONPATH="/tmp/ssr/covpy${PYTHONPATH:+:$PYTHONPATH}"',
    'bash /tmp/ssr/cov_script.sh >/dev/null 2>&1',
    // The reducer must not be traced itself, nor see the test run's environment beyond what it reads.
    `SSR_COV_FILES=${shQuote(files.join('\n'))} PYTHONPATH= NODE_V8_COVERAGE= NODE_OPTIONS= python3 /tmp/ssr/cov_reduce.py`,
  ].join('\n');
  const r = await sb.exec(cmd, { timeoutMs });
  const durationMs = Date.now() - t0;
  if (r.killed) return { coverage: null, durationMs, error: `coverage run stopped by the sandbox (${r.killed})` };
  const last = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return { coverage: Coverage.parse(last), durationMs };
  } catch {
    return { coverage: null, durationMs, error: `coverage reducer printed no JSON (exit ${r.exitCode}): ${r.stderr.trim().slice(-300)}` };
  }
}
