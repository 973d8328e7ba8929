import { checkTestFiles, filesArray, scriptPrelude, shQuote } from './bash.js';
import { pythonParser } from './parser-common.js';
import type { RepoTree } from './scan.js';
import { C_FAMILY_EXT, isCTestCandidate, isTestFile, VENDORED } from './test-files.js';
import type { Language, Runner } from './types.js';

/** What makes a CMake project's tests runnable by ctest, in any of its CMakeLists.txt. */
const ENABLES_TESTS = /\b(?:enable_testing|add_test|gtest_discover_tests|gtest_add_tests)\s*\(|\binclude\s*\(\s*CTest\s*\)/i;
/**
 * GoogleTest (and compatible) test definitions, Catch2 and doctest test cases, and a C test program's entry point or
 * test functions.
 */
const HOLDS_TESTS = /\b(?:TEST|TEST_F|TEST_P|TYPED_TEST|TYPED_TEST_P|GTEST_TEST|TEST_CASE|SCENARIO|TEST_CASE_METHOD|TEST_CASE_FIXTURE|TEMPLATE_TEST_CASE|TEMPLATE_LIST_TEST_CASE|TEST_CASE_TEMPLATE)\s*\(|^[ \t]*(?:static\s+)?int\b[^;{}()\n]*\bmain\s*\(|\b(?:void|int|static\s+void|static\s+int)\s+(?:test_\w+|\w+_test)\s*\(/m;
/** A C/C++ program's entry point. */
const MAIN_FN = /^[ \t]*(?:static\s+)?int\b[^;{}()\n]*\bmain\s*\(/m;
/**
 * A test framework's single header (or amalgamated source) copied into the tests: Catch2's catch.hpp /
 * catch_amalgamated.*, doctest.h(pp). It defines TEST_CASE, but it is neither the project's test nor its code.
 */
const FRAMEWORK_COPY = /(?:^|\/)(?:catch(?:_amalgamated)?\.(?:hpp|h|cpp)|doctest\.h(?:pp)?)$/i;
/** A license file below the root marks a copy of someone else's project (e.g. a test framework under tests/). */
const LICENSE_FILE = /(?:^|\/)(?:LICEN[CS]E|COPYING)(?:[.-][\w.-]*)?$/i;

/** Directories holding a project of their own: the parent of doc/ or docs/ when the license sits there. */
function vendoredDirs(tree: RepoTree): string[] {
  const out = new Set<string>();
  for (const f of tree.files) {
    if (!f.includes('/') || !LICENSE_FILE.test(f)) continue;
    let d = f.slice(0, f.lastIndexOf('/'));
    if (/(?:^|\/)docs?$/i.test(d)) d = d.includes('/') ? d.slice(0, d.lastIndexOf('/')) : '';
    if (d !== '') out.add(`${d}/`);
  }
  return [...out];
}

/**
 * C/C++ code that test programs do not link: fuzz targets, examples, benchmarks, documentation snippets. A bug
 * there breaks no test, so they are not offered as places for one.
 */
const NOT_UNDER_TEST = /(?:^|\/)(?:fuzz|fuzzing|fuzzers?|examples?|samples?|bench|benchmarks?|docs?)\//i;

const CPP_EXT = /\.(?:cc|cpp|cxx|c\+\+|hpp|hh|hxx|h\+\+|ipp|inl)$/i;

/** A CMake command's arguments, roughly as CMake splits them: quoted strings and bracket arguments kept whole. */
function splitArgs(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/"((?:[^"\\]|\\.)*)"|\[(=*)\[([\s\S]*?)\]\2\]|[^\s()"]+/g)) {
    out.push(m[1] ?? m[3] ?? m[0]);
  }
  return out;
}

