import { checkTestFiles, filesArray, scriptPrelude } from './bash.js';
import { pythonParser } from './parser-common.js';
import type { RepoTree } from './scan.js';
import { JAVA_EXT, isJavaSourceFile, isJavaTestCandidate } from './test-files.js';
import type { Runner } from './types.js';

/** JUnit 4/5 and TestNG annotations that make a method a test, or a JUnit 3 TestCase. */
const TEST_MARK = /@(?:Test|ParameterizedTest|RepeatedTest|TestFactory|TestTemplate)\b|\bextends\s+TestCase\b/;

/** Quality plugins that fail a build for reasons other than its tests (or need the network); their standard skip switches. */
const SKIPS = [
  'checkstyle.skip',
  'spotbugs.skip',
  'pmd.skip',
  'cpd.skip',
  'rat.skip',
  'spotless.check.skip',
  'enforcer.skip',
  'animal.sniffer.skip',
  'license.skip',
  'maven.javadoc.skip',
  'gpg.skip',
];

/** Bytes of Maven's own output (the build's messages, what the tests printed) that a run's log keeps: its end. */
const MAVEN_LOG_TAIL = 256 * 1024;

/**
 * Maven builds whole modules, so one `mvn test` runs every selected class (a JVM start and a compile per file would
 * cost seconds each). Results come from surefire's XML reports, which name each test's class; the script tells the
 * parser which file each class is from. The build runs in a copy of the tree under the sandbox's /tmp: Maven has no
 * switch that moves every plugin's target/ reliably, and the tree must stay as it was (it is compared with git).
 */
