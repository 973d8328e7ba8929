/** Scripts and parsers for the JavaScript/TypeScript runners (node:test, jest, vitest, mocha, ava, tape). */
import { checkTestFiles, perFileLoop, scriptPrelude, shQuote } from './bash.js';
import { pythonParser } from './parser-common.js';
import type { RunnerName } from './types.js';

export type JsRunnerName = Extract<RunnerName, 'node-test' | 'jest' | 'vitest' | 'mocha' | 'ava' | 'tape'>;

/** How node:test files are launched: the project's own loader flags (e.g. --import tsx) come from its test script. */
export interface NodeLaunch {
  /** `node`, or a node wrapper from node_modules/.bin such as `tsx`. */
  command: 'node' | 'tsx';
  flags: string[];
}

/**
 * The config file a package's own test script hands its runner (`jest --config test/jest.config.js`), by package
 * directory ('.' for the root), relative to it: a config outside the places the runner looks by itself is found
 * only so, and without it the tests run untransformed (TypeScript through babel) or with other settings.
 */
export type RunnerConfigs = ReadonlyMap<string, string>;

/** A bash function printing the config file of the package directory $1 (nothing where the script names none). */
function configLookup(configs: RunnerConfigs): string {
  const cases = [...configs].map(([dir, file]) => `    ${shQuote(dir)}) printf '%s' ${shQuote(file)} ;;\n`).join('');
  return `ssr_config() {\n  case "$1" in\n${cases}    *) ;;\n  esac\n}\n`;
}

/** Sets ssr_cfg to the runner's config arguments for the package $pkg. */
const CONFIG_ARGS = `
  cfg=$(ssr_config "$pkg")
  ssr_cfg=()
  if [ -n "$cfg" ]; then ssr_cfg=(--config "$cfg"); fi`;

const WHY = 'Each test file runs on its own, from the nearest directory with a package.json, so every result belongs to one file and one crash cannot hide the rest.';

/**
 * Runner configuration (jest.config, .mocharc, tsconfig) is found relative to the package that owns a test file, and
 * the runner binary is the project's own copy, searched like npm does (node_modules/.bin from the package upwards).
 */
const JS_HELPERS = `ssr_pkgdir() {
  local d
  d=$(dirname "$1")
  while [ "$d" != . ] && [ ! -f "$d/package.json" ]; do d=$(dirname "$d"); done
  printf '%s' "$d"
}
ssr_bin() {
  local d=$2
  while :; do
    if [ -x "$d/node_modules/.bin/$1" ]; then printf '%s/%s/node_modules/.bin/%s' "$PWD" "$d" "$1"; return 0; fi
    [ "$d" = . ] && break
    d=$(dirname "$d")
  done
  command -v "$1"
}
ssr_rel() { if [ "$2" = . ]; then printf '%s' "$1"; else printf '%s' "\${1#"$2"/}"; fi; }
ssr_json_block() {
  if [ -s "$1" ]; then printf '\\n@@ssr-json-begin\\n'; cat "$1"; printf '\\n@@ssr-json-end\\n'; fi
}
`;

function fileSetup(bin: string | null): string {
  const lookup = bin ? `
  bin=$(ssr_bin ${bin} "$pkg") || { echo "ssr: ${bin} not found (run npm install?)"; return 127; }` : '';
  return `  local pkg rel bin rc
  pkg=$(ssr_pkgdir "$1")
  rel=$(ssr_rel "$1" "$pkg")${lookup}`;
}

function nodeTestScript(files: string[], launch: NodeLaunch): string {
  const flags = launch.flags.map(shQuote).join(' ');
  const command = launch.command === 'node' ? `bin=node` : `bin=$(ssr_bin tsx "$pkg") || { echo "ssr: tsx not found"; return 127; }`;
  return `${scriptPrelude('node-test', WHY)}${JS_HELPERS}# TAP is the one node:test output format whose shape is stable across Node versions; older Nodes print it by default.
ssr_reporter=()
if node --help 2>/dev/null | grep -q -- '--test-reporter'; then ssr_reporter=(--test-reporter=tap); fi
ssr_run_file() {
${fileSetup(null)}
  ${command}
  (cd "$pkg" && ssr_limited "$bin" ${flags}${flags ? ' ' : ''}--test \${ssr_reporter[@]+"\${ssr_reporter[@]}"} "$rel")
}
${perFileLoop(files, 'ssr_run_file')}`;
}

