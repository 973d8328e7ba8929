export type RunnerName =
  | 'pytest'
  | 'unittest'
  | 'node-test'
  | 'jest'
  | 'vitest'
  | 'mocha'
  | 'ava'
  | 'tape'
  | 'go-test'
  | 'cargo-test'
  | 'maven'
  | 'ctest';

export type Language = 'python' | 'javascript' | 'typescript' | 'go' | 'rust' | 'java' | 'c' | 'cpp';

export interface Runner {
  name: RunnerName;
  language: Language;
  /** Relative paths (posix) of the repository's test files, sorted. */
  testFiles: string[];
  /**
   * Relative paths of code (non-test) source files in this runner's language(s), sorted; excludes
   * vendored/dependency dirs (node_modules, vendor, .venv, venv, site-packages, target, dist, build, .git, __pycache__).
   */
  sourceFiles: string[];
  /** Bash script body (with `#!/usr/bin/env bash` first line) that runs exactly these test files from the repo root and prints per-test results. */
  script(testFiles: string[]): string;
  /** Source of test_parser.py for this runner's output. */
  parser(): string;
}

export interface DetectOptions {
  /**
   * Whether `python3 -c 'import pytest'` works where the tests will run. Default: probed once on the host
   * (from a neutral directory, so no repository code is imported).
   */
  pythonHasPytest?: boolean;
}
