/**
 * `npm run bench:candidates [-- --policy <version> --home <dir> --set examples/heldout.json --tries N]`: where the
 * true repair of each held-out bug sits among the embedded solver's candidates, and how likely a policy version is
 * to try it. It runs no search, only each bug's first test run, so it answers in about a minute what a held-out
 * evaluation answers in minutes, without the noise of the sampled searches:
 *   - whether some candidate reverts (part of) the bug: an edit that makes a changed line read as the original does,
 *     up to whitespace and parentheses (the solver's edits are single edits; a bug can compose several);
 *   - P(fix tried): the chance that a sampled order (the solver's Plackett-Luce ranking) puts such an edit among its
 *     first `tries` picks, by Monte Carlo over the policy's real scores.
 * `--home` is the state directory whose store holds the version (a bench's home, printed by bench:learning);
 * without it a fresh one is made and `--policy` defaults to an untrained version 0.
 * `--fit [--fit-features n]` adds the ceiling of the options' features (bench/fit-ceiling.ts): the P(fix tried) of
 * the best linear score over them (the first n numeric ones), fitted knowing the answers, leave one bug out and
 * in-sample; with and without the key's words. `--dump <file>` writes every option with its features as JSON.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createRuntime } from '../src/runtime.js';
import { readHeldoutSet, resolveSetRepos } from '../src/eval/heldout.js';
import { buildSolverState } from '../src/episode/solverState.js';
import { detectRunners, isTestFile } from '../src/repo/runners/index.js';
import { applyDiff } from '../src/repo/testrun.js';
import { reverseDiff, touchedPaths } from '../src/artifact/diff.js';
import { TestRunCounter } from '../src/agents/common.js';
import { failingCoverageOf, repairCandidates } from '../src/agents/solver.js';
import { ensureRepo } from '../src/repo/prepare.js';
import { OnnxPolicy } from '../src/policy/onnx/runner.js';
import { DEFAULT_SET } from '../src/cli/eval.js';
import { NUMERIC } from '../src/policy/onnx/features.js';
import { PRIOR } from '../src/policy/policy.js';
import { restoringOptions, wholeFixes } from '../src/trainer/expected.js';
import { ceiling, type FitBug } from './fit-ceiling.js';
import { pFixTried, pLinesTried, type DumpedBug } from './p-fix-tried.js';

const { values: a } = parseArgs({ options: { policy: { type: 'string', default: 'candidates-v0@0' }, home: { type: 'string' }, set: { type: 'string', default: DEFAULT_SET }, tries: { type: 'string' }, fit: { type: 'boolean', default: false }, 'fit-features': { type: 'string' }, dump: { type: 'string' } } });
const setFile = path.resolve(a.set!);
const set = await readHeldoutSet(setFile);
const repos = await resolveSetRepos(set, setFile);
const rt = createRuntime({ home: a.home ?? mkdtempSync(path.join(tmpdir(), 'ssr-candidates-')) });
await rt.warm();
const policy = await OnnxPolicy.open(rt.store, a.policy!);
// The solver's budget less its start-state run and, where the runner supports it, its coverage run.
const tries = Number(a.tries ?? set.budget - 2);
let present = 0, pSum = 0, pEverySum = 0, exactBugs = 0;
const fitBugs: FitBug[] = [];
const dumped: DumpedBug[] = [];

console.log(`policy ${a.policy} on held-out set '${set.name}': P(fix tried) within the first ${tries} picks\n`);
for (const bug of set.bugs) {
  const repo = repos.get(bug.repo)!;
  await ensureRepo(rt.home, repo);
  const sb = await rt.provider.create(await buildSolverState(rt.provider, repo.path, bug.artifact));
  try {
    const runner = (await detectRunners(repo.path))[0];
    const task = reverseDiff(bug.artifact.testWeaken);
    await applyDiff(sb, task, 'the task diff');
    const testFiles = touchedPaths(task).filter((p) => runner.testFiles.includes(p) || isTestFile(p));
    const counter = new TestRunCounter(90_000);
    const first = await counter.run(sb, runner, testFiles);
    const { cands, coverage } = await repairCandidates(sb, testFiles, first, runner.sourceFiles, 8, failingCoverageOf(counter, sb, runner, testFiles, first));
    const ran = cands.filter((c) => c.option.features?.[8] === 1).length, notRan = cands.filter((c) => c.option.features?.[9] === 1).length;
    const original = new Map(touchedPaths(bug.artifact.bugInject).map((f) => [f, readFileSync(path.join(repo.path, f), 'utf8')]));
    const texts = new Map<string, string>();
    for (const f of original.keys()) texts.set(f, (await sb.readFile(f)).toString('utf8'));
    const edits = cands.map((c) => ({ file: c.file, edit: c.m.edit }));
    const byLine = restoringOptions(edits, texts, original);
    const fixes = new Set(byLine.flat());
    const exact = wholeFixes(byLine).length;
    if (exact) exactBugs++;
    const scores = await policy.scores('solve.repair', cands.map((c) => c.option));
    const hit = pFixTried(scores, fixes, tries, `candidates/${bug.id}`);
    const every = pLinesTried(scores, byLine.map((l) => new Set(l)), tries, `candidates/${bug.id}`).every;
    pEverySum += every;
    fitBugs.push({ id: bug.id, options: cands.map((c) => c.option), fixes });
    dumped.push({ id: bug.id, cands: cands.map((c, i) => ({ key: c.option.key, f: c.option.features ?? [], fix: fixes.has(i), file: c.file, line: c.m.line })), lines: byLine });
    if (fixes.size) present++;
    pSum += hit;
    const kinds = [...new Set([...fixes].map((i) => cands[i].option.key))].join(', ');
    const fixRan = [...fixes].filter((i) => cands[i].option.features?.[8] === 1).length;
    const best = Math.max(0, ...cands.map((c) => c.option.features?.[10] ?? 0));
    const top = cands.filter((c) => (c.option.features?.[10] ?? 0) >= best - 1e-9).length;
    const fixTop = [...fixes].filter((i) => (cands[i].option.features?.[10] ?? 0) >= best - 1e-9).length;
    const cov = coverage ? `  coverage [${[...coverage.langs].join(',')}]: ${ran} ran, ${notRan} not, fixes ran ${fixRan}/${fixes.size}; line Ochiai max ${best.toFixed(2)} on ${top}, fixes ${fixTop}` : '  no coverage';
    console.log(`${bug.id.padEnd(16)} ${String(cands.length).padStart(4)} candidates  ${String(fixes.size).padStart(2)} revert the bug${kinds ? ` (${kinds})` : ''}, ${exact} sets restore it  P(fix tried) ${hit.toFixed(2)}, of every line ${every.toFixed(2)}${cov}`);
  } finally {
    await sb.dispose();
  }
}
console.log(`\n${set.bugs.length} bugs: a reverting candidate exists for ${present}, a set restoring every line for ${exactBugs}; mean P(fix tried) ${(pSum / set.bugs.length).toFixed(3)}, of every line ${(pEverySum / set.bugs.length).toFixed(3)} (what a solve needs)`);
// `--dump <file>`: every bug's options (key, features, file, line, whether it reverts the bug) as JSON, for analysis.
if (a.dump) {
  const { writeFileSync } = await import('node:fs');
  writeFileSync(a.dump, JSON.stringify(dumped));
}
if (a.fit) {
  const byId = new Map(fitBugs.map((b) => [b.id, b]));
  const p = (id: string, scores: number[]) => pFixTried(scores, byId.get(id)!.fixes, tries, `fit/${id}`, 500);
  // `--fit-features n`: only the first n numeric features, to see what the later ones add.
  const numeric = Number(a['fit-features'] ?? NUMERIC);
  for (const withKeys of [false, true]) {
    const c = ceiling(fitBugs, numeric, PRIOR['solve.repair'], withKeys, p);
    console.log(`ceiling, linear score over the first ${numeric} numeric features${withKeys ? ' and the key\'s words' : ''}, fitted knowing the fixes: leave one bug out ${c.leaveOneOut.toFixed(3)}, in-sample ${c.inSample.toFixed(3)}`);
  }
}
process.exit(0);