function jestScript(files: string[], configs: RunnerConfigs): string {
  return `${scriptPrelude('jest', WHY)}${JS_HELPERS}${configLookup(configs)}# The JSON report carries each test's describe path exactly; the verbose listing is for human readers.
# A config's own coverage (collectCoverage) is off: its coverageThreshold, met by the whole suite only, would fail
# the run of each single file with every test passing.
ssr_run_file() {
${fileSetup('jest')}
  local cfg ssr_cfg${CONFIG_ARGS}
  rm -f "$ssr_tmp/result.json"
  (cd "$pkg" && ssr_limited "$bin" \${ssr_cfg[@]+"\${ssr_cfg[@]}"} --ci --coverage=false --verbose --watchman=false --runTestsByPath --json --outputFile="$ssr_tmp/result.json" "$rel")
  rc=$?
  ssr_json_block "$ssr_tmp/result.json"
  return $rc
}
${perFileLoop(files, 'ssr_run_file')}`;
}

function vitestScript(files: string[], configs: RunnerConfigs): string {
  return `${scriptPrelude('vitest', WHY)}${JS_HELPERS}${configLookup(configs)}# The JSON report carries each test's describe path exactly; the verbose listing is for human readers.
ssr_run_file() {
${fileSetup('vitest')}
  local cfg ssr_cfg${CONFIG_ARGS}
  rm -f "$ssr_tmp/result.json"
  (cd "$pkg" && ssr_limited "$bin" run "$rel" \${ssr_cfg[@]+"\${ssr_cfg[@]}"} --reporter=verbose --reporter=json --outputFile.json="$ssr_tmp/result.json")
  rc=$?
  ssr_json_block "$ssr_tmp/result.json"
  return $rc
}
${perFileLoop(files, 'ssr_run_file')}`;
}

/**
 * Mocha merges the spec files named in .mocharc with those on the command line, so the reporter keeps to the target
 * file and writes that file's failure count, which then stands in for mocha's exit code.
 */
const MOCHA_REPORTER = `'use strict';
const fs = require('fs');
const path = require('path');
const target = process.env.SSR_MOCHA_FILE ? path.resolve(process.env.SSR_MOCHA_FILE) : '';
function titles(t) {
  const out = [];
  for (let n = t; n; n = n.parent) if (n.title && !n.root) out.unshift(n.title);
  return out;
}
function mine(t) {
  return !target || !t.file || path.resolve(t.file) === target;
}
function SsrReporter(runner) {
  let failures = 0;
  const emit = (status, t) => {
    process.stdout.write('@@ssr-test ' + status + ' ' + JSON.stringify({ titles: titles(t), hook: t.type === 'hook' }) + '\\n');
  };
  runner.on('pass', (t) => { if (mine(t)) emit('passed', t); });
  runner.on('fail', (t, err) => {
    if (!mine(t)) return;
    failures += 1;
    emit('failed', t);
    const text = String((err && (err.stack || err.message)) || err);
    process.stdout.write(text.split('\\n').map((l) => '    ' + l).join('\\n') + '\\n');
  });
  runner.once('end', () => {
    if (process.env.SSR_MOCHA_STATUS) fs.writeFileSync(process.env.SSR_MOCHA_STATUS, String(failures));
  });
}
module.exports = SsrReporter;
`;

function mochaScript(files: string[]): string {
  return `${scriptPrelude('mocha', WHY)}${JS_HELPERS}cat > "$ssr_tmp/ssr-mocha-reporter.cjs" <<'SSR_JS'
${MOCHA_REPORTER}SSR_JS
ssr_run_file() {
${fileSetup('mocha')}
  rm -f "$ssr_tmp/mocha-status"
  (cd "$pkg" && SSR_MOCHA_FILE="$rel" SSR_MOCHA_STATUS="$ssr_tmp/mocha-status" \\
    ssr_limited "$bin" --reporter "$ssr_tmp/ssr-mocha-reporter.cjs" "$rel")
  rc=$?
  if [ "$rc" -ne 124 ] && [ "$rc" -ne 137 ] && [ -s "$ssr_tmp/mocha-status" ]; then
    [ "$(cat "$ssr_tmp/mocha-status")" = 0 ] && return 0
    return 1
  fi
  return $rc
}
${perFileLoop(files, 'ssr_run_file')}`;
}