function mavenScript(testFiles: string[]): string {
  const files = checkTestFiles(testFiles);
  return `${scriptPrelude('maven', 'All test files run in one offline mvn test (-Dtest, in .mvn/maven.config, names their classes); surefire\'s XML reports, printed after @@xml, say which class, hence which file, each result belongs to.')}printf '\\n@@ssr-run maven\\n'
${filesArray('ssr_files', files)}ssr_classes=()
ssr_modules=()
for f in \${ssr_files[@]+"\${ssr_files[@]}"}; do
  printf '@@ssr-meta target %s\\n' "$f"
  if [ ! -f "$f" ]; then printf '@@ssr-meta missing %s\\n' "$f"; continue; fi
  # The class name comes from the file's own package line, so a package that does not match its directory still works.
  pkg=$(sed -nE 's/^[[:space:]]*package[[:space:]]+([A-Za-z0-9_.]+)[[:space:]]*;.*/\\1/p' "$f" | head -n 1)
  cls=$(basename "$f" .java)
  [ -n "$pkg" ] && cls="$pkg.$cls"
  printf '@@ssr-meta class %s %s\\n' "$cls" "$f"
  ssr_classes+=("$cls")
  mod=$(dirname "$f")
  while [ "$mod" != . ] && [ ! -f "$mod/pom.xml" ]; do mod=$(dirname "$mod"); done
  case " \${ssr_modules[*]-} " in *" $mod "*) ;; *) ssr_modules+=("$mod") ;; esac
done
ssr_rc=0
if [ \${#ssr_classes[@]} -eq 0 ]; then
  echo "ssr: no test classes to run"
elif ! command -v mvn >/dev/null 2>&1 || ! command -v javac >/dev/null 2>&1; then
  # The docker backend's image has neither; say so instead of failing with "command not found" per file.
  echo "ssr: Maven (mvn) and a JDK (javac) must be installed where the tests run (e.g. apt-get install maven openjdk-17-jdk-headless); the local sandbox uses the host's"
  ssr_rc=127
else
  ssr_src=$(pwd -P)
  ssr_build="$ssr_tmp/build"
  mkdir -p "$ssr_build"
  # .git is left out: it can be large, and a test build does not need it.
  tar -C "$ssr_src" --exclude=./.git -cf - . | tar -C "$ssr_build" -xf -
  # Reports of an earlier build copied along with a target/ must not be read as this run's.
  find "$ssr_build" -type d -name surefire-reports -path '*/target/*' -prune -exec rm -rf {} +
  # Our own settings replace ~/.m2/settings.xml (which the sandbox does not show: it may hold credentials): offline,
  # and artifacts the user downloaded through a mirror of another id must still count as available. The resolver
  # checks an artifact's source repository against the _remote.repositories file beside it; naming a tracking file
  # that does not exist makes it take every artifact there as installed locally. (-llr did this up to Maven 3.9.0;
  # Maven 3.9.1 and later refuse to start with it, so every run failed on a current Maven.)
  printf '<settings><offline>true</offline><interactiveMode>false</interactiveMode></settings>\\n' > "$ssr_tmp/settings.xml"
  # The sandbox caps memory with a cgroup that a JVM inside cannot see (no /sys), so it would size its heap from the
  # host's RAM and be killed rather than throw OutOfMemoryError. MaxRAM makes Maven's JVM and surefire's forks size
  # themselves for SSR_JVM_MAX_RAM (default below the sandbox's 2 GiB); a heap the project sets in argLine still wins.
  export JAVA_TOOL_OPTIONS="-XX:MaxRAM=\${SSR_JVM_MAX_RAM:-2g}\${JAVA_TOOL_OPTIONS:+ $JAVA_TOOL_OPTIONS}"
  export MAVEN_OPTS="\${MAVEN_OPTS:--Xmx512m -XX:TieredStopAtLevel=1}"
  ssr_pl=()
  case " \${ssr_modules[*]} " in " . ") ;; *) ssr_pl=(-pl "$(IFS=,; echo "\${ssr_modules[*]}")" -am) ;; esac
  # Thousands of class names would pass the kernel's 128 KiB limit on one argument; Maven reads .mvn/maven.config
  # (of the build copy) itself, so the list goes there.
  mkdir -p "$ssr_build/.mvn"
  printf '\n-Dtest=%s\n' "$(IFS=,; echo "\${ssr_classes[*]}")" >> "$ssr_build/.mvn/maven.config"
  # Test failures do not stop the build (-Dmaven.test.failure.ignore, -fae), so every module reports (and a skipTests
  # property the pom sets for everyday builds is overridden: these runs are for the tests); a compile error
  # or a missing dependency does, with Maven's own message, and the parser then fails the files that got no report.
  (cd "$ssr_build" && ssr_limited mvn -o -B -q -fae -s "$ssr_tmp/settings.xml" -Daether.enhancedLocalRepository.trackingFilename=ssr-untracked -Dstyle.color=never \\
    ${SKIPS.map((s) => `-D${s}=true`).join(' ')} \\
    -DskipTests=false -Dmaven.test.failure.ignore=true -Dsurefire.failIfNoSpecifiedTests=false -DfailIfNoSpecifiedTests=false -DfailIfNoTests=false \\
    \${ssr_pl[@]+"\${ssr_pl[@]}"} test) > "$ssr_tmp/mvn.log" 2>&1
  ssr_rc=$?
  # The results are the reports printed below, after Maven's own output: a suite whose tests print megabytes (its
  # console and each report's <system-out>) filled the sandbox's output cap before them, and every test was lost.
  # Maven's errors and surefire's failure summary are at the end of its output, which is kept.
  ssr_size=$(wc -c < "$ssr_tmp/mvn.log")
  if [ "$ssr_size" -gt ${MAVEN_LOG_TAIL} ]; then echo "ssr: Maven and the tests printed $ssr_size bytes; the last ${MAVEN_LOG_TAIL} follow"; fi
  tail -c ${MAVEN_LOG_TAIL} "$ssr_tmp/mvn.log" | sed "s#$ssr_build/##g"
  # Every line of a report is prefixed, so nothing a test printed into it can pass for a marker; the <properties>
  # block (the JVM's system properties) and what each test printed (<system-out>, <system-err>, on lines of their
  # own; one on a single line goes first, or the range would run on to the next one's end) are only noise.
  while IFS= read -r -d '' x; do
    printf '\\n@@xml-begin %s\\n' "\${x#"$ssr_build/"}"
    sed -e '/<properties>/,/<\\/properties>/d' \\
      -e '/<system-out>.*<\\/system-out>/d' -e '/<system-out>/,/<\\/system-out>/d' \\
      -e '/<system-err>.*<\\/system-err>/d' -e '/<system-err>/,/<\\/system-err>/d' \\
      -e 's/^/@@xml /' "$x"
    printf '\\n@@xml-end\\n'
  done < <(find "$ssr_build" -path '*/target/surefire-reports/TEST-*.xml' -type f -print0 | sort -z)
fi
printf '\\n@@ssr-exit %s\\n' "$ssr_rc"
`;
}

