import { checkTestFiles, filesArray, scriptPrelude } from './bash.js';
import { pythonParser } from './parser-common.js';
import type { RepoTree } from './scan.js';
import { GO_EXT, isGoTestFile, isTestFile } from './test-files.js';
import { goFileBuilds, hostGoEnv } from './gobuild.js';
import type { Runner } from './types.js';

const TEST_FUNC = /^func\s+Test(?:[^a-z\s(][^\s(]*)?\s*\(\s*\w+\s+\*\w+\.T\s*\)/m;

/**
 * The Example functions of a Go test file that go test runs: ExampleXxx taking nothing, with an output comment
 * (`// Output:` or `// Unordered output:`, any case) in its body; go test compiles one without it but never runs it.
 * Such an example is a test: go test checks what it prints against the comment and reports it like a Test function
 * (`--- FAIL: ExampleXxx`), so a bug only an example catches is a bug the suite catches.
 */
export function goExampleNames(src: string): string[] {
  const out: string[] = [];
  let current: string | null = null;
  for (const line of src.split('\n')) {
    const m = /^func\s+(Example(?:[^a-z\s(][^\s(]*)?)\s*\(\s*\)\s*\{/.exec(line);
    if (m) current = m[1]!;
    else if (/^\}/.test(line)) current = null;
    else if (current !== null && /^\s*\/\/\s*(?:unordered\s+)?output:/i.test(line)) {
      out.push(current);
      current = null;
    }
  }
  return out;
}

/**
 * go test runs packages, not files: the test files of one package run in one go test invocation (one build and link
 * of its test binary, where one per file cost a package of many test files seconds per run), each file's Test
 * functions (read from the file when the script runs, so a weakened file's deleted tests simply vanish) selected with
 * an anchored -run pattern and named to the parser (@@ssr-meta gonames), which attributes every result to its file.
 */
function goScript(testFiles: string[]): string {
  const files = checkTestFiles(testFiles);
  return `${scriptPrelude('go-test', "The test files of one package run in one go test invocation; each file's Test functions are listed for the parser, so every result is attributed to its file.")}# No network, no toolchain downloads; vet is off so that only test outcomes count.
export GOPROXY=off GOTOOLCHAIN=local
# ssr_go_names FILE: its Test functions, and its Example functions with an output comment (goExampleNames), as a|b|c.
ssr_go_names() {
  {
    sed -nE 's/^func[[:space:]]+(Test([^a-z[:space:](][^[:space:](]*)?)[[:space:]]*\\([[:space:]]*[A-Za-z_][A-Za-z0-9_]*[[:space:]]+\\*[A-Za-z_][A-Za-z0-9_]*\\.T[[:space:]]*\\).*/\\1/p' "$1"
    awk '/^func[ \t]+Example([^a-z \t(][^ \t(]*)?[ \t]*\\([ \t]*\\)[ \t]*\\{/ { ex = $0; sub(/^func[ \t]+/, "", ex); sub(/[ \t]*\\(.*/, "", ex); next }
      /^\\}/ { ex = ""; next }
      ex != "" && tolower($0) ~ /^[ \t]*\\/\\/[ \t]*(unordered[ \t]+)?output:/ { print ex; ex = "" }' "$1"
  } | paste -sd '|' -
}
# ssr_go_pkg FILE: its module directory and its package directory relative to that module, tab-separated.
ssr_go_pkg() {
  local dir mod rel
  dir=$(dirname "$1")
  mod=$dir
  while [ "$mod" != . ] && [ ! -f "$mod/go.mod" ]; do mod=$(dirname "$mod"); done
  if [ "$mod" = . ]; then rel=$dir; else rel=\${dir#"$mod"}; rel=\${rel#/}; [ -z "$rel" ] && rel=.; fi
  printf '%s\\t%s' "$mod" "$rel"
}
# ssr_run_pkg MOD REL NAMES: the Test functions NAMES (a|b|c) of one package.
ssr_run_pkg() {
  local mod=$1 rel=$2 names=$3
  # A coverage run (src/agents/coverage.ts) sets SSR_COV_DIR and names the failing tests in SSR_COV_TESTS: every
  # package of the module is profiled, the failing tests and the passing ones in separate runs (go-f-*, go-p-*).
  if [ -n "\${SSR_COV_DIR:-}" ]; then
    local list group sel
    list=$(printf '%s\\n' "\${SSR_COV_TESTS:-}" | tr ',' '\\n' | grep -v '^$')
    for group in f p; do
      if [ "$group" = f ]; then sel=$(printf '%s\\n' "\${names//|/$'\\n'}" | grep -Fx -f <(printf '%s\\n' "$list") | paste -sd '|' -)
      else sel=$(printf '%s\\n' "\${names//|/$'\\n'}" | grep -Fxv -f <(printf '%s\\n' "$list") | paste -sd '|' -); fi
      [ -z "$sel" ] && continue
      # A panicking failing test leaves no profile at all, so the failing group reruns like a test run does: the
      # failing tests that do not crash the binary still give their coverage, each round a profile of its own.
      ssr_go_cov=$group
      ssr_go_file "$mod" "$rel" "$sel"
      ssr_go_cov=
    done
    return 0
  fi
  ssr_go_file "$mod" "$rel" "$names"
}
${GO_RERUN}${filesArray('ssr_files', files)}declare -A ssr_pkg_files=()
ssr_pkg_order=()
for f in \${ssr_files[@]+"\${ssr_files[@]}"}; do
  if [ ! -f "$f" ]; then
    # A missing file (deleted by a diff) fails rather than silently vanishing.
    printf '\\n@@ssr-file %s\\nssr: test file not found: %s\\n\\n@@ssr-exit 127\\n' "$f" "$f"
    continue
  fi
  ssr_key=$(ssr_go_pkg "$f")
  [ -z "\${ssr_pkg_files[$ssr_key]+x}" ] && ssr_pkg_order+=("$ssr_key")
  ssr_pkg_files[$ssr_key]+="$f"$'\\n'
done
for ssr_key in \${ssr_pkg_order[@]+"\${ssr_pkg_order[@]}"}; do
  printf '\\n@@ssr-run go-test %s\\n' "\${ssr_key#*$'\\t'}"
  ssr_all=''
  while IFS= read -r f; do
    [ -z "$f" ] && continue
    printf '@@ssr-meta target %s\\n' "$f"
    ssr_names=$(ssr_go_names "$f")
    if [ -z "$ssr_names" ]; then echo "ssr: no Test functions (or Examples with an output comment) in $f"; continue; fi
    printf '@@ssr-meta gonames %s %s\\n' "$f" "$ssr_names"
    ssr_all=\${ssr_all:+$ssr_all|}$ssr_names
  done <<< "\${ssr_pkg_files[$ssr_key]}"
  ssr_rc=0
  if [ -n "$ssr_all" ]; then ssr_run_pkg "\${ssr_key%%$'\\t'*}" "\${ssr_key#*$'\\t'}" "$ssr_all" </dev/null; ssr_rc=$?; fi
  printf '\\n@@ssr-exit %s\\n' "$ssr_rc"
done
`;
}

/**
 * A panic (or os.Exit, or a runtime fatal error) in one test ends the whole test binary, so every later test of the
 * run would have no result and read as missing, although injected bugs in Go panic very often. So while a run ends
 * badly with tests of its -run selection still unreported, the same selection runs again with the tests that have a
 * result passed to -skip (Go >= 1.20), until nothing new is reported; the panicking test keeps its failure and its
 * panic in the log. A panic inside a subtest gets the same treatment one level down: the parent runs again skipping
 * its subtests that already reported. Every round shares the file's time limit (SSR_FILE_TIMEOUT), so reruns never
 * make a file take longer than one run was allowed to, and a run killed by that limit is never repeated.
 */
const GO_RERUN = `# ssr_go_round RUN SKIP: one go test invocation of the file's package; its output goes to the log and to go.out.
ssr_go_round() {
  local left=$(( ssr_go_deadline - SECONDS )) args=(-v -count=1 -vet=off -run "$1")
  [ -n "$2" ] && args+=(-skip "$2")
  [ -n "\${ssr_go_cov:-}" ] && args+=(-coverpkg=./... "-coverprofile=$SSR_COV_DIR/go-$ssr_go_cov-$RANDOM$RANDOM.out")
  if [ "$left" -lt 1 ]; then echo "ssr: no time left for another go test run"; return 124; fi
  if [ \${#ssr_limit[@]} -gt 0 ]; then
    (cd "$ssr_go_mod" && timeout -k 10 "$left" go test "\${args[@]}" "./$ssr_go_rel" 2>&1) | tee "$ssr_tmp/go.out"
  else
    (cd "$ssr_go_mod" && go test "\${args[@]}" "./$ssr_go_rel" 2>&1) | tee "$ssr_tmp/go.out"
  fi
  return "\${PIPESTATUS[0]}"
}
# Names (one a line) on stdin that are not among the lines of $1.
ssr_go_new() { grep -Fxv -f <(printf '%s\\n' "$1") | grep -v '^$'; }
# The test that panicked (the last failure reported, after the last test started, before "panic:"), e.g.
# TestX/case, or nothing: a panic outside a test's goroutine reports no failure, and an earlier test's must not count.
ssr_go_panicked() { awk '/^=== RUN /{last=""} /^[[:space:]]*--- FAIL: /{last=$3} /^panic: /{print last; exit}' "$ssr_tmp/go.out"; }
# ssr_go_subtests PARENT: reruns PARENT, skipping its direct subtests that reported, while a subtest of it panics.
ssr_go_subtests() {
  local parent=$1 kids='' new r
  while :; do
    new=$(sed -nE "s/^    --- (PASS|FAIL|SKIP): $parent\\\\/([^/[:space:]]+) .*/\\\\2/p" "$ssr_tmp/go.out" | ssr_go_new "$kids")
    [ -z "$new" ] && return 0
    kids=$(printf '%s\\n%s' "$kids" "$new" | grep -v '^$')
    echo "ssr: a subtest of $parent panicked; running its other subtests again"
    # Subtest names are printed as go test matches them (spaces as _), so quoting regexp metacharacters suffices.
    ssr_go_round "^$parent\\$" "^$parent\\$/^($(printf '%s\\n' "$kids" | sed 's/[][\\.*^$+?(){}|]/\\\\&/g' | paste -sd '|' -))\\$"
    r=$?
    [ "$ssr_go_rc" -eq 0 ] && ssr_go_rc=$r
    case $r in 0|124|137) return 0 ;; esac
    case $(ssr_go_panicked) in "$parent"/*) ;; *) return 0 ;; esac
  done
}
# ssr_go_file MOD REL NAMES: runs the Test functions NAMES (a|b|c) of package REL of module MOD, again after a crash.
ssr_go_file() {
  local seen="" new r p
  ssr_go_mod=$1 ssr_go_rel=$2 ssr_go_rc=0
  ssr_go_deadline=$(( SECONDS + \${SSR_FILE_TIMEOUT:-300} ))
  ssr_go_round "^($3)\\$" ''
  r=$?
  while :; do
    [ "$ssr_go_rc" -eq 0 ] && ssr_go_rc=$r
    # Passed, or killed by the time limit: nothing to run again.
    case $r in 0|124|137) break ;; esac
    new=$(sed -nE 's/^--- (PASS|FAIL|SKIP): ([^[:space:]]+) .*/\\2/p' "$ssr_tmp/go.out" | ssr_go_new "$seen")
    p=$(ssr_go_panicked)
    case $p in */*) ssr_go_subtests "\${p%%/*}" ;; esac
    if [ -z "$new" ]; then
      # Nothing new reported: a test that started but never reported ended the binary itself (os.Exit, a panic in a
      # goroutine of its own): it fails, and the rest runs without it. Nothing started at all (a build failure): stop.
      new=$(sed -nE 's/^=== RUN   ([^/[:space:]]+)$/\\1/p' "$ssr_tmp/go.out" | ssr_go_new "$seen" | sort -u)
      [ -z "$new" ] && break
      printf '%s\n' "$new" | sed 's/.*/--- FAIL: & (ssr: go test exited while this test ran)/'
    fi
    seen=$(printf '%s\\n%s' "$seen" "$new" | grep -v '^$')
    # Every selected test reported: the run failed normally, nothing is missing.
    [ -z "$(printf '%s\\n' "\${3//|/$'\\n'}" | ssr_go_new "$seen")" ] && break
    echo "ssr: go test ended before every selected test reported; running the rest again"
    ssr_go_round "^($3)\\$" "^($(printf '%s\\n' "$seen" | paste -sd '|' -))\\$"
    r=$?
  done
  return "$ssr_go_rc"
}
`;

const GO_PARSE = String.raw`
RESULT_RE = re.compile(r'^\s*--- (PASS|FAIL|SKIP): (\S+)')


def parse(seg):
    # One go test run covers a package's files: each result belongs to the file that declares its top-level test.
    owner = {}
    for value in seg.all('gonames'):
        path, _, names = value.partition(' ')
        for name in names.split('|'):
            if name and name not in owner:
                owner[name] = path
    for line in seg.lines:
        m = RESULT_RE.match(line)
        if m and m.group(1) != 'SKIP':
            name = m.group(2)
            path = owner.get(name.split('/')[0]) or (seg.files[0] if seg.files else None)
            if path:
                seg.record(path + '::' + name, 'passed' if m.group(1) == 'PASS' else 'failed')
`;

export async function detectGo(tree: RepoTree): Promise<Runner[]> {
  if (!tree.files.some((f) => f === 'go.mod' || f.endsWith('/go.mod'))) return [];
  // Files the build constraints leave out of go test are neither code the tests run nor tests that report.
  const env = hostGoEnv();
  const builds = async (f: string) => env === null || goFileBuilds(f, await tree.read(f), env);
  const testFiles: string[] = [];
  for (const f of tree.files) {
    if (!isGoTestFile(f)) continue;
    const src = await tree.read(f);
    if ((TEST_FUNC.test(src) || goExampleNames(src).length > 0) && (await builds(f))) testFiles.push(f);
  }
  if (testFiles.length === 0) return [];
  const sourceFiles: string[] = [];
  for (const f of tree.files) if (GO_EXT.test(f) && !isTestFile(f) && (await builds(f))) sourceFiles.push(f);
  return [
    {
      name: 'go-test',
      language: 'go',
      testFiles,
      sourceFiles,
      script: goScript,
      parser: () => pythonParser('go-test', GO_PARSE),
    },
  ];
}
