/**
 * The embedded solver: it gets the buggy repository (no history, no original files) and, as its whole task,
 * the reverse of the test-weakening patch. It finds out how to run the tests, applies the task's test changes,
 * localises the code the failing tests use, and repairs by generate-and-validate search within a budget of
 * test runs. Every choice of what to try next comes from the policy.
 */
import { makeDiff } from '../repo/diffgen.js';
import { detectRunners, isTestFile, NoTestRunnerError, type Runner } from '../repo/runners/index.js';
import { applyDiff, PatchApplyError, type TestRun } from '../repo/testrun.js';
import { touchedPaths } from '../artifact/diff.js';
import type { Sandbox } from '../sandbox/types.js';
import type { PolicyRunner } from '../policy/policy.js';
import { applyEdits, definedFunctions, findMutations, findTests, langOfPath, referencedNames, type Mutation, type MutationKind } from './code/index.js';
import { clamp01, testFileOf, testNameOf, TestRunCounter } from './common.js';

const REMOVING = new Set<MutationKind>(['remove-statement', 'remove-branch', 'return-change']);
/** Names every test calls that belong to test frameworks, not to the code under test: they localise nothing. */
const TEST_API = new Set([
  'test', 'it', 'describe', 'suite', 'specify', 'before', 'after', 'beforeEach', 'afterEach', 'expect', 'assert', 'equal',
  'strictEqual', 'deepEqual', 'deepStrictEqual', 'notEqual', 'ok', 'throws', 'rejects', 'raises', 'fixture', 'mark',
  'parametrize', 'approx', 'Error', 'Errorf', 'Fatal', 'Fatalf', 'Run', 'Helper', 'assertEqual', 'assertTrue', 'assertFalse',
  'assertRaises', 'assertIn', 'assertIsNone', 'assert_eq', 'assert_ne', 'len', 'str', 'int', 'float', 'list', 'dict', 'print',
]);

export type SolveStopReason = 'all-tests-pass' | 'budget-exhausted' | 'no-candidates' | 'no-failing-tests' | 'no-test-runner' | 'task-does-not-apply';

export interface SolveResult {
  /** The solver's patch against the buggy state (code files only). */
  patch: string;
  stop: SolveStopReason;
  /** What the solver itself observed; grading decides. */
  selfReportedPass: boolean;
  tried: string[];
  testRuns: number;
  testRunMs: number;
}

export interface SolverOptions {
  sandbox: Sandbox;
  /** Used only to learn how tests are run and which files are tests/code: the same in the buggy tree. */
  runnerHintDir: string;
  task: string;
  policy: PolicyRunner;
  budget: number;
  testTimeoutMs: number;
  maxFiles?: number;
}

/** The fixed task statement of the method around the reversed weakening patch. */
export function taskStatement(reverseWeaken: string): string {
  return [
    'I am improving the test suite of the project with the following changes, but the current code does not pass the tests.',
    'Please fix the code. If any existing tests relevant to the functionality being changed are failing, please make sure',
    'your patch passes those tests as well.',
    '',
    '```diff',
    // Never trim: a diff's last line may be a blank context line (' '), which trimming would corrupt.
    reverseWeaken.endsWith('\n') ? reverseWeaken.slice(0, -1) : reverseWeaken,
    '```',
    '',
  ].join('\n');
}

/** The diff block of a task statement. */
export function taskDiff(statement: string): string {
  const m = /```diff\n([\s\S]*)\n```\n*$/.exec(statement);
  return m ? m[1] + '\n' : '';
}

