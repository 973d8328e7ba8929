/**
 * Path rules for test files. isTestFile is deliberately broad (anything a bug diff must leave alone: tests, their
 * helpers and fixture data); the per-language "runnable" predicates are narrower (files that actually hold tests).
 */

/** Directory names whose whole content belongs to the test suite (tests, helpers, fixtures, snapshots, Go testdata). */
const TEST_DIRS: ReadonlySet<string> = new Set(['test', 'tests', '__tests__', '__mocks__', '__snapshots__', 'testdata']);

export const PYTHON_EXT = /\.py$/;
export const JS_EXT = /\.(?:[cm]?js|jsx|[cm]?ts|tsx)$/;
export const TS_EXT = /\.(?:[cm]?ts|tsx)$/;
export const GO_EXT = /\.go$/;
export const RUST_EXT = /\.rs$/;
export const JAVA_EXT = /\.java$/;
/** C and C++ sources and headers (a .h may be either; see langOfPath). */
export const C_FAMILY_EXT = /\.(?:c|h|cc|cpp|cxx|c\+\+|hpp|hh|hxx|h\+\+|ipp|inl)$/i;

/**
 * pytest's default names (test_*.py, *_test.py), plus a module named just test.py or tests.py: unittest's default
 * discovery pattern (test*.py) finds those, and they are how single-module libraries (a test.py beside the package,
 * run with `python -m pytest test.py` or `python test.py`) and Django apps (app/tests.py) keep their tests.
 */
const PY_TEST_NAME = /^(?:test_.*|.*_test|tests?)\.py$/;
const JS_TEST_NAME = /\.(?:test|spec)\.(?:[cm]?js|jsx|[cm]?ts|tsx)$/;
/**
 * A whole suite in one `test.js` at the repository root (ava's first default pattern; common in small packages).
 * Deeper down a `test.ts` may well be a module named after what it does, so only the root counts.
 */
const JS_ROOT_TEST = /^tests?\.(?:[cm]?js|[cm]?ts)$/;
const GO_TEST_NAME = /_test\.go$/;
/**
 * A Rust module file named tests.rs: the file of a `#[cfg(test)] mod tests;` (unit tests moved out of the code file
 * they test). Test code like any other: a bug must leave it alone, and the weakening may hide a bug there.
 */
const RUST_TEST_MODULE = /^tests\.rs$/;
/** Surefire's default includes (Test*, *Test, *Tests, *TestCase) and failsafe's *IT, wherever the file lives. */
const JAVA_TEST_NAME = /^(?:Test[A-Z0-9_]\w*|\w+(?:Test|Tests|TestCase|IT))\.java$/;
/** What `mvn test` runs by default: not *IT (integration tests, failsafe's, which need the verify phase). */
const JAVA_UNIT_TEST_NAME = /^(?:Test[A-Z0-9_]\w*|\w+(?:Test|Tests|TestCase))\.java$/;
/** C/C++ test sources by name: test_*.c(c|pp|xx), *_test.*, *_tests.*, *_unittest.* (GoogleTest's own convention). */
const C_TEST_NAME = /^(?:test_[\w-]*\.(?:c|cc|cpp|cxx)|[\w-]+_(?:test|tests|unittest)\.(?:c|cc|cpp|cxx|h|hpp|hh))$/i;

/**
 * Directories of code the project vendors rather than writes (an embedded googletest, a copy of a dependency): a
 * bug injected there is not the project's, and their tests are not the project's tests.
 */
export const VENDORED = /(?:^|\/)(?:third[_-]?party|3rdparty|external|extern|deps|vendor|_deps|googletest|googlemock)\//i;

/** Directories whose files are inputs to tests rather than tests themselves, even when they look like tests. */
const FIXTURE_DIRS: ReadonlySet<string> = new Set(['fixtures', '__fixtures__', 'fixture', '__mocks__', '__snapshots__', 'testdata', 'node_modules']);

export function normalizeRel(relPath: string): string {
  let p = relPath.replace(/\\/g, '/');
  while (p.startsWith('./')) p = p.slice(2);
  return p;
}

function split(relPath: string): { dirs: string[]; base: string } {
  const parts = normalizeRel(relPath).split('/').filter((s) => s !== '');
  const base = parts.pop() ?? '';
  return { dirs: parts, base };
}

/** Is this relative path a test file (for any supported language)? */
export function isTestFile(relPath: string): boolean {
  const { dirs, base } = split(relPath);
  if (base === '') return false;
  if (dirs.some((d) => TEST_DIRS.has(d))) return true;
  // tsd's type tests (index.test-d.ts) are checked by the compiler, never run: tests all the same, not code to change.
  if ((dirs.length === 0 && JS_ROOT_TEST.test(base)) || /\.test-d\.(?:[cm]?ts|tsx)$/.test(base)) return true;
  return PY_TEST_NAME.test(base) || base === 'conftest.py' || JS_TEST_NAME.test(base) || GO_TEST_NAME.test(base) || JAVA_TEST_NAME.test(base) || C_TEST_NAME.test(base) || RUST_TEST_MODULE.test(base);
}

export function inFixtureDir(relPath: string): boolean {
  return split(relPath).dirs.some((d) => FIXTURE_DIRS.has(d));
}

/** Python files that may hold tests, judged by path alone (content is checked separately). */
export function isPythonTestCandidate(relPath: string): boolean {
  const { dirs, base } = split(relPath);
  if (!PYTHON_EXT.test(base) || base === 'conftest.py' || base === '__init__.py' || inFixtureDir(relPath)) return false;
  return PY_TEST_NAME.test(base) || dirs.some((d) => d === 'test' || d === 'tests');
}

/** JS/TS files that may hold tests, judged by path alone. */
export function isJsTestCandidate(relPath: string): boolean {
  const { dirs, base } = split(relPath);
  if (!JS_EXT.test(base) || /\.d\.[cm]?ts$/.test(base) || inFixtureDir(relPath)) return false;
  return JS_TEST_NAME.test(base) || (dirs.length === 0 && JS_ROOT_TEST.test(base)) || dirs.some((d) => d === 'test' || d === 'tests' || d === '__tests__');
}

export function isGoTestFile(relPath: string): boolean {
  return GO_TEST_NAME.test(relPath) && !inFixtureDir(relPath);
}

/** Java test classes as Maven lays them out: a surefire-style name under a module's src/test/java. */
export function isJavaTestCandidate(relPath: string): boolean {
  const p = normalizeRel(relPath);
  const { base } = split(p);
  return /(?:^|\/)src\/test\/java\//.test(p) && JAVA_UNIT_TEST_NAME.test(base) && !inFixtureDir(p);
}

/** Java code the tests exercise: Maven's main sources (src/main/java), not tests or their helpers. */
export function isJavaSourceFile(relPath: string): boolean {
  const p = normalizeRel(relPath);
  return JAVA_EXT.test(p) && /(?:^|\/)src\/main\/java\//.test(p) && !isTestFile(p);
}

/** C/C++ files that may hold tests, judged by path alone: a test-like name, or a place under test/ or tests/. */
export function isCTestCandidate(relPath: string): boolean {
  const { dirs, base } = split(relPath);
  if (!C_FAMILY_EXT.test(base) || inFixtureDir(relPath)) return false;
  return C_TEST_NAME.test(base) || dirs.some((d) => d === 'test' || d === 'tests' || d === 'unittest' || d === 'unittests');
}
