import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { checkTestFiles, filesArray, perFileLoop, scriptPrelude } from './bash.js';
import { pythonParser } from './parser-common.js';
import type { RepoTree } from './scan.js';
import { PYTHON_EXT, isPythonTestCandidate, isTestFile } from './test-files.js';
import type { DetectOptions, Runner } from './types.js';

const HAS_TESTS = /^\s*(?:async\s+)?def\s+test|^\s*class\s+\w*Test|\bTestCase\b/m;
const PYTEST_STYLE = /^(?:import\s+pytest|from\s+pytest\b|(?:async\s+)?def\s+test\w*\s*\()|@pytest\./m;
const UNITTEST_STYLE = /\bTestCase\b/;

/**
 * Picks a Python that has the module the run needs (a project virtualenv first, since that is where the project's
 * dependencies live), found without importing it (importing pytest costs 0.15 s, paid again by the run). The pick
 * is the interpreter itself (`sys.executable`): a `python3` that is a version manager's shim resolves the version
 * once here, not again for the run.
 */
const PICK_PYTHON = (module: string): string => `ssr_py=''
for c in .venv/bin/python venv/bin/python env/bin/python python3 python; do
  if command -v "$c" >/dev/null 2>&1 && ssr_exe=$("$c" -c 'import importlib.util as u, sys; print(sys.executable) if u.find_spec("${module}") else sys.exit(1)' 2>/dev/null); then
    ssr_py=\${ssr_exe:-$c}; break
  fi
done
if [ -z "$ssr_py" ]; then ssr_py=python3; fi
# A src layout (src/<package>/__init__.py) imports only once installed: with src first on the path, the tests import
# this tree's code, never an installed copy of it that the changes under test would not reach.
if compgen -G 'src/*/__init__.py' >/dev/null; then export PYTHONPATH="$(pwd -P)/src\${PYTHONPATH:+:$PYTHONPATH}"; fi
`;

/**
 * A plugin loaded with -p: it only changes options of plugins that are present, so unlike their own command-line
 * flags (rejected by pytest where the plugin is absent or disabled) it is safe in every repository.
 */
const PYTEST_PLUGIN = String.raw`import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    # pytest-benchmark times each benchmarked function over many rounds, several times the cost of the rest of a
    # suite; disabled (its own --benchmark-disable), each still runs once as a test whose assertions count.
    # tryfirst: its session reads the option in its own pytest_configure.
    opt = config.option
    if hasattr(opt, 'benchmark_disable') and not getattr(opt, 'benchmark_only', False):
        opt.benchmark_disable = True


@pytest.hookimpl(hookwrapper=True)
def pytest_load_initial_conftests(early_config, parser, args):
    # pytest-cov, switched on by a project's addopts (--cov), is disabled as its own --no-cov does. Its fail-under
    # (--cov-fail-under, or coverage's fail_under) fails a run whose tests all passed whenever ssr runs a subset of
    # the files, which the parser must then read as every file failed; and its tracer replaces the one ssr's coverage
    # run installs. It starts coverage in its own tryfirst impl of this hook, so this runs before it: a wrapper.
    ns = early_config.known_args_namespace
    if hasattr(ns, 'no_cov'):
        ns.no_cov = True
    yield
`;

function pytestScript(testFiles: string[]): string {
  const files = checkTestFiles(testFiles);
  return `${scriptPrelude(
    'pytest',
    'One pytest run over all files (startup and conftest imports are paid once); -rA prints a PASSED/FAILED line per test.',
  )}${PICK_PYTHON('pytest')}cat > "$ssr_tmp/ssr_pytest_plugin.py" <<'SSR_PY'
${PYTEST_PLUGIN}SSR_PY
export PYTHONPATH="$ssr_tmp\${PYTHONPATH:+:$PYTHONPATH}"
${filesArray('ssr_files', files)}
printf '\\n@@ssr-run pytest\\n'
printf '@@ssr-meta root %s\\n' "$(pwd -P)"
ssr_present=()
for f in \${ssr_files[@]+"\${ssr_files[@]}"}; do
  printf '@@ssr-meta target %s\\n' "$f"
  # One missing file would make pytest reject the whole command line; the parser reports it failed instead.
  if [ -f "$f" ]; then ssr_present+=("$f"); else printf '@@ssr-meta missing %s\\n' "$f"; fi
done
if [ \${#ssr_present[@]} -gt 0 ]; then
  # pytest-sugar would replace the summary lines the parser reads; blocking an absent plugin is harmless.
  ssr_limited "$ssr_py" -m pytest -rA --tb=short --color=no -p no:sugar -p ssr_pytest_plugin --continue-on-collection-errors \\
    -o cache_dir="$ssr_tmp/pytest_cache" -- "\${ssr_present[@]}" </dev/null
  ssr_rc=$?
else
  ssr_rc=0
fi
printf '\\n@@ssr-exit %s\\n' "$ssr_rc"
`;
}

const PYTEST_PARSE = String.raw`
SUMMARY_START_RE = re.compile(r'^=+ short test summary info =+\s*$')
SECTION_RE = re.compile(r'^=+ .* =+\s*$')
STATUS_RE = re.compile(r'^(PASSED|FAILED|ERROR|XFAIL|XPASS|SKIPPED) (.+)$')
# pytest 9 reports a unittest subTest that fails on a line of its own, its label first
# ("SUBFAILED[msg] (i=1) tests/test_x.py::T::test_a - ..."), while the test itself is PASSED.
SUBFAILED_RE = re.compile(r'^SUBFAILED\b(.*)$')


def subtest_owner(rest, known):
    # A label may hold spaces, brackets, " - " and even a node id, so the test is the longest one the summary's
    # other lines name that stands here as a word followed by the message or the end; else the first word naming an
    # item of a .py file.
    hits = [n for n in known if (' ' + n + ' - ') in rest or rest.endswith(' ' + n)]
    if hits:
        return max(hits, key=len)
    m = re.search(r' (?=[^\s]+?\.py::)(.+)$', rest)
    return node_id(m.group(1)) if m else None
ROOTDIR_RE = re.compile(r'^rootdir: (.+?)(?:, (?:configfile|inifile|testpaths|plugins): .*)?\s*$')


def node_id(rest):
    # The node id ends at " - " (where the message starts) unless that sits inside parametrize brackets.
    depth = 0
    for i, c in enumerate(rest):
        if c == '[':
            depth += 1
        elif c == ']':
            depth = max(0, depth - 1)
        elif depth == 0 and rest.startswith(' - ', i):
            return rest[:i]
    return rest.rstrip()


def repo_relative(path, rootdir, root):
    # pytest node ids are relative to its rootdir, which need not be the repository root.
    if rootdir and root:
        rel = os.path.relpath(os.path.normpath(os.path.join(rootdir, path)), root).replace(os.sep, '/')
        if not rel.startswith('..'):
            return rel
    return path


def parse(seg):
    root = seg.get('root')
    rootdir = None
    in_summary = False
    for missing in seg.all('missing'):
        seg.record(missing, 'failed')
    known = set()
    for line in seg.lines:
        m = STATUS_RE.match(line)
        if m:
            known.add(node_id(m.group(2)))
    for line in seg.lines:
        if rootdir is None:
            m = ROOTDIR_RE.match(line)
            if m:
                rootdir = m.group(1)
                continue
        if SUMMARY_START_RE.match(line):
            in_summary = True
            continue
        if not in_summary:
            continue
        if SECTION_RE.match(line):
            in_summary = False
            continue
        sub = SUBFAILED_RE.match(line)
        if sub:
            # A failing subtest fails its test, whatever the test's own line says (a failure outweighs a pass).
            status, nid = 'FAILED', subtest_owner(sub.group(1), known)
            if nid is None:
                continue
        else:
            m = STATUS_RE.match(line)
            if not m or m.group(1) in ('SKIPPED', 'XFAIL', 'XPASS'):
                continue
            status, nid = m.group(1), node_id(m.group(2))
        path, sep, name = nid.partition('::')
        path = repo_relative(path, rootdir, root)
        if not sep:
            seg.record(path, 'failed')  # the file itself failed to collect (import or syntax error)
        else:
            seg.record(path + '::' + name, 'passed' if status == 'PASSED' else 'failed')
`;

/**
 * unittest's own -v output puts a docstring's first line between the test name and its verdict, and tests' prints
 * interleave with it; a result class that prints one marker line per outcome avoids guessing.
 */
const UNITTEST_DRIVER = String.raw`import os, sys, traceback, unittest


def import_target(path):
    # Like pytest's default import mode: the first directory upwards without __init__.py goes on sys.path, so both
    # package-style tests and tests that import their siblings load.
    path = os.path.abspath(path)
    base = os.path.dirname(path)
    parts = [os.path.splitext(os.path.basename(path))[0]]
    while os.path.isfile(os.path.join(base, '__init__.py')):
        parts.insert(0, os.path.basename(base))
        base = os.path.dirname(base)
    return base, '.'.join(parts)


def test_name(test):
    method = getattr(test, '_testMethodName', None)
    if not isinstance(test, unittest.TestCase) or method is None or type(test).__name__ == '_FailedTest':
        return ''
    return type(test).__qualname__.replace('.', '::') + '::' + method


def emit(status, test):
    sys.stderr.flush()
    sys.stdout.write('@@ssr-test %s %s\n' % (status, test_name(test)))
    sys.stdout.flush()


class Result(unittest.TextTestResult):
    def addSuccess(self, test):
        super(Result, self).addSuccess(test)
        emit('passed', test)

    def addFailure(self, test, err):
        super(Result, self).addFailure(test, err)
        emit('failed', test)

    def addError(self, test, err):
        super(Result, self).addError(test, err)
        emit('failed', test)

    def addSubTest(self, test, subtest, err):
        super(Result, self).addSubTest(test, subtest, err)
        if err is not None:
            emit('failed', test)

    def addUnexpectedSuccess(self, test):
        super(Result, self).addUnexpectedSuccess(test)
        emit('failed', test)


def main():
    base, name = import_target(sys.argv[1])
    # sys.path[0] is this driver's temp directory; the repository root and the test's base dir replace it.
    sys.path[0] = os.getcwd()
    if base != os.getcwd():
        sys.path.insert(0, base)
    try:
        __import__(name)
        module = sys.modules[name]
    except BaseException:
        traceback.print_exc()
        sys.stdout.write('@@ssr-test failed \n')
        return 1
    suite = unittest.defaultTestLoader.loadTestsFromModule(module)
    result = unittest.TextTestRunner(stream=sys.stderr, verbosity=2, resultclass=Result).run(suite)
    return 0 if result.wasSuccessful() else 1


sys.exit(main())
`;

function unittestScript(testFiles: string[]): string {
  const files = checkTestFiles(testFiles);
  return `${scriptPrelude('unittest', 'Each file runs in its own python process, so one broken import cannot hide the other files.')}${PICK_PYTHON('unittest')}cat > "$ssr_tmp/ssr_unittest.py" <<'SSR_PY'
${UNITTEST_DRIVER}SSR_PY
ssr_run_file() { ssr_limited "$ssr_py" "$ssr_tmp/ssr_unittest.py" "$1"; }
${perFileLoop(files, 'ssr_run_file')}`;
}

const UNITTEST_PARSE = String.raw`
TEST_RE = re.compile(r'^@@ssr-test (passed|failed) ?(.*)$')


def parse(seg):
    for line in seg.lines:
        m = TEST_RE.match(line)
        if not m:
            continue
        name = m.group(2).strip()
        if name:
            seg.test(name, m.group(1))
        else:
            seg.file_failed()  # import error, or a class/module fixture failed so its tests never ran
`;

let hostPytest: boolean | undefined;

/** Runs no repository code: the probe starts in the temp dir, so a repo's own pytest.py cannot shadow the real one. */
function probeHostPytest(): boolean {
  if (hostPytest === undefined) {
    const r = spawnSync('python3', ['-c', 'import pytest'], { cwd: tmpdir(), stdio: 'ignore', timeout: 20_000 });
    hostPytest = r.status === 0;
  }
  return hostPytest;
}

const PYTEST_CONFIG_FILES = ['pytest.ini', '.pytest.ini'];

async function pytestConfigured(tree: RepoTree): Promise<boolean> {
  if (tree.files.some((f) => f === 'conftest.py' || f.endsWith('/conftest.py') || PYTEST_CONFIG_FILES.includes(f))) return true;
  const checks: Array<[string, RegExp]> = [
    ['pyproject.toml', /\[tool\.pytest|\bpytest\b/],
    ['setup.cfg', /\[tool:pytest\]|\bpytest\b/],
    ['tox.ini', /\[pytest\]|\bpytest\b/],
    ['setup.py', /\bpytest\b/],
  ];
  for (const [file, re] of checks) {
    if (tree.has(file) && re.test(await tree.read(file))) return true;
  }
  for (const f of tree.files) {
    if (/^requirements[^/]*\.txt$/.test(f) && /^\s*pytest\b/m.test(await tree.read(f))) return true;
  }
  return false;
}

export async function detectPython(tree: RepoTree, options: DetectOptions): Promise<Runner[]> {
  const testFiles: string[] = [];
  const unittestFiles: string[] = [];
  let pytestStyle = false;
  for (const f of tree.files) {
    if (!isPythonTestCandidate(f)) continue;
    const text = await tree.read(f);
    if (!HAS_TESTS.test(text)) continue;
    testFiles.push(f);
    if (PYTEST_STYLE.test(text)) pytestStyle = true;
    else if (UNITTEST_STYLE.test(text)) unittestFiles.push(f);
  }
  if (testFiles.length === 0) return [];
  const sourceFiles = tree.files.filter((f) => PYTHON_EXT.test(f) && !isTestFile(f));
  const pytest: Runner = {
    name: 'pytest',
    language: 'python',
    testFiles,
    sourceFiles,
    script: pytestScript,
    parser: () => pythonParser('pytest', PYTEST_PARSE, [0, 5]),
  };
  const unittest: Runner = {
    name: 'unittest',
    language: 'python',
    testFiles: unittestFiles,
    sourceFiles,
    script: unittestScript,
    parser: () => pythonParser('unittest', UNITTEST_PARSE),
  };
  const wantsPytest = pytestStyle || (await pytestConfigured(tree));
  const hasPytest = options.pythonHasPytest ?? probeHostPytest();
  const runners: Runner[] = [];
  if (wantsPytest || hasPytest || unittestFiles.length === 0) runners.push(pytest);
  if (unittestFiles.length > 0) {
    if (wantsPytest || hasPytest) runners.push(unittest);
    else runners.unshift(unittest);
  }
  return runners;
}