function avaScript(files: string[]): string {
  return `${scriptPrelude('ava', WHY)}${JS_HELPERS}ssr_run_file() {
${fileSetup('ava')}
  (cd "$pkg" && ssr_limited "$bin" --tap "$rel")
}
${perFileLoop(files, 'ssr_run_file')}`;
}

/**
 * tape's TAP output is flat: a "# name" comment opens each test and subtest alike, and t.comment() prints the same
 * kind of line, so the TAP alone cannot say which test an assertion belongs to. This runner loads the project's own
 * tape, follows each test's events (its parent, its assertions, its end) and prints readable TAP-like lines for
 * people (failures with their stack) and, as each test ends, one @@ssr-test line with its title path and status.
 * tape's exit handling (exit code, tests that never ended) stays tape's own; a test that throws ends the process in
 * tape, so the tests running at a failing exit are the failed ones.
 */
const TAPE_RUNNER = `'use strict';
const path = require('path');
const { pathToFileURL } = require('url');
const file = path.resolve(process.argv[2]);
let tapePath;
try {
  tapePath = require.resolve('tape', { paths: [path.dirname(file), process.cwd()] });
} catch (e) {
  process.stdout.write('ssr: tape not found (run npm install?)\\n');
  process.exit(127);
}
const tape = require(tapePath);
const out = (s) => process.stdout.write(s + '\\n');
const tests = new Map();
let n = 0;
function onTest(key, name, skip, parentKey) {
  const parent = parentKey === undefined ? undefined : tests.get(parentKey);
  if (parent) parent.children = true;
  skip = Boolean(skip || (parent && parent.skip));
  tests.set(key, { titles: parent ? parent.titles.concat(String(name)) : [String(name)], skip, own: 0, failed: false, children: false, reported: false });
  out('# ' + (skip ? 'SKIP ' : '') + String(name));
}
function onResult(key, res) {
  if (typeof res === 'string') return out('# ' + res);
  if (!res || typeof res !== 'object') return;
  const t = tests.get(key);
  const counts = !res.skip && !res.todo;
  n += 1;
  out((res.ok ? 'ok ' : 'not ok ') + n + ' - ' + String(res.name || '') + (counts ? '' : ' # ' + (res.skip ? 'SKIP' : 'TODO')));
  if (!counts || !t) return;
  t.own += 1;
  if (!res.ok) {
    t.failed = true;
    // Said at once: a test that never ends gets its failure while tape exits, with no end event after it.
    if (!t.reported) report(t, 'failed');
    if (res.operator) out('    operator: ' + res.operator);
    const detail = res.error && res.error.stack ? String(res.error.stack) : res.at ? 'at: ' + String(res.at) : '';
    if (detail) out(detail.split('\\n').map((l) => '    ' + l).join('\\n'));
  }
}
function report(t, status) {
  t.reported = true;
  // A test that only groups subtests is reported through them, like a describe() block.
  if (t.skip || (t.children && t.own === 0 && status !== 'failed')) return;
  out('@@ssr-test ' + status + ' ' + JSON.stringify({ titles: t.titles }));
}
function onEnd(key) {
  const t = tests.get(key);
  if (t && !t.reported) report(t, t.failed ? 'failed' : 'passed');
}
// tape lets an exception thrown by a test end the process: the tests then running are the ones that failed.
process.on('exit', (code) => {
  if (code === 0) return;
  for (const t of tests.values()) if (!t.reported && !t.children) report(t, 'failed');
});
function load(allowImport) {
  try {
    require(file);
    return Promise.resolve();
  } catch (e) {
    if (!allowImport || !e || (e.code !== 'ERR_REQUIRE_ESM' && e.code !== 'ERR_REQUIRE_ASYNC_MODULE')) return Promise.reject(e);
    return import(pathToFileURL(file).href);
  }
}
const failLoad = (e) => {
  process.stdout.write(String((e && e.stack) || e) + '\\n');
  process.exit(1);
};
if (typeof tape.wait === 'function' && typeof tape.run === 'function' && typeof tape.getHarness === 'function') {
  // tape >= 5: hold the run until an ES module's tests are registered (as tape's own bin does), and follow each
  // test's events from the moment the harness takes it; tape's object stream would miss tests added before run().
  const { Writable } = require('stream');
  tape.wait();
  const harness = tape.getHarness({ stream: new Writable({ objectMode: true, write: (c, e, cb) => cb() }), objectMode: true });
  const watch = (t, parentKey) => {
    t.once('prerun', () => onTest(t, t.name, t._skip || t._todo, parentKey));
    t.on('test', (st) => watch(st, t));
    t.on('result', (res) => onResult(t, res));
    t.on('end', () => onEnd(t));
  };
  harness._results.on('_push', (t) => watch(t, undefined));
  load(true).then(() => tape.run(), failLoad);
} else {
  // Older tape: its object stream names each row's test and parent; files load synchronously (CommonJS only).
  const stream = tape.createStream({ objectMode: true });
  stream.on('data', (row) => {
    if (row && row.type === 'test') onTest(row.id, row.name, row.skip || row.todo, row.parent);
    else if (row && row.type === 'end') onEnd(row.test);
    else onResult(row && typeof row === 'object' ? row.test : undefined, row);
  });
  load(false).catch(failLoad);
}
`;