const MAVEN_PARSE = String.raw`
import html
import xml.etree.ElementTree as ET

CASE_RE = re.compile(r'<testcase\b([^>]*?)(/>|>(.*?)</testcase>)', re.S)
ATTR_RE = re.compile(r'([\w:.-]+)="([^"]*)"')


def cases(text):
    """(classname, name, status) of every complete testcase; status None for skipped ones."""
    try:
        root = ET.fromstring(text)
    except Exception:
        root = None
    if root is not None:
        for tc in root.iter('testcase'):
            tags = set(child.tag for child in tc)
            status = 'failed' if tags & {'failure', 'error'} else (None if 'skipped' in tags else 'passed')
            yield tc.get('classname', ''), tc.get('name', ''), status
        return
    # A truncated report (the JVM died, the disk filled): keep the testcases that were written out in full.
    for m in CASE_RE.finditer(text):
        attrs = dict((k, html.unescape(v)) for k, v in ATTR_RE.findall(m.group(1)))
        body = m.group(3) or ''
        status = 'failed' if re.search(r'<(?:failure|error)\b', body) else (None if re.search(r'<skipped\b', body) else 'passed')
        yield attrs.get('classname', ''), attrs.get('name', ''), status


def parse(seg):
    classes = {}
    for value in seg.all('class'):
        cls, _, f = value.partition(' ')
        classes[cls] = f
    reported = set()
    reports = []
    current = None
    for line in seg.lines:
        if line.startswith('@@xml-begin'):
            current = []
        elif line.startswith('@@xml-end'):
            if current is not None:
                reports.append('\n'.join(current))
            current = None
        elif current is not None and line.startswith('@@xml '):
            current.append(line[len('@@xml '):])
    if current is not None:
        reports.append('\n'.join(current))
    for text in reports:
        for cls, name, status in cases(text):
            # A @Nested class is reported as Outer$Inner; its tests belong to the outer class's file.
            outer = cls.split('$')[0]
            f = classes.get(cls) or classes.get(outer)
            if f is None:
                continue
            reported.add(f)
            if status is None:
                continue
            inner = cls[len(outer) + 1:].replace('$', '.') if cls != outer else ''
            if not name or name == cls:
                # A class-level failure (@BeforeAll threw, the class could not load) names no method.
                seg.record(f, status)
                continue
            seg.record(f + '::' + (inner + '.' + name if inner else name), status)
    for f in seg.all('missing'):
        seg.record(f, 'failed')
    # A build that failed before these classes ran (a compile error, a missing dependency) left them no report.
    if seg.exit != 0:
        for f in set(classes.values()) - reported:
            seg.record(f, 'failed')
`;

/** Module directories reachable from the root pom through <module> entries (profiles' included), the root among them. */
async function reactorModules(tree: RepoTree): Promise<Set<string>> {
  const found = new Set<string>();
  const visit = async (dir: string): Promise<void> => {
    const pom = dir === '.' ? 'pom.xml' : `${dir}/pom.xml`;
    if (found.has(dir) || !tree.has(pom)) return;
    found.add(dir);
    const text = (await tree.read(pom)).replace(/<!--[\s\S]*?-->/g, '');
    for (const m of text.matchAll(/<module>\s*([^<]+?)\s*<\/module>/g)) {
      let rel = m[1]!.replace(/\/pom\.xml$/, '').replace(/\/+$/, '');
      const parts: string[] = dir === '.' ? [] : dir.split('/');
      for (const p of rel.split('/')) {
        if (p === '..') parts.pop();
        else if (p !== '.' && p !== '') parts.push(p);
      }
      rel = parts.join('/');
      await visit(rel === '' ? '.' : rel);
    }
  };
  await visit('.');
  return found;
}

