import { checkTestFiles, perFileLoop, scriptPrelude } from './bash.js';
import { pythonParser } from './parser-common.js';
import type { RepoTree } from './scan.js';
import { GO_EXT, isGoTestFile, isTestFile } from './test-files.js';
import type { Runner } from './types.js';

const TEST_FUNC = /^func\s+Test(?:[^a-z\s(][^\s(]*)?\s*\(\s*\w+\s+\*\w+\.T\s*\)/m;

/**
 * go test runs packages, not files, so each file's Test functions (read from the file when the script runs, so a
 * weakened file's deleted tests simply vanish) are selected with an anchored -run pattern.
 */
function goScript(testFiles: string[]): string {
  const files = checkTestFiles(testFiles);
  return `${scriptPrelude('go-test', "Each test file's Test functions run in their own go test invocation, so every result is attributed to its file.")}# No network, no toolchain downloads; vet is off so that only test outcomes count.
export GOPROXY=off GOTOOLCHAIN=local
ssr_run_file() {
  local dir mod rel names
  dir=$(dirname "$1")
  mod=$dir
  while [ "$mod" != . ] && [ ! -f "$mod/go.mod" ]; do mod=$(dirname "$mod"); done
  if [ "$mod" = . ]; then rel=$dir; else rel=\${dir#"$mod"}; rel=\${rel#/}; [ -z "$rel" ] && rel=.; fi
  names=$(sed -nE 's/^func[[:space:]]+(Test([^a-z[:space:](][^[:space:](]*)?)[[:space:]]*\\([[:space:]]*[A-Za-z_][A-Za-z0-9_]*[[:space:]]+\\*[A-Za-z_][A-Za-z0-9_]*\\.T[[:space:]]*\\).*/\\1/p' "$1" | paste -sd '|' -)
  if [ -z "$names" ]; then echo "ssr: no Test functions in $1"; return 0; fi
  # A coverage run (src/agents/coverage.ts) sets SSR_COV_DIR and names the failing tests in SSR_COV_TESTS: every
  # package of the module is profiled, the failing tests and the passing ones in separate runs (go-f-*, go-p-*).
  if [ -n "\${SSR_COV_DIR:-}" ]; then
    local list group sel
    list=$(printf '%s\\n' "\${SSR_COV_TESTS:-}" | tr ',' '\\n' | grep -v '^$')
    for group in f p; do
      if [ "$group" = f ]; then sel=$(printf '%s\\n' "\${names//|/$'\\n'}" | grep -Fx -f <(printf '%s\\n' "$list") | paste -sd '|' -)
      else sel=$(printf '%s\\n' "\${names//|/$'\\n'}" | grep -Fxv -f <(printf '%s\\n' "$list") | paste -sd '|' -); fi
      [ -z "$sel" ] && continue
      (cd "$mod" && ssr_limited go test -count=1 -vet=off -coverpkg=./... "-coverprofile=$SSR_COV_DIR/go-$group-$RANDOM$RANDOM.out" -run "^($sel)\\$" "./$rel")
    done
    return 0
  fi
  (cd "$mod" && ssr_limited go test -v -count=1 -vet=off -run "^($names)\\$" "./$rel")
}
${perFileLoop(files, 'ssr_run_file')}`;
}

const GO_PARSE = String.raw`
RESULT_RE = re.compile(r'^\s*--- (PASS|FAIL|SKIP): (\S+)')


def parse(seg):
    for line in seg.lines:
        m = RESULT_RE.match(line)
        if m and m.group(1) != 'SKIP':
            seg.test(m.group(2), 'passed' if m.group(1) == 'PASS' else 'failed')
`;

export async function detectGo(tree: RepoTree): Promise<Runner[]> {
  if (!tree.files.some((f) => f === 'go.mod' || f.endsWith('/go.mod'))) return [];
  const testFiles: string[] = [];
  for (const f of tree.files) {
    if (isGoTestFile(f) && TEST_FUNC.test(await tree.read(f))) testFiles.push(f);
  }
  if (testFiles.length === 0) return [];
  return [
    {
      name: 'go-test',
      language: 'go',
      testFiles,
      sourceFiles: tree.files.filter((f) => GO_EXT.test(f) && !isTestFile(f)),
      script: goScript,
      parser: () => pythonParser('go-test', GO_PARSE),
    },
  ];
}
