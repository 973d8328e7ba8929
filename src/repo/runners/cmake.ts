import { checkTestFiles, filesArray, scriptPrelude, shQuote } from './bash.js';
import { pythonParser } from './parser-common.js';
import type { RepoTree } from './scan.js';
import { C_FAMILY_EXT, isCTestCandidate, isTestFile } from './test-files.js';
import type { Language, Runner } from './types.js';

/** What makes a CMake project's tests runnable by ctest, in any of its CMakeLists.txt. */
const ENABLES_TESTS = /\b(?:enable_testing|add_test|gtest_discover_tests|gtest_add_tests)\s*\(|\binclude\s*\(\s*CTest\s*\)/i;
/** GoogleTest (and compatible) test definitions, and a C test program's entry point or test functions. */
const HOLDS_TESTS = /\b(?:TEST|TEST_F|TEST_P|TYPED_TEST|TYPED_TEST_P|GTEST_TEST)\s*\(|^[ \t]*(?:static\s+)?int\b[^;{}()\n]*\bmain\s*\(|\b(?:void|int|static\s+void|static\s+int)\s+(?:test_\w+|\w+_test)\s*\(/m;
/**
 * Directories of code the project vendors rather than writes (an embedded googletest, a copy of a dependency): a
 * bug injected there is not the project's, and their tests are not the project's tests.
 */
const VENDORED = /(?:^|\/)(?:third[_-]?party|3rdparty|external|extern|deps|vendor|_deps|googletest|googlemock)\//i;
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
 * which executable each test runs, so this only decides which files are tests).
 */
async function testTargetSources(tree: RepoTree, lists: string[]): Promise<Set<string>> {
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
  return out;
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
import json, os, re, sys
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


{'map': do_map, 'clean': do_clean, 'cases': do_cases}[mode]()
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
 * Options that switch a project's tests on where they default to off (`option(FOO_BUILD_TESTS "..." OFF)`): BUILD_TESTING
 * is CTest's convention, but many projects guard their tests with an option of their own. Options about coverage,
 * sanitizers, fuzzing, benchmarks and the like are left as the project sets them: they change how tests are built,
 * need tools, or add slow targets.
 */
const TEST_OPTION = /^\w*TEST(?:S|ING)?(?:_\w*)?$/i;
const NOT_A_TEST_SWITCH = /WITHOUT|(?:^|_)NO_|DISABLE|SKIP|COVERAGE|COV\b|SANITI[SZ]|ASAN|UBSAN|TSAN|VALGRIND|MEMCHECK|FUZZ|BENCH|INSTALL|DOC|NETWORK|ONLINE|SLOW|LONG|STRESS|WERROR|EXPORT/i;

async function testOptions(tree: RepoTree, lists: string[]): Promise<string[]> {
  const out = new Set<string>();
  for (const list of lists) {
    for (const c of commands(await tree.read(list))) {
      if (c.name !== 'option' || c.args.length < 3) continue;
      const [name, , value] = c.args;
      if (name && value && /^(?:OFF|FALSE|NO|0)$/i.test(value) && TEST_OPTION.test(name) && !NOT_A_TEST_SWITCH.test(name)) out.add(name);
    }
  }
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
    if [ "$(cat "$ssr_tmp/count" 2>/dev/null)" = 0 ]; then
      echo "ssr: no CTest test runs an executable built from the selected files"
    else
      ssr_sel=()
      [ -n "$ssr_regex" ] && ssr_sel=(-R "$ssr_regex")
      ssr_limited ctest --test-dir "$ssr_build" --output-junit "$ssr_tmp/junit.xml" --timeout "\${SSR_CTEST_TIMEOUT:-120}" \${ssr_sel[@]+"\${ssr_sel[@]}"} 2>&1 \\
        | sed -e "s#$ssr_build/#<build>/#g" -e "s#$ssr_src/##g" | grep -Ev '^ *Start +[0-9]+: |^Test project |^Internal ctest changing'
      python3 "$ssr_helper" cases "$ssr_build" "$ssr_tmp"
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
  const isVendored = (f: string): boolean => VENDORED.test(f) || vendored.some((d) => f.startsWith(d));
  const lists = tree.files.filter((f) => (f === 'CMakeLists.txt' || f.endsWith('/CMakeLists.txt')) && !isVendored(f));
  let enabled = false;
  for (const l of lists) if (ENABLES_TESTS.test((await tree.read(l)).replace(/#.*$/gm, ''))) enabled = true;
  if (!enabled) return [];
  const targetSources = await testTargetSources(tree, lists);
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
  if (testFiles.length === 0) return [];
  const testSet = new Set(testFiles);
  const language: Language = testFiles.some((f) => CPP_EXT.test(f)) || tree.files.some((f) => /\.(?:cc|cpp|cxx)$/i.test(f) && !isVendored(f)) ? 'cpp' : 'c';
  return [
    {
      name: 'ctest',
      language,
      testFiles,
      sourceFiles: tree.files.filter((f) => C_FAMILY_EXT.test(f) && !testSet.has(f) && !isTestFile(f) && !isVendored(f) && !NOT_UNDER_TEST.test(f)),
      script: (files: string[]) => ctestScript(files, options),
      parser: () => pythonParser('ctest', CTEST_PARSE),
    },
  ];
}

/** Why a C/C++ project built only with make finds no runner: said in NoTestRunnerError. */
export function makeOnly(tree: RepoTree): boolean {
  return !tree.has('CMakeLists.txt') && tree.files.some((f) => /(?:^|\/)(?:GNUmakefile|Makefile|makefile|Makefile\.am|configure\.ac|meson\.build)$/.test(f)) && tree.files.some((f) => C_FAMILY_EXT.test(f));
}
