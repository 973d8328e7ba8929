import { detectCMake, makeOnly } from './cmake.js';
import { NoTestRunnerError } from './errors.js';
import { detectGo } from './go.js';
import { detectJava, gradleOnly } from './java.js';
import { detectJavaScript, unsupportedJavaScript } from './js-detect.js';
import { detectPython } from './python.js';
import { detectRust } from './rust.js';
import { RepoTree } from './scan.js';
import { VENDORED } from './test-files.js';
import type { DetectOptions, Runner } from './types.js';

const LOOKED_FOR = [
  'pytest/unittest (test_*.py, *_test.py, test.py, tests.py, tests/*.py with tests)',
  'node:test/jest/vitest/mocha/ava/tape (package.json, *.test.*, *.spec.*, test/, tests/, __tests__/)',
  'go test (go.mod with *_test.go)',
  'cargo test (Cargo.toml with tests/*.rs or #[test] in src)',
  'maven (pom.xml with src/test/java/**/*Test.java holding @Test)',
  'ctest (a root CMakeLists.txt that enables tests: enable_testing/include(CTest)/add_test/gtest_discover_tests)',
];

/**
 * Reads files on the host only (never executes repository code). Returns every runner that applies, best first:
 * languages are ranked by how many test files their best runner has, and within a language the runner the
 * project itself names comes first.
 */
export async function detectRunners(repoDir: string, options: DetectOptions = {}): Promise<Runner[]> {
  const tree = await RepoTree.scan(repoDir);
  const groups = [
    await detectPython(tree, options),
    await detectJavaScript(tree),
    await detectGo(tree),
    await detectRust(tree),
    await detectJava(tree),
    await detectCMake(tree),
  ].filter((g) => g.length > 0);
  if (groups.length === 0) {
    // A Gradle build looks like a Java project; say why it is not run rather than only what was looked for.
    const gradle = gradleOnly(tree)
      ? ['(found a Gradle build: Gradle projects are not supported, since gradle is not installed and its wrapper cannot download offline)']
      : [];
    // Likewise a C/C++ project built with make (or autotools, meson): only CMake projects with CTest tests are run.
    const make = makeOnly(tree)
      ? ['(found a C/C++ project without a CMakeLists.txt: only CMake/CTest builds are supported for C and C++, not Makefile, autotools or meson builds)']
      : [];
    throw new NoTestRunnerError(repoDir, [...LOOKED_FOR, ...gradle, ...make, ...(await unsupportedJavaScript(tree))]);
  }
  // A vendored copy of another project (third_party/googletest, with its Python test scripts) says nothing of the
  // project's own language: its test files do not count.
  const size = (g: Runner[]): number => Math.max(...g.map((r) => r.testFiles.filter((f) => !VENDORED.test(f)).length));
  // Array.prototype.sort is stable, so equal counts keep the order python, JS/TS, go, rust, java, C/C++.
  groups.sort((a, b) => size(b) - size(a));
  return groups.flat();
}