/** Commands of one CMakeLists.txt (comments stripped), with nested parentheses in arguments allowed one level deep. */
function commands(text: string): { name: string; args: string[] }[] {
  const clean = text.replace(/#\[(=*)\[[\s\S]*?\]\1\]/g, '').replace(/(^|[^"\\])#.*$/gm, '$1');
  const out: { name: string; args: string[] }[] = [];
  for (const m of clean.matchAll(/\b([A-Za-z_]\w*)\s*\(((?:[^()]|\([^()]*\))*)\)/g)) {
    out.push({ name: m[1]!.toLowerCase(), args: splitArgs(m[2]!) });
  }
  return out;
}

function joinPath(dir: string, rel: string): string {
  const parts = dir === '.' ? [] : dir.split('/');
  for (const p of rel.split('/')) {
    if (p === '..') parts.pop();
    else if (p !== '.' && p !== '') parts.push(p);
  }
  return parts.join('/');
}

/**
 * Test targets and their sources, read from every CMakeLists.txt: executables named by add_test (either signature,
 * or through $<TARGET_FILE:...>), gtest_discover_tests and gtest_add_tests. Only what can be read without running
 * CMake: simple set() variables are expanded, anything else computed is left out (the script asks CMake itself
 * which executable each test runs, so this only decides which files are tests). `programs`: the sources of every
 * executable, test or not.
 */
async function testTargetSources(tree: RepoTree, lists: string[]): Promise<{ tests: Set<string>; programs: string[][] }> {
  const sources = new Map<string, string[]>();
  const testTargets = new Set<string>();
  for (const list of lists) {
    const dir = list.includes('/') ? list.slice(0, list.lastIndexOf('/')) : '.';
    const vars = new Map<string, string[]>([
      ['CMAKE_CURRENT_SOURCE_DIR', ['.']],
      ['CMAKE_CURRENT_LIST_DIR', ['.']],
      ['PROJECT_SOURCE_DIR', [dir === '.' ? '.' : dir.split('/').map(() => '..').join('/')]],
      ['CMAKE_SOURCE_DIR', [dir === '.' ? '.' : dir.split('/').map(() => '..').join('/')]],
    ]);
    const expand = (args: string[]): string[] =>
      args.flatMap((a) => {
        if (!a.includes('${')) return [a];
        const whole = /^\$\{(\w+)\}$/.exec(a);
        if (whole) return vars.get(whole[1]!) ?? [];
        const s = a.replace(/\$\{(\w+)\}/g, (_, v: string) => (vars.get(v) ?? ['\0']).join(';'));
        return s.includes('\0') ? [] : s.split(';');
      });
    // foreach() bodies run once per item, the loop variable set: projects often declare their tests that way.
    // Commands run in order, so a loop sees the set() calls above it.
    const exec = (cmds: { name: string; args: string[] }[]): void => {
      for (let i = 0; i < cmds.length; i++) {
        const c = cmds[i]!;
        if (c.name === 'endforeach') continue;
        if (c.name !== 'foreach') {
          handle(c);
          continue;
        }
        let depth = 1;
        let j = i + 1;
        for (; j < cmds.length && depth > 0; j++) {
          if (cmds[j]!.name === 'foreach') depth++;
          else if (cmds[j]!.name === 'endforeach') depth--;
        }
        const body = cmds.slice(i + 1, depth === 0 ? j - 1 : j);
        i = j - 1;
        if (c.args.length < 2 || c.args[1] === 'RANGE') continue;
        const lists = c.args.includes('LISTS');
        const items = expand(c.args.slice(1).filter((a) => a !== 'IN' && a !== 'LISTS' && a !== 'ITEMS').map((a) => (lists ? `\${${a}}` : a)));
        for (const item of items) {
          vars.set(c.args[0]!, [item]);
          exec(body);
        }
      }
    };
    const handle = (c: { name: string; args: string[] }): void => {
      const args = expand(c.args);
      if (c.name === 'set' && c.args.length >= 1) {
        vars.set(c.args[0]!, expand(c.args.slice(1)).filter((a) => a !== 'PARENT_SCOPE' && a !== 'CACHE'));
      } else if ((c.name === 'add_executable' || c.name === 'target_sources') && args.length >= 1) {
        const srcs = args.slice(1).filter((a) => C_FAMILY_EXT.test(a)).map((a) => joinPath(dir, a));
        sources.set(args[0]!, [...(sources.get(args[0]!) ?? []), ...srcs]);
      } else if (c.name === 'add_test') {
        const named = args[0] === 'NAME';
        // The executable is often named by its path in the build tree (`${CMAKE_CURRENT_BINARY_DIR}/t`, `./t`).
        const raw = named ? c.args.slice(c.args.indexOf('COMMAND') + 1) : c.args.slice(1);
        const cmd = expand(raw.slice(0, 1).map((a) => a.slice(a.lastIndexOf('/') + 1))).concat(expand(raw.slice(1)));
        for (const a of cmd) {
          const m = /\$<TARGET_FILE:([^>]+)>/.exec(a);
          if (m) testTargets.add(m[1]!);
        }
        if (cmd[0]) testTargets.add(cmd[0]);
      } else if (c.name === 'gtest_discover_tests' && args[0]) {
        testTargets.add(args[0]);
      } else if (c.name === 'gtest_add_tests' && args.length > 0) {
        testTargets.add(args[0] === 'TARGET' ? (args[1] ?? '') : args[0]!);
      }
    };
    exec(commands(await tree.read(list)));
  }
  const out = new Set<string>();
  for (const t of testTargets) for (const s of sources.get(t) ?? []) if (tree.has(s)) out.add(s);
  return { tests: out, programs: [...sources.values()].map((srcs) => srcs.filter((s) => tree.has(s))) };
}

/**
 * Runs inside the sandbox with python3 (which the parser needs anyway). `clean` deletes the executables of the
 * previous build, so an executable whose target no longer compiles cannot run stale. `map` reads CMake's file API
 * reply (target -> artifacts, sources) and `ctest --show-only=json-v1` (test -> command) and prints, for every test
 * that runs a target built from a selected file, `@@ssr-meta test NAME<TAB>FILE<TAB>SITE`: SITE is the test's name
 * as the test-site finder knows it (Suite.Name for a GoogleTest TEST found in FILE, the C test function named by
 * the test or its arguments, else `main`: the program run whole) or empty where the test stands for the whole
 * file (a target that was not built). It writes the -R pattern selecting those tests. `cases` prints the JUnit
 * report as `@@ssr-meta case STATUS<TAB>NAME` lines, and the output of failed tests indented so that no line a test
 * printed can pass for a marker.
 */
const HELPER = String.raw`
import json, os, re, subprocess, sys
import xml.etree.ElementTree as ET

mode, build, tmp = sys.argv[1], sys.argv[2], sys.argv[3]
src = os.getcwd()


def targets():
    reply = os.path.join(build, '.cmake', 'api', 'v1', 'reply')
    try:
        index = sorted(f for f in os.listdir(reply) if f.startswith('index-'))[-1]
        with open(os.path.join(reply, index)) as fh:
            idx = json.load(fh)
    except Exception:
        return []
    out = []
    for obj in idx.get('objects', []):
        if obj.get('kind') != 'codemodel':
            continue
        with open(os.path.join(reply, obj['jsonFile'])) as fh:
            cm = json.load(fh)
        for cfg in cm.get('configurations', [])[:1]:
            for t in cfg.get('targets', []):
                try:
                    with open(os.path.join(reply, t['jsonFile'])) as fh:
                        tj = json.load(fh)
                except Exception:
                    continue
                arts = []
                for a in tj.get('artifacts', []):
                    p = a.get('path', '')
                    arts.append(os.path.realpath(p if os.path.isabs(p) else os.path.join(build, p)))
                srcs = []
                for s in tj.get('sources', []):
                    p = s.get('path', '')
                    if os.path.isabs(p):
                        p = os.path.relpath(p, src)
                    srcs.append(os.path.normpath(p))
                out.append({'name': tj.get('name', ''), 'type': tj.get('type', ''), 'artifacts': arts, 'sources': srcs})
    return out


GTEST_RE = re.compile(r'\b(?:TEST|TEST_F|TEST_P|TYPED_TEST|TYPED_TEST_P|GTEST_TEST)\s*\(\s*(\w+)\s*,\s*(\w+)\s*\)')
FUNC_RE = re.compile(r'^[ \t]*(?:[\w*&:<>]+[ \t\n*&]+)+(\w+)[ \t]*\([^;{}()]*\)[ \t\n]*\{', re.M)


def read(path):
    try:
        with open(path, errors='replace') as fh:
            return fh.read()
    except Exception:
        return ''


def gtest_keys(name):
    """(suite, test) pairs a ctest name from gtest_discover_tests may stand for: Suite.Name, Inst/Suite.Name/0, Suite/0.Name."""
    left, dot, right = name.partition('.')
    if not dot:
        return []
    test = right.split('/')[0]
    return [(s, test) for s in left.split('/') if s]


TOKEN_RE = re.compile(r'\s*(?:\[(=*)\[(.*?)\]\1\]|"((?:[^"\\]|\\.)*)"|([^\s()"]+))', re.S)


def registered_commands():
    """Test name -> executable as CTest files register them, for tests whose executable does not exist (so that
    ctest --show-only reports no command for them): CTestTestfile.cmake and gtest_discover_tests' lists."""
    out = {}
    for d, dirs, names in os.walk(build):
        dirs[:] = [x for x in dirs if x not in ('CMakeFiles', '.cmake', 'Testing')]
        for n in names:
            if n != 'CTestTestfile.cmake' and not n.endswith('_tests.cmake'):
                continue
            text = read(os.path.join(d, n))
            for m in re.finditer(r'\badd_test\s*\(', text):
                pos = m.end()
                toks = []
                while len(toks) < 64:
                    t = TOKEN_RE.match(text, pos)
                    if not t:
                        break
                    toks.append(t.group(2) if t.group(2) is not None else t.group(3) if t.group(3) is not None else t.group(4))
                    pos = t.end()
                if len(toks) >= 2:
                    out.setdefault(toks[0], toks[1:])
    return out


def do_map():
    with open(os.path.join(tmp, 'files')) as fh:
        selected = [l.rstrip('\n') for l in fh if l.strip()]
    sel = set(os.path.normpath(f) for f in selected)
    try:
        with open(os.path.join(tmp, 'tests.json')) as fh:
            tests = json.load(fh).get('tests', [])
    except Exception:
        tests = []
    ts = targets()
    by_art = {}
    by_base = {}
    by_name = {}
    for t in ts:
        by_name[t['name']] = t
        for a in t['artifacts']:
            by_art[a] = t
            by_base[os.path.basename(a)] = t
    registered = None
    gtests = {}
    funcs = {}

    def index(f):
        if f not in gtests:
            text = read(f)
            gtests[f] = set(GTEST_RE.findall(text))
            funcs[f] = set(FUNC_RE.findall(text))

    chosen = []
    units = []
    for test in tests:
        name = test.get('name', '')
        cmd = test.get('command') or []
        if not cmd:
            if registered is None:
                registered = registered_commands()
            cmd = registered.get(name, [])
        t = None
        if cmd:
            t = by_art.get(os.path.realpath(cmd[0]))
            if t is None:
                for a in cmd:
                    t = by_base.get(os.path.basename(a))
                    if t is not None:
                        break
        whole = False
        if t is None and name.endswith('_NOT_BUILT'):
            # gtest_discover_tests' stand-in for a target whose executable was never built.
            t = by_name.get(name[:-len('_NOT_BUILT')])
            whole = True
        if t is None:
            continue
        srcs = [s for s in t['sources'] if os.path.isfile(s) and not s.startswith('..')]
        files = [s for s in srcs if s in sel]
        if not files:
            continue
        if whole:
            chosen.append(name)
            for f in files:
                print('@@ssr-meta test %s\t%s\t' % (name, f))
            continue
        exe = cmd[0] if cmd and os.path.isabs(cmd[0]) else (t['artifacts'][0] if t['artifacts'] else '')
        for s in srcs:
            index(s)
        hit = None
        # A GoogleTest name is looked up in every source of its target: a test of an unselected file is not run.
        for suite, tname in gtest_keys(name):
            for f in srcs:
                if (suite, tname) in gtests[f]:
                    hit = (f, suite + '.' + tname)
                    break
            if hit:
                break
        # A test that is one GoogleTest TEST (gtest_discover_tests, gtest_add_tests) runs through ctest as it is.
        fw = None if hit else framework(srcs, exe)
        if fw == 'gtest' and any(re.match(r'--gtest_(?:filter|list_tests)', a) for a in cmd[1:]):
            # The program is already told which tests to run: ctest runs it as the project says.
            fw = None
        if fw is not None:
            # A Catch2, doctest or GoogleTest program run whole by one ctest test: run by the helper itself, one
            # result per test case (units).
            props = test_props(test)
            env = dict(os.environ)
            for kv in props.get('ENVIRONMENT') or []:
                k, _, v = kv.partition('=')
                env[k] = v
            units.append({'name': name, 'fw': fw, 'exe': exe, 'cmd': [exe] + list(cmd[1:]),
                          'cwd': props.get('WORKING_DIRECTORY') or os.path.dirname(exe) or build,
                          'env': env, 'srcs': srcs, 'files': files})
            continue
        if hit is None:
            words = [name] + [os.path.basename(a) for a in cmd[1:]]
            for f in srcs:
                named = [w for w in words if w in funcs[f] and w != 'main']
                if named:
                    hit = (f, named[0])
                    break
        # A test that names no TEST and no test function runs its program whole: it stands for 'main', the program's
        # entry (defined in the file, or in a shared harness such as gtest_main), in each selected test source.
        hits = [hit] if hit else [(f, 'main') for f in srcs if 'main' in funcs[f]][:1] or [(f, 'main') for f in files]
        hits = [h for h in hits if h[0] in sel]
        if not hits:
            continue
        chosen.append(name)
        for f, site in hits:
            print('@@ssr-meta test %s\t%s\t%s' % (name, f, site))
    pattern = ''
    if chosen and len(chosen) < len(tests):
        pattern = '^(' + '|'.join(re.sub(r'([][^$.|()*+?\\{}])', r'\\\1', n) for n in chosen) + ')$'
        # One argument may not pass the kernel's 128 KiB limit: past it every test runs, and only the selected
        # ones are reported (the parser knows no others).
        if len(pattern) > 100000:
            pattern = ''
    with open(os.path.join(tmp, 'regex'), 'w') as fh:
        fh.write(pattern)
    with open(os.path.join(tmp, 'count'), 'w') as fh:
        fh.write(str(len(chosen)))
    with open(os.path.join(tmp, 'units.json'), 'w') as fh:
        json.dump(units, fh)


CASE_RE = re.compile(r'\b(TEST_CASE|SCENARIO|TEST_CASE_METHOD|TEST_CASE_FIXTURE|TEMPLATE_TEST_CASE|TEMPLATE_PRODUCT_TEST_CASE|TEMPLATE_LIST_TEST_CASE|TEST_CASE_TEMPLATE|TEMPLATE_TEST_CASE_SIG|TEST_CASE_TEMPLATE_DEFINE)\s*\(\s*(?:[\w:<>]+\s*,\s*)?"((?:[^"\\]|\\.)*)"(?:\s*,\s*"((?:[^"\\]|\\.)*)")?')
CATCH_INC = re.compile(r'#\s*include\s*[<"](?:[^">]*/)?(?:catch|catch_amalgamated)\.hpp[>"]|#\s*include\s*[<"]catch2/')
DOCTEST_INC = re.compile(r'#\s*include\s*[<"](?:[^">]*/)?doctest\.hh?(?:pp)?[>"]')
GTEST_INC = re.compile(r'#\s*include\s*[<"]gtest/gtest\.h[>"]')


def framework(srcs, exe):
    """'catch2', 'doctest' or 'gtest' for a test program written with one of them: from its sources' includes, else
    from the strings its executable holds (a project's own header may include the framework), else None."""
    gtest = False
    for s in srcs:
        text = read(s)
        if DOCTEST_INC.search(text):
            return 'doctest'
        if CATCH_INC.search(text):
            return 'catch2'
        gtest = gtest or bool(GTEST_INC.search(text))
    if gtest:
        return 'gtest'
    try:
        with open(exe, 'rb') as fh:
            data = fh.read(256 << 20)
    except Exception:
        return None
    if b'test-case-exclude' in data and b'doctest' in data:
        return 'doctest'
    if b'list-reporters' in data and b'rng-seed' in data and b'Catch' in data:
        return 'catch2'
    if b'gtest_list_tests' in data and b'gtest_filter' in data:
        return 'gtest'
    return None


def case_names(path, fw):
    """Test case names a file defines, as the framework reports them (Catch2 prefixes a SCENARIO's). Catch2's hidden
    cases (tagged [.] or [!hide], or named ./...) are left out: the program runs them only when named. A GoogleTest
    TEST is named Suite.Name, as the test-site finder names it (a DISABLED_ one never runs)."""
    if fw == 'gtest':
        return [('TEST', a + '.' + b) for a, b in GTEST_RE.findall(read(path)) if not a.startswith('DISABLED_') and not b.startswith('DISABLED_')]
    out = []
    for m in CASE_RE.finditer(read(path)):
        if fw == 'catch2' and (re.search(r'\[\.|\[!hide\]', m.group(3) or '') or m.group(2).startswith('./')):
            continue
        name = m.group(2).encode().decode('unicode_escape', 'replace') if '\\' in m.group(2) else m.group(2)
        if m.group(1) == 'SCENARIO':
            name = ('Scenario: ' if fw == 'catch2' else '  Scenario: ') + name
        out.append((m.group(1), name))
    return out


def test_props(test):
    props = {}
    for p in test.get('properties', []) or []:
        props[p.get('name')] = p.get('value')
    return props


def xml_cases(path):
    """Test cases of a Catch2 or doctest XML report, read as far as it goes (a program that crashed leaves it cut
    short): (finished, running) where finished is [(name, filename, ok, details)] and running the case that had
    started and not finished, if any."""
    finished = []
    running = None
    try:
        with open(path, 'rb') as fh:
            data = fh.read()
    except Exception:
        return finished, running, False
    parser = ET.XMLPullParser(events=('start', 'end'))
    complete = True
    try:
        parser.feed(data)
        parser.close()
    except ET.ParseError:
        complete = False
    try:
        events = list(parser.read_events())
    except ET.ParseError:
        events = []
    for ev, el in events:
        if el.tag != 'TestCase' or el.get('skipped') == 'true':
            continue
        if ev == 'start':
            running = (el.get('name', ''), el.get('filename', ''))
            continue
        running = None
        res = el.find('OverallResult')
        if res is not None:
            ok = res.get('success') == 'true'
        else:
            res = el.find('OverallResultsAsserts')
            ok = res is not None and res.get('test_case_success') == 'true'
        details = []
        if not ok:
            for sub in el.iter():
                if sub is el or sub.tag.startswith('OverallResult') or not (sub.get('success') == 'false' or sub.tag in ('Exception', 'FatalErrorCondition', 'Failure')):
                    continue
                where = '%s:%s: ' % (sub.get('filename', el.get('filename', '')), sub.get('line', '')) if sub.get('line') else ''
                text = ' '.join(t.strip() for t in sub.itertext() if t.strip())
                details.append('%s%s %s' % (where, sub.get('type', sub.tag), text))
        finished.append((el.get('name', ''), el.get('filename', ''), ok, details))
    return finished, running, complete


def catch_escape(name):
    return re.sub(r'([\\,\[\]"])', r'\\\1', name)


def doctest_escape(name):
    return name.replace('\\', '\\\\').replace(',', '\\,')


def list_names(u):
    """Every test case name the program has, asked of the program (only to run again the cases a crash cut off)."""
    tries = [['--list-test-names-only'], ['--list-tests', '--verbosity', 'quiet']] if u['fw'] == 'catch2' else [['--list-test-cases', '--reporters=xml']]
    for extra in tries:
        try:
            p = subprocess.run(u['cmd'] + extra, cwd=u['cwd'], env=u['env'], capture_output=True, timeout=60)
        except Exception:
            continue
        text = p.stdout.decode(errors='replace')
        # Catch2 v2 exits with the number of tests it listed; v3 rejects v2's option (and v2 v3's) as unknown.
        if p.returncode < 0 or (p.returncode != 0 and u['fw'] == 'doctest') or re.search(r'Unrecogni[sz]ed|unknown option', text + p.stderr.decode(errors='replace'), re.I):
            continue
        if u['fw'] == 'doctest':
            try:
                return [el.get('name', '') for el in ET.fromstring(text).iter('TestCase')]
            except ET.ParseError:
                continue
        return [l.strip() for l in text.split('\n') if l.strip()]
    return None


GTEST_RUN = re.compile(r'\[ RUN      \] ([^\s,]+)')
GTEST_END = re.compile(r'\[ +(OK|FAILED|SKIPPED) +\] ([^\s,]+)')
GTEST_DONE = re.compile(r'\[==========\] \d+ tests? from \d+ test (?:suites?|cases?) ran')


def run_gtest(u, names_of, record, fail_all, timeout):
    """A GoogleTest program that one ctest test runs whole, run test by test: GTEST_FILTER (read even by a main of
    the project's own, and past a wrapper such as cmake -E env) selects the selected files' tests, and the program's
    own [ RUN ] / [ OK ] / [ FAILED ] lines give each test's result as it finishes. A test that crashes the program
    or runs past the timeout fails alone: the program runs again without the tests that already finished."""
    sel_files = u['files']
    sites = {}
    for f in u['srcs']:
        for _, n in names_of[f]:
            a, _, b = n.partition('.')
            sites.setdefault((a, b), f)

    def site_of(full):
        # Suite.Name, or an instance of a parameterized or typed test: Inst/Suite.Name/0, Suite/0.Name.
        for a, b in gtest_keys(full):
            if (a, b) in sites:
                return sites[(a, b)], a + '.' + b
        return (sel_files[0] if len(sel_files) == 1 else None), full

    positive = '*'
    if any(f not in sel_files for f in u['srcs'] if names_of[f]):
        pats = []
        for f in sel_files:
            for _, n in names_of[f]:
                a, _, b = n.partition('.')
                pats += ['*' + n, '*' + n + '/*', '*' + a + '/*.' + b]
        # The filter travels in one environment variable, which may not pass the kernel's 128 KiB limit: past
        # it every test runs, and only the selected files' are reported.
        if pats and len(':'.join(pats)) < 60000:
            positive = ':'.join(pats)
    done = set()
    for attempt in range(64):
        flt = positive
        if done:
            flt += '-' + ':'.join(sorted(done))
            if len(flt) > 120000:
                break
        env = dict(u['env'])
        env.update({'GTEST_FILTER': flt, 'GTEST_COLOR': 'no', 'GTEST_BRIEF': '0'})
        timed_out = False
        try:
            p = subprocess.run(u['cmd'], cwd=u['cwd'], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
            rc, out = p.returncode, p.stdout
        except subprocess.TimeoutExpired as e:
            timed_out, rc, out = True, -9, e.stdout or b''
        lines = out.decode(errors='replace').rstrip('\n').split('\n')
        running, buf, finished, complete, ignored = None, [], 0, False, False
        for line in lines:
            if running is not None:
                buf.append(line)
            m = GTEST_RUN.search(line)
            if m:
                # A test that already finished runs again: the program does not honour GTEST_FILTER.
                ignored = ignored or m.group(1) in done
                running, buf = m.group(1), [line]
                continue
            m = GTEST_END.search(line)
            if m and m.group(2) == running:
                done.add(running)
                finished += 1
                if m.group(1) != 'SKIPPED':
                    f, site = site_of(running)
                    if f in sel_files:
                        record(f, site, m.group(1) == 'OK', buf)
                running, buf = None, []
            elif GTEST_DONE.search(line):
                complete = True
        if running is not None:
            done.add(running)
            why = 'the test did not finish within %ds' % timeout if timed_out else 'the program stopped in this test (exit %s)' % rc
            print('ssr: %s: %s: %s; the tests after it run again without it' % (u['name'], running, why))
            f, site = site_of(running)
            if f in sel_files:
                record(f, site, False, [why] + buf)
        if not (timed_out or rc < 0 or not complete) or ignored:
            break
        if running is None and not finished:
            if attempt == 0 and rc == 0 and not complete:
                # No GoogleTest output at all: the program is not run by GoogleTest's main; it passed whole.
                for f in sel_files:
                    record(f, 'main', True, [])
            elif attempt == 0:
                tail = lines[-40:]
                print('ssr: %s exited with %s before reporting any test' % (u['name'], rc))
                fail_all('the program exited with %s before its first test:\n' % rc + '\n'.join(tail))
            break


def do_units():
    try:
        with open(os.path.join(tmp, 'units.json')) as fh:
            units = json.load(fh)
    except Exception:
        units = []
    timeout = float(os.environ.get('SSR_CTEST_TIMEOUT') or 120)
    results = {}
    fails = {}

    def record(f, name, ok, lines):
        key = (f, name.replace('\t', ' ').replace('\n', ' '))
        if results.get(key) != 'failed':
            results[key] = 'passed' if ok else 'failed'
        if not ok:
            fails.setdefault(key, []).extend(lines)

    for u in units:
        sel_files = u['files']
        names_of = {f: case_names(f, u['fw']) for f in u['srcs']}

        def attribute(name, filename):
            # The file the report names, else the source whose text defines a case of that name.
            if filename:
                p = os.path.normpath(os.path.relpath(filename, src) if os.path.isabs(filename) else filename)
                if p in names_of or (not p.startswith('..') and os.path.isfile(p)):
                    return p
                for f in u['srcs']:
                    if os.path.basename(f) == os.path.basename(p):
                        return f
            for f in u['srcs']:
                if any(n == name or (k.startswith('TEMPLATE') or k.endswith('TEMPLATE')) and name.startswith(n) for k, n in names_of[f]):
                    return f
            return sel_files[0] if len(sel_files) == 1 else None

        def fail_all(why):
            # No report to read (the program was not built, or died before its first case): each case the selected
            # files define fails, and a file that names none fails whole.
            for f in sel_files:
                names = [n for _, n in names_of[f]]
                for n in names:
                    record(f, n, False, [why])
                if not names:
                    record(f, '', False, [why])

        if not os.path.isfile(u['exe']):
            fail_all('%s was not built (see the build errors above)' % os.path.basename(u['exe']))
            continue
        if u['fw'] == 'gtest':
            run_gtest(u, names_of, record, fail_all, timeout)
            continue
        has_cases = [f for f in u['srcs'] if names_of[f]]
        partial = any(f not in sel_files for f in has_cases)
        own_args = len(u['cmd']) > 1
        wanted = None
        base = []
        if partial and not own_args:
            if u['fw'] == 'doctest':
                base = ['--source-file=' + ','.join('*' + doctest_escape(f) for f in sel_files)]
            else:
                wanted = []
                for f in sel_files:
                    for k, n in names_of[f]:
                        wanted.append(n + ' - *' if k.startswith('TEMPLATE') else n)
                if not wanted:
                    wanted = None
        done = set()
        report = os.path.join(tmp, 'unit.xml')
        for attempt in range(64):
            args = list(base)
            if u['fw'] == 'catch2':
                if wanted is not None:
                    spec = os.path.join(tmp, 'unit.names')
                    with open(spec, 'w') as fh:
                        for n in wanted:
                            if n not in done:
                                fh.write('"' + catch_escape(n) + '"\n')
                    args += ['-f', spec]
                args += ['-r', 'xml', '-o', report]
            else:
                if done:
                    args.append('--test-case-exclude=' + ','.join(doctest_escape(n) for n in sorted(done)))
                args += ['--reporters=xml', '--out=' + report]
            try:
                os.remove(report)
            except OSError:
                pass
            timed_out = False
            try:
                p = subprocess.run(u['cmd'] + args, cwd=u['cwd'], env=u['env'], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
                rc, out = p.returncode, p.stdout
            except subprocess.TimeoutExpired as e:
                timed_out, rc, out = True, -9, e.stdout or b''
            finished, running, complete = xml_cases(report)
            for name, filename, ok, details in finished:
                done.add(name)
                f = attribute(name, filename)
                if f in sel_files:
                    record(f, name, ok, details)
            tail = out.decode(errors='replace').rstrip('\n').split('\n')[-40:]
            if running is not None:
                name, filename = running
                done.add(name)
                f = attribute(name, filename)
                why = 'the case did not finish within %ds' % timeout if timed_out else 'the program stopped in this case (exit %s)' % rc
                print('ssr: %s: %s: %s; the cases after it run again without it' % (u['name'], name, why))
                if f in sel_files:
                    record(f, name, False, [why] + tail)
            abnormal = timed_out or rc < 0 or rc > 255 or not complete
            if not abnormal:
                break
            if running is None and not finished:
                if attempt == 0:
                    print('ssr: %s exited with %s before reporting any test case' % (u['name'], rc))
                    fail_all('the program exited with %s before its first test case:\n' % rc + '\n'.join(tail))
                break
            if wanted is None and u['fw'] == 'catch2':
                listed = list_names(u)
                if listed is None:
                    break
                wanted = listed
            if wanted is not None and not [n for n in wanted if n not in done]:
                break
    for (f, name), st in sorted(results.items()):
        print('@@ssr-meta unit %s\t%s\t%s' % (st, f, name))
    if results:
        # What the episode views count, as ctest's own summary line is for its tests.
        bad = sum(1 for st in results.values() if st == 'failed')
        print('ssr: Catch2/doctest/GoogleTest test cases: %d passed, %d failed' % (len(results) - bad, bad))
    for (f, name), lines in sorted(fails.items()):
        print('--- FAIL %s::%s' % (f, name) if name else '--- FAIL %s' % f)
        for line in '\n'.join(lines).split('\n')[-200:]:
            print('    ' + line)


def do_clean():
    for t in targets():
        if t['type'] != 'EXECUTABLE':
            continue
        for a in t['artifacts']:
            try:
                os.remove(a)
            except OSError:
                pass


def do_cases():
    try:
        root = ET.parse(os.path.join(tmp, 'junit.xml')).getroot()
    except Exception as e:
        print('ssr: no readable JUnit report from ctest (%s)' % e)
        return
    for tc in root.iter('testcase'):
        name = tc.get('name', '')
        status = tc.get('status', '')
        skipped = tc.find('skipped')
        message = (skipped.get('message', '') if skipped is not None else '') or ''
        if status == 'run':
            st = 'passed'
        elif status == 'fail' or tc.find('failure') is not None:
            st = 'failed'
        elif status == 'notrun' and re.search(r'find executable|Not Run|not built', message, re.I):
            # The executable is missing: its target did not compile or link.
            st = 'failed'
        else:
            continue
        print('@@ssr-meta case %s\t%s' % (st, name))
        if st == 'failed':
            print('--- FAIL %s' % name)
            out = tc.find('system-out')
            text = (out.text or '') if out is not None else message
            lines = text.rstrip('\n').split('\n')
            for line in lines[-200:]:
                print('    ' + line)


{'map': do_map, 'clean': do_clean, 'cases': do_cases, 'units': do_units}[mode]()
`;

/** Why a configure step failed, in words a user can act on, from CMake's own output. */
const CONFIGURE_CAUSES: [RegExp, string][] = [
  [/FetchContent|ExternalProject|Failed to download|Could not resolve host|download of|git clone|Failed to clone/i,
    'the project downloads dependencies at configure time (FetchContent/ExternalProject), and the sandbox has no network; vendor them or install them as system packages'],
  [/Could NOT find (\w+)|Could not find a package configuration file provided by "?(\w+)/,
    'a package the project needs is not installed (find_package failed; install its development package, e.g. apt-get install libgtest-dev for GTest)'],
  [/CMake \d+\.\d+ or higher is required/, 'the project needs a newer CMake than the one installed'],
  [/No CMAKE_(?:C|CXX)_COMPILER could be found/, 'no C/C++ compiler is installed (apt-get install build-essential)'],
];

/**
 * Options that switch a project's tests on where they default to off (`option(FOO_BUILD_TESTS "..." OFF)`, or a bare
 * `if(ENABLE_TESTS)` on a variable nothing sets): BUILD_TESTING is CTest's convention, but many projects guard their tests with an option of their own. Options about coverage,
 * sanitizers, fuzzing, benchmarks and the like are left as the project sets them: they change how tests are built,
 * need tools, or add slow targets.
 */
const TEST_OPTION = /^\w*TEST(?:S|ING)?(?:_\w*)?$/i;
const NOT_A_TEST_SWITCH = /WITHOUT|(?:^|_)NO_|DISABLE|SKIP|COVERAGE|COV\b|SANITI[SZ]|ASAN|UBSAN|TSAN|VALGRIND|MEMCHECK|FUZZ|BENCH|INSTALL|DOC|NETWORK|ONLINE|SLOW|LONG|STRESS|WERROR|EXPORT/i;

/** if() operators whose next argument names something other than a variable. */
const IF_OPERAND = /^(?:TARGET|COMMAND|POLICY|TEST|EXISTS|IS_DIRECTORY|IS_ABSOLUTE|IS_SYMLINK)$/;

async function testOptions(tree: RepoTree, lists: string[]): Promise<string[]> {
  const out = new Set<string>();
  const isSwitch = (name: string): boolean => TEST_OPTION.test(name) && !NOT_A_TEST_SWITCH.test(name);
  // A guard on a variable the project never sets (`if(ENABLE_TESTS)`, turned on by its CI with -DENABLE_TESTS=1) is
  // an option that defaults to off, though no option() declares it.
  const guards = new Set<string>();
  const assigned = new Set<string>();
  for (const list of lists) {
    for (const c of commands(await tree.read(list))) {
      if (c.name === 'option' && c.args.length >= 2) {
        const [name, , value = 'OFF'] = c.args;
        assigned.add(name!);
        if (/^(?:OFF|FALSE|NO|0)$/i.test(value) && isSwitch(name!)) out.add(name!);
      } else if ((c.name === 'set' || c.name === 'cmake_dependent_option') && c.args[0]) {
        assigned.add(c.args[0]);
      } else if (c.name === 'if' || c.name === 'elseif') {
        c.args.forEach((a, i) => {
          if (/^[A-Z][A-Z0-9_]*$/.test(a) && !a.startsWith('CMAKE_') && !IF_OPERAND.test(c.args[i - 1] ?? '') && isSwitch(a)) guards.add(a);
        });
      }
    }
  }
  for (const g of guards) if (!assigned.has(g) && g !== 'BUILD_TESTING') out.add(g);
  return [...out].sort();
}

function ctestScript(testFiles: string[], options: readonly string[] = []): string {
  const files = checkTestFiles(testFiles);
  const causes = CONFIGURE_CAUSES.map(([re, why]) => `  if grep -Eqi ${shellEre(re)} "$ssr_tmp/configure.log"; then echo ${shQuote(`ssr: CMake configure failed: ${why}`)}; fi\n`).join('');
  return `${scriptPrelude('ctest', 'CMake configures and builds the project once (outside the tree, under /tmp, reused by later runs in the same sandbox); ctest runs the tests built from the selected files; each result is attributed to its file through CMake\'s file API.')}printf '\\n@@ssr-run ctest\\n'
${filesArray('ssr_files', files)}: > "$ssr_tmp/files"
for f in \${ssr_files[@]+"\${ssr_files[@]}"}; do
  printf '@@ssr-meta target %s\\n' "$f"
  if [ ! -f "$f" ]; then printf '@@ssr-meta missing %s\\n' "$f"; continue; fi
  printf '%s\\n' "$f" >> "$ssr_tmp/files"
done
ssr_rc=0
ssr_helper="$ssr_tmp/ctest_helper.py"
cat > "$ssr_helper" <<'SSR_HELPER_EOF'
${HELPER.trim()}
SSR_HELPER_EOF
if ! command -v cmake >/dev/null 2>&1 || ! command -v ctest >/dev/null 2>&1; then
  echo "ssr: CMake (cmake, ctest) must be installed where the tests run (apt-get install cmake ninja-build, and libgtest-dev for GoogleTest projects); the local sandbox uses the host's"
  ssr_rc=127
elif ! command -v python3 >/dev/null 2>&1; then
  echo "ssr: python3 must be installed where the tests run"
  ssr_rc=127
else
  ssr_src=$(pwd -P)
  # One build directory per source tree, outside it (never part of a diff), kept for the sandbox's later runs: ninja
  # then rebuilds only what a change touched. SSR_CMAKE_BUILD_DIR overrides the place.
  ssr_build="\${SSR_CMAKE_BUILD_DIR:-/tmp/ssr-cmake-$(printf '%s' "$ssr_src" | cksum | cut -d' ' -f1)}"
  mkdir -p "$ssr_build/.cmake/api/v1/query"
  : > "$ssr_build/.cmake/api/v1/query/codemodel-v2"
  if [ -f "$ssr_build/CMakeCache.txt" ]; then ssr_gen=(); elif command -v ninja >/dev/null 2>&1; then ssr_gen=(-G Ninja); else ssr_gen=(-G 'Unix Makefiles'); fi
  # Most projects fetch GoogleTest at configure time, which cannot work offline: FetchContent takes the system's
  # copy of its sources instead (Debian's libgtest-dev/googletest), under the name nearly every project declares.
  ssr_fc=(); if [ -f /usr/src/googletest/CMakeLists.txt ]; then ssr_fc=(-DFETCHCONTENT_SOURCE_DIR_GOOGLETEST=/usr/src/googletest); fi
  ssr_limited cmake -S . -B "$ssr_build" \${ssr_gen[@]+"\${ssr_gen[@]}"} -DCMAKE_BUILD_TYPE=Debug -DBUILD_TESTING=ON \${ssr_fc[@]+"\${ssr_fc[@]}"}${options.map((o) => ` -D${o}=ON`).join('')} -Wno-dev > "$ssr_tmp/configure.log" 2>&1
  ssr_crc=$?
  if [ "$ssr_crc" -ne 0 ]; then
    sed -e "s#$ssr_build/#<build>/#g" -e "s#$ssr_src/##g" "$ssr_tmp/configure.log" | tail -n 80
${causes}    echo "ssr: CMake configure failed (exit $ssr_crc); no test could be built"
    ssr_rc=1
  else
    python3 "$ssr_helper" clean "$ssr_build" "$ssr_tmp"
    # -k 0: every target that compiles is built, so a compile error fails only the tests of the targets it breaks.
    if grep -q '^CMAKE_MAKE_PROGRAM:.*ninja' "$ssr_build/CMakeCache.txt"; then ssr_keep=(-k 0); else ssr_keep=(-k); fi
    ssr_limited cmake --build "$ssr_build" -j "\${SSR_BUILD_JOBS:-2}" -- "\${ssr_keep[@]}" 2>&1 | sed -e "s#$ssr_build/#<build>/#g" -e "s#$ssr_src/##g" | grep -v '^\\[[0-9]*/[0-9]*\\] \\(Building\\|Linking\\)'
    ssr_brc=\${PIPESTATUS[0]}
    [ "$ssr_brc" -ne 0 ] && echo "ssr: the build failed (exit $ssr_brc); the tests of the targets it could not build fail"
    ctest --test-dir "$ssr_build" --show-only=json-v1 > "$ssr_tmp/tests.json" 2>/dev/null
    python3 "$ssr_helper" map "$ssr_build" "$ssr_tmp"
    ssr_regex=$(cat "$ssr_tmp/regex" 2>/dev/null)
    ssr_units=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$ssr_tmp/units.json" 2>/dev/null || echo 0)
    if [ "$(cat "$ssr_tmp/count" 2>/dev/null)" = 0 ] && [ "$ssr_units" = 0 ]; then
      echo "ssr: no CTest test runs an executable built from the selected files"
    elif [ "$(cat "$ssr_tmp/count" 2>/dev/null)" = 0 ]; then
      ssr_limited python3 "$ssr_helper" units "$ssr_build" "$ssr_tmp" 2>&1 | sed -e "s#$ssr_build/#<build>/#g" -e "s#$ssr_src/##g"
    else
      ssr_sel=()
      [ -n "$ssr_regex" ] && ssr_sel=(-R "$ssr_regex")
      ssr_limited ctest --test-dir "$ssr_build" --output-junit "$ssr_tmp/junit.xml" --timeout "\${SSR_CTEST_TIMEOUT:-120}" \${ssr_sel[@]+"\${ssr_sel[@]}"} 2>&1 \\
        | sed -e "s#$ssr_build/#<build>/#g" -e "s#$ssr_src/##g" | grep -Ev '^ *Start +[0-9]+: |^Test project |^Internal ctest changing'
      python3 "$ssr_helper" cases "$ssr_build" "$ssr_tmp"
      if [ "$ssr_units" != 0 ]; then
        ssr_limited python3 "$ssr_helper" units "$ssr_build" "$ssr_tmp" 2>&1 | sed -e "s#$ssr_build/#<build>/#g" -e "s#$ssr_src/##g"
      fi
    fi
  fi
fi
printf '\\n@@ssr-exit %s\\n' "$ssr_rc"
`;
}

/** A RegExp as a quoted grep -E pattern (the patterns above use only what ERE shares with JS). */
function shellEre(re: RegExp): string {
  return shQuote(re.source.replace(/\(\?:/g, '(').replace(/\\w/g, '[A-Za-z0-9_]').replace(/\\d/g, '[0-9]'));
}

const CTEST_PARSE = String.raw`
def parse(seg):
    tests = {}
    for value in seg.all('test'):
        parts = value.split('\t')
        if len(parts) < 2:
            continue
        tests.setdefault(parts[0], []).append((parts[1], parts[2] if len(parts) > 2 else ''))
    reported = set()
    for value in seg.all('case'):
        status, _, name = value.partition('\t')
        for f, site in tests.get(name, []):
            reported.add(f)
            seg.record(f + '::' + site if site else f, status)
    # A Catch2 or doctest program's test cases, each a result of its own (file<TAB>case; no case: the file).
    for value in seg.all('unit'):
        parts = value.split('\t', 2)
        if len(parts) < 3:
            continue
        status, f, name = parts
        reported.add(f)
        seg.record(f + '::' + name if name else f, status)
    for f in seg.all('missing'):
        seg.record(f, 'failed')
    # Configure failed, or the run was cut short: no file that reported nothing passed.
    if seg.exit != 0:
        for f in seg.files:
            if f not in reported:
                seg.record(f, 'failed')
`;

export async function detectCMake(tree: RepoTree): Promise<Runner[]> {
  if (!tree.has('CMakeLists.txt')) return [];
  const vendored = vendoredDirs(tree);
  const isVendored = (f: string): boolean => VENDORED.test(f) || FRAMEWORK_COPY.test(f) || vendored.some((d) => f.startsWith(d));
  const lists = tree.files.filter((f) => (f === 'CMakeLists.txt' || f.endsWith('/CMakeLists.txt')) && !isVendored(f));
  let enabled = false;
  for (const l of lists) if (ENABLES_TESTS.test((await tree.read(l)).replace(/#.*$/gm, ''))) enabled = true;
  if (!enabled) return [];
  const { tests: targetSources, programs } = await testTargetSources(tree, lists);
  const options = await testOptions(tree, lists);
  const testFiles: string[] = [];
  for (const f of tree.files) {
    if (!C_FAMILY_EXT.test(f) || isVendored(f)) continue;
    if (targetSources.has(f) || (isCTestCandidate(f) && HOLDS_TESTS.test(await tree.read(f)))) {
      // A header among a test target's sources holds no test of its own.
      if (/\.(?:h|hpp|hh|hxx)$/i.test(f) && !HOLDS_TESTS.test(await tree.read(f))) continue;
      testFiles.push(f);
    }
  }
  // A test program's other sources under the test directories are its tests too, however their functions are
  // named: a harness's main (found above) calls test functions of other files from a list, and its add_test may sit
  // in a function of a CMake module, where the program's name is computed (add_test(... COMMAND ${LIST_TARGET} unit
  // case)).
  const known = new Set(testFiles);
  for (const srcs of programs) {
    if (!srcs.some((s) => known.has(s))) continue;
    for (const s of srcs) {
      if (known.has(s) || isVendored(s) || !isCTestCandidate(s) || /\.(?:h|hpp|hh|hxx)$/i.test(s)) continue;
      known.add(s);
      testFiles.push(s);
    }
  }
  testFiles.sort();
  if (testFiles.length === 0) return [];
  const testSet = new Set(testFiles);
  // A program's entry file (main) outside the test targets is an example or a tool: no test program links it (each
  // has a main of its own), so a bug there breaks no test (e.g. a library's src/example.cpp).
  const sourceFiles: string[] = [];
  for (const f of tree.files) {
    if (!C_FAMILY_EXT.test(f) || testSet.has(f) || isTestFile(f) || isVendored(f) || NOT_UNDER_TEST.test(f)) continue;
    if (/\.(?:c|cc|cpp|cxx|c\+\+)$/i.test(f) && MAIN_FN.test(await tree.read(f))) continue;
    sourceFiles.push(f);
  }
  const language: Language = testFiles.some((f) => CPP_EXT.test(f)) || tree.files.some((f) => /\.(?:cc|cpp|cxx)$/i.test(f) && !isVendored(f)) ? 'cpp' : 'c';
  return [
    {
      name: 'ctest',
      language,
      testFiles,
      sourceFiles,
      script: (files: string[]) => ctestScript(files, options),
      parser: () => pythonParser('ctest', CTEST_PARSE),
    },
  ];
}

/** Why a C/C++ project built only with make finds no runner: said in NoTestRunnerError. */
export function makeOnly(tree: RepoTree): boolean {
  return !tree.has('CMakeLists.txt') && tree.files.some((f) => /(?:^|\/)(?:GNUmakefile|Makefile|makefile|Makefile\.am|configure\.ac|meson\.build)$/.test(f)) && tree.files.some((f) => C_FAMILY_EXT.test(f));
}
