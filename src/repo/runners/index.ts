/**
 * Test runner discovery for bug artifacts: which runner a repository uses, which files are tests, and the
 * test_script.sh / test_parser.py pair that turns a run into `{"<file>::<test>": "passed" | "failed"}`.
 */
export type { DetectOptions, Language, Runner, RunnerName } from './types.js';
export { detectRunners } from './detect.js';
export { isTestFile } from './test-files.js';
export { NoTestRunnerError } from './errors.js';