export async function solve(o: SolverOptions): Promise<SolveResult> {
  const sb = o.sandbox;
  const counter = new TestRunCounter(o.testTimeoutMs);
  const tried: string[] = [];
  const done = (stop: SolveStopReason, patch = '', pass = false): SolveResult =>
    ({ patch, stop, selfReportedPass: pass, tried, testRuns: counter.runs, testRunMs: counter.ms });

  let runner: Runner;
  try {
    runner = (await detectRunners(o.runnerHintDir))[0];
  } catch (e) {
    if (e instanceof NoTestRunnerError) return done('no-test-runner');
    throw e;
  }
  const diff = taskDiff(o.task);
  try {
    await applyDiff(sb, diff, 'the task diff');
  } catch (e) {
    if (e instanceof PatchApplyError) return done('task-does-not-apply');
    throw e;
  }
  const testFiles = touchedPaths(diff).filter((p) => runner.testFiles.includes(p) || isTestFile(p));
  const failingOf = (r: TestRun) => Object.keys(r.results).filter((k) => r.results[k] === 'failed');
  const first = await counter.run(sb, runner, testFiles);
  const failing = failingOf(first);
  if (failing.length === 0 && Object.keys(first.results).length > 0) return done('no-failing-tests');

  // Localise: functions the failing tests call (tier 1), and the functions those call (tier 2).
  const failingByFile = new Map<string, Set<string>>();
  for (const id of failing) {
    const f = testFileOf(id);
    (failingByFile.get(f) ?? failingByFile.set(f, new Set()).get(f)!).add(testNameOf(id));
  }
  const used = new Set<string>();
  for (const f of testFiles) {
    const lang = langOfPath(f);
    if (!lang) continue;
    const text = (await sb.readFile(f)).toString('utf8');
    const names = failingByFile.get(f);
    const sites = names ? (await findTests(lang, text)).filter((t) => names.has(t.name)) : [];
    // A file that failed as a whole (import error) has no test sites: the whole file is the evidence then.
    const slices = sites.length ? sites.map((t) => text.slice(t.start, t.end)) : [text];
    for (const sl of slices) for (const n of await referencedNames(lang, sl)) if (!TEST_API.has(n)) used.add(n);
  }
  interface FileInfo { file: string; text: string; tier1: Set<string>; tier2: Set<string> }
  const infos: FileInfo[] = [];
  const bodies = new Map<string, { lang: NonNullable<ReturnType<typeof langOfPath>>; text: string }>();
  for (const f of runner.sourceFiles) {
    const lang = langOfPath(f);
    if (!lang) continue;
    const r = await sb.exec(`cat -- '${f.replace(/'/g, `'\\''`)}'`);
    if (r.exitCode !== 0) continue;
    const defs = await definedFunctions(lang, r.stdout);
    const tier1 = new Set(defs.map((d) => d.name).filter((n) => used.has(n)));
    for (const d of defs) if (tier1.has(d.name)) bodies.set(`${f}\0${d.name}`, { lang, text: r.stdout.slice(d.start, d.end) });
    infos.push({ file: f, text: r.stdout, tier1, tier2: new Set() });
  }
  const callees = new Set<string>();
  for (const { lang, text } of bodies.values()) for (const n of await referencedNames(lang, text)) callees.add(n);
  for (const info of infos) {
    for (const d of await definedFunctions(langOfPath(info.file)!, info.text)) if (callees.has(d.name) && !info.tier1.has(d.name)) info.tier2.add(d.name);
  }
  const top = infos.filter((f) => f.tier1.size + f.tier2.size > 0)
    .sort((a, b) => b.tier1.size - a.tier1.size || b.tier2.size - a.tier2.size).slice(0, o.maxFiles ?? 6);

  const cands: { file: string; m: Mutation; tier: number }[] = [];
  for (const f of top) {
    for (const m of await findMutations(langOfPath(f.file)!, f.text)) {
      const tier = m.functionName && f.tier1.has(m.functionName) ? 1 : m.functionName && f.tier2.has(m.functionName) ? 2 : 3;
      // Deleting code (or returning a zero value) never restores what a bug took away: only value-changing edits.
      if (tier < 3 && !REMOVING.has(m.kind)) cands.push({ file: f.file, m, tier });
    }
  }
  if (cands.length === 0) return done('no-candidates');
  const order = o.policy.rank('solve.repair', cands.map(({ m, tier }) => ({
    key: m.kind,
    features: [tier === 1 ? 1 : 0, tier === 2 ? 1 : 0, clamp01(m.depth / 20)],
  })), o.budget);

  // Hill-climbing over single edits: keep an edit when it makes some failing test pass without breaking others.
  const current = new Map(top.map((f) => [f.file, f.text]));
  const applied = new Map<string, Mutation[]>();
  let stillFailing = new Set(failing);
  for (const idx of order) {
    if (counter.runs >= o.budget) break;
    const { file, m } = cands[idx];
    if ((applied.get(file) ?? []).some((a) => a.edit.start < m.edit.end && m.edit.start < a.edit.end)) continue;
    const edits = [...(applied.get(file) ?? []), m].map((x) => x.edit);
    const text = applyEdits(top.find((f) => f.file === file)!.text, edits);
    await sb.writeFile(file, text);
    const run = await counter.run(sb, runner, testFiles);
    const now = new Set(failingOf(run));
    const better = [...stillFailing].filter((t) => !now.has(t) && run.results[t] === 'passed').length;
    const worse = [...now].filter((t) => !stillFailing.has(t)).length;
    tried.push(`${m.description} in ${file}: ${now.size} failing`);
    if (better > 0 && worse === 0) {
      applied.set(file, [...(applied.get(file) ?? []), m]);
      current.set(file, text);
      stillFailing = now;
      if (now.size === 0 && Object.keys(run.results).length > 0) break;
    } else {
      await sb.writeFile(file, current.get(file)!);
    }
  }
  const changes = top.filter((f) => current.get(f.file) !== f.text).map((f) => ({ path: f.file, before: f.text, after: current.get(f.file)! }));
  const patch = await makeDiff(changes);
  if (stillFailing.size === 0) return done('all-tests-pass', patch, true);
  return done(counter.runs >= o.budget ? 'budget-exhausted' : 'no-candidates', patch, false);
}