function tapeScript(files: string[], launch: NodeLaunch): string {
  const flags = launch.flags.map(shQuote).join(' ');
  return `${scriptPrelude('tape', WHY)}${JS_HELPERS}cat > "$ssr_tmp/ssr-tape.cjs" <<'SSR_JS'
${TAPE_RUNNER}SSR_JS
ssr_run_file() {
${fileSetup(null)}
  (cd "$pkg" && ssr_limited node ${flags}${flags ? ' ' : ''}"$ssr_tmp/ssr-tape.cjs" "$rel")
}
${perFileLoop(files, 'ssr_run_file')}`;
}

export function jsScript(name: JsRunnerName, testFiles: string[], launch: NodeLaunch, configs: RunnerConfigs = new Map()): string {
  const files = checkTestFiles(testFiles);
  switch (name) {
    case 'node-test':
      return nodeTestScript(files, launch);
    case 'jest':
      return jestScript(files, configs);
    case 'vitest':
      return vitestScript(files, configs);
    case 'mocha':
      return mochaScript(files);
    case 'ava':
      return avaScript(files);
    case 'tape':
      return tapeScript(files, launch);
  }
}

const NODE_TAP_PARSE = String.raw`
RESULT_RE = re.compile(r'^( *)(not ok|ok)\b(?: +\d+)?(?: +- ?(.*))?$')
SUBTEST_RE = re.compile(r'^( *)# Subtest: (.*)$')
DIRECTIVE_RE = re.compile(r'^(.*?) # (SKIP|TODO)\b', re.I)
ESCAPE_RE = re.compile(r'\\(.)')


def unescape(name):
    return ESCAPE_RE.sub(lambda m: {'n': '\n', 't': '\t'}.get(m.group(1), m.group(1)), name)


def parse(seg):
    target = seg.files[0]

    def is_file_node(name):
        # A file that cannot load, and every file on old Nodes, shows up as a test named by its path.
        # Depending on the Node version the name is absolute, or relative to the package the file was run from.
        return name == target or name.endswith('/' + target) or (target.endswith('/' + name) and '.' in name)

    names = []
    has_children = {}
    failed_below = {}
    lines = seg.lines
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        m = SUBTEST_RE.match(line)
        if m:
            depth = len(m.group(1)) // 4
            names[depth:] = [unescape(m.group(2))]
            has_children[depth] = False
            failed_below[depth] = False
            continue
        m = RESULT_RE.match(line)
        if not m:
            continue
        indent = len(m.group(1))
        depth = indent // 4
        failed = m.group(2) == 'not ok'
        raw = m.group(3) or ''
        d = DIRECTIVE_RE.match(raw)
        skipped = bool(d)
        name = unescape(d.group(1) if d else raw)
        suite = False
        # The YAML block after a result says whether it was a describe() (type: 'suite').
        if i < len(lines) and lines[i].strip() == '---':
            i += 1
            while i < len(lines) and not (lines[i].strip() == '...' and len(lines[i]) - len(lines[i].lstrip(' ')) <= indent + 2):
                if lines[i].strip() == "type: 'suite'":
                    suite = True
                i += 1
            i += 1
        children = has_children.get(depth, False)
        below = failed_below.get(depth, False)
        has_children[depth] = False
        failed_below[depth] = False
        if depth > 0:
            has_children[depth - 1] = True
            if failed:
                failed_below[depth - 1] = True
        if skipped:
            continue
        path = [n for n in names[:depth] + [name] if not is_file_node(n)]
        if is_file_node(name):
            if failed and not below:
                seg.file_failed()
        elif not children:
            if failed or not suite:
                seg.test(' > '.join(path), 'failed' if failed else 'passed')
        elif failed and not below:
            seg.test(' > '.join(path), 'failed')  # a hook of this suite or test failed
`;