function moduleOf(tree: RepoTree, file: string): string {
  let d = file;
  for (;;) {
    const i = d.lastIndexOf('/');
    d = i < 0 ? '.' : d.slice(0, i);
    if (tree.has(d === '.' ? 'pom.xml' : `${d}/pom.xml`) || d === '.') return d;
  }
}

/** An Ant pattern of surefire's (`**\/LR*.java`) as a regular expression over a class's path; null for `%regex[...]` and `!x`. */
function antPattern(pattern: string): RegExp | null {
  const p = pattern.trim().replace(/^\/+/, '').replace(/\.class$/, '.java');
  if (p === '' || p.startsWith('%') || p.startsWith('!')) return null;
  let re = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (p.startsWith('**/', i)) { re += '(?:.*/)?'; i += 2; } else if (p.startsWith('**', i)) { re += '.*'; i += 1; } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  // A pattern without an extension names the class (surefire matches it with .java added).
  return new RegExp(`^${re}${/\.java$/.test(p) ? '' : '(?:\\.java)?'}$`);
}

/**
 * The test classes a pom's surefire configuration leaves out (`<excludes>`, outside its profiles: a profile is the
 * project's opt-in, such as one that runs everything). Running a named class with -Dtest overrides these, so a
 * project's long-running or environment-bound tests, kept out of its everyday `mvn test`, would run every time.
 */
function surefireExcludes(pom: string): RegExp[] {
  const text = pom.replace(/<!--[\s\S]*?-->/g, '').replace(/<profiles>[\s\S]*?<\/profiles>/g, '');
  const out: RegExp[] = [];
  for (const plugin of text.matchAll(/<plugin>([\s\S]*?)<\/plugin>/g)) {
    if (!/<artifactId>\s*maven-surefire-plugin\s*<\/artifactId>/.test(plugin[1]!)) continue;
    for (const list of plugin[1]!.matchAll(/<excludes>([\s\S]*?)<\/excludes>/g)) {
      for (const e of list[1]!.matchAll(/<exclude>\s*([^<]+?)\s*<\/exclude>/g)) {
        const re = antPattern(e[1]!);
        if (re) out.push(re);
      }
    }
  }
  return out;
}

/** Whether the surefire excludes of the test file's module, or of a pom above it (a parent's), leave it out. */
async function excludedBySurefire(tree: RepoTree, file: string, cache: Map<string, RegExp[]>): Promise<boolean> {
  const m = /^(?:(.*)\/)?src\/test\/java\/(.+)$/.exec(file);
  const rel = m ? m[2]! : file;
  for (let d = moduleOf(tree, file); ; d = d.includes('/') ? d.slice(0, d.lastIndexOf('/')) : '.') {
    const pom = d === '.' ? 'pom.xml' : `${d}/pom.xml`;
    if (tree.has(pom)) {
      let excludes = cache.get(pom);
      if (!excludes) cache.set(pom, (excludes = surefireExcludes(await tree.read(pom))));
      if (excludes.some((re) => re.test(rel))) return true;
    }
    if (d === '.') return false;
  }
}

export async function detectJava(tree: RepoTree): Promise<Runner[]> {
  if (!tree.has('pom.xml')) return [];
  const modules = await reactorModules(tree);
  const testFiles: string[] = [];
  const excludes = new Map<string, RegExp[]>();
  for (const f of tree.files) {
    if (!isJavaTestCandidate(f) || !modules.has(moduleOf(tree, f))) continue;
    if (await excludedBySurefire(tree, f, excludes)) continue;
    if (TEST_MARK.test(await tree.read(f))) testFiles.push(f);
  }
  if (testFiles.length === 0) return [];
  return [
    {
      name: 'maven',
      language: 'java',
      testFiles,
      sourceFiles: tree.files.filter((f) => JAVA_EXT.test(f) && isJavaSourceFile(f)),
      script: mavenScript,
      parser: () => pythonParser('maven', MAVEN_PARSE),
    },
  ];
}

/** Why a Gradle-only project finds no runner: said in NoTestRunnerError, since the files alone look like a Java project. */
export function gradleOnly(tree: RepoTree): boolean {
  return !tree.has('pom.xml') && tree.files.some((f) => /(?:^|\/)(?:build|settings)\.gradle(?:\.kts)?$/.test(f));
}