const JSON_REPORT_PARSE = String.raw`
def json_blocks(lines):
    block = None
    for line in lines:
        if line == '@@ssr-json-begin':
            block = []
        elif line == '@@ssr-json-end':
            if block is not None:
                try:
                    yield json.loads('\n'.join(block))
                except ValueError:
                    pass
            block = None
        elif block is not None:
            block.append(line)


def parse(seg):
    target = seg.files[0]
    for report in json_blocks(seg.lines):
        files = report.get('testResults') or []
        # Path filters can match more files than the target; the report names each file by absolute path.
        mine = [r for r in files if str(r.get('name', '')).replace(os.sep, '/').endswith('/' + target)] or files
        for result in mine:
            for a in result.get('assertionResults') or []:
                status = a.get('status')
                if status not in ('passed', 'failed'):
                    continue  # pending, skipped, todo, disabled
                titles = [str(t) for t in (a.get('ancestorTitles') or [])] + [str(a.get('title', ''))]
                seg.test(' > '.join(titles), status)
            if result.get('status') == 'failed' and not any(s == 'failed' for s in seg.results.values()):
                seg.file_failed()  # the file failed to load, or failed outside any test
`;

const MOCHA_PARSE = String.raw`
TEST_RE = re.compile(r'^@@ssr-test (passed|failed) (\{.*\})\s*$')


def parse(seg):
    for line in seg.lines:
        m = TEST_RE.match(line)
        if not m:
            continue
        info = json.loads(m.group(2))
        if info.get('hook'):
            seg.file_failed()  # a failing hook stops its suite's tests from running
            continue
        seg.test(' > '.join(str(t) for t in info.get('titles', [])), m.group(1))
`;

const AVA_TAP_PARSE = String.raw`
RESULT_RE = re.compile(r'^(not ok|ok) +\d+(?: +- ?(.*))?$')
DIRECTIVE_RE = re.compile(r'^(.*?) # (SKIP|TODO)\b')


def parse(seg):
    for line in seg.lines:
        m = RESULT_RE.match(line)
        if not m:
            continue
        name = m.group(2) or ''
        if DIRECTIVE_RE.match(name):
            continue
        if m.group(1) == 'not ok' and re.search(r' exited with a non-zero exit code| timed out', name):
            seg.file_failed()
            continue
        seg.test(name, 'failed' if m.group(1) == 'not ok' else 'passed')
`;

const TAPE_PARSE = String.raw`
TEST_RE = re.compile(r'^@@ssr-test (passed|failed) (\{.*\})\s*$')


def parse(seg):
    for line in seg.lines:
        m = TEST_RE.match(line)
        if m:
            seg.test(' > '.join(str(t) for t in json.loads(m.group(2)).get('titles', [])), m.group(1))
`;

export function jsParser(name: JsRunnerName): string {
  switch (name) {
    case 'node-test':
      return pythonParser(name, NODE_TAP_PARSE);
    case 'jest':
    case 'vitest':
      return pythonParser(name, JSON_REPORT_PARSE);
    case 'mocha':
      return pythonParser(name, MOCHA_PARSE);
    case 'ava':
      return pythonParser(name, AVA_TAP_PARSE);
    case 'tape':
      return pythonParser(name, TAPE_PARSE);
  }
}
