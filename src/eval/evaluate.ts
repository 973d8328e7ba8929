/**
 * The held-out solve rate of a policy version: every bug of a held-out set, `attempts` solver attempts each at a
 * fixed budget of test runs, graded exactly as a campaign grades. The attempts' seeds depend on the bug and the
 * attempt, never on the version, so two versions are compared on the same random streams (common random numbers:
 * a difference in solve rate is the policies', not the dice's).
 */
import { putArtifact } from '../artifact/artifact.js';
import { parseConfig } from '../config/load.js';
import { gradeAttempt, solveAttempt, releaseEpisode } from '../episode/service.js';
import { loadOnnxWeights } from '../policy/onnx/store.js';
import type { Runtime } from '../runtime.js';
import { resolveSetRepos, type HeldoutBug, type HeldoutSet } from './heldout.js';

export interface EvalOptions {
  /** Override the set's fixed budget (then the figure is not comparable with the set's). */
  attempts?: number;
  budget?: number;
  /** Bugs evaluated at once (each runs its attempts in turn). */
  concurrency?: number;
  /** Reuse test results of tree states seen before in this process (the example suites are deterministic). */
  cache?: boolean;
  testTimeoutSec?: number;
  /** The solver's `solverRerank` (default: the config's). */
  rerank?: boolean;
}

export interface BugEval { id: string; repo: string; strategy: string; successes: number; attempts: number; stops: string[] }

export interface EvalResult {
  policyVersion: string;
  set: string;
  attempts: number;
  budget: number;
  bugs: number;
  /** Mean over bugs of each bug's fraction of successful attempts. */
  solveRate: number;
  /** Bugs solved by at least one attempt. */
  solvedAny: number;
  byRepo: Record<string, { bugs: number; solveRate: number }>;
  byStrategy: Record<string, { bugs: number; solveRate: number }>;
  perBug: BugEval[];
  testRuns: number;
  /** Attempts graded by a run of the suites; the others' patches were graded before in this process (`cache`). */
  graded: number;
  wallMs: number;
}

export async function evaluatePolicy(
  rt: Runtime, set: HeldoutSet, setFile: string, policyVersion: string, o: EvalOptions = {}, progress: (m: string) => void = () => {},
): Promise<EvalResult> {
  // Fail before any work on a version that does not exist (or a corrupt model), naming the file.
  await loadOnnxWeights(rt.store, policyVersion);
  const repos = await resolveSetRepos(set, setFile);
  await rt.warm();
  const attempts = o.attempts ?? set.attempts, budget = o.budget ?? set.budget;
  const cfg = parseConfig({
    repos: [...repos.values()].map((r) => ({ path: r.path })), solverTestRuns: budget, solverRunCache: o.cache ?? true,
    testTimeoutSec: o.testTimeoutSec ?? 90, ...(o.rerank !== undefined ? { solverRerank: o.rerank } : {}),
  }, 'evaluation');
  const t0 = Date.now();
  let testRuns = 0, graded = 0;
  const evalBug = async (bug: HeldoutBug): Promise<BugEval> => {
    const repo = repos.get(bug.repo)!;
    const m = await putArtifact(rt.store, bug.artifact, {
      repo: repo.name, baseCommit: repo.commit, strategy: bug.strategy, parent: null, order: 1, policyVersion: set.builtWith.policyVersion, createdBy: `heldout:${set.name}`,
    });
    const episodeId = `eval/${policyVersion}/${set.name}/${bug.id}`;
    let successes = 0;
    const stops: string[] = [];
    try {
      for (let a = 0; a < attempts; a++) {
        const s = await solveAttempt(rt, { campaignId: 'eval', episodeId, attempt: a, repo, artifactHash: m.hash, policyVersion, seed: `eval/${set.name}/${bug.id}`, cfg });
        testRuns += s.testRuns;
        // With the cache on, a patch graded before in this process (by an earlier version, mostly) is not run again.
        const g = await gradeAttempt(rt, { episodeId, attempt: a, repo, artifactHash: m.hash, patchRef: s.patchRef, cfg });
        if (!g.reused) graded++;
        if (g.success) successes++;
        stops.push(g.success ? 'solved' : `${s.stop}/${g.failure}`);
      }
    } finally {
      await releaseEpisode(rt, episodeId);
    }
    progress(`${bug.id}: ${successes}/${attempts}`);
    return { id: bug.id, repo: bug.repo, strategy: bug.strategy, successes, attempts, stops };
  };
  const perBug = await mapLimit(set.bugs, o.concurrency ?? 2, evalBug);
  const groupBy = (k: (b: BugEval) => string) => {
    const out: Record<string, { bugs: number; solveRate: number }> = {};
    for (const key of [...new Set(perBug.map(k))].sort()) {
      const bs = perBug.filter((b) => k(b) === key);
      out[key] = { bugs: bs.length, solveRate: solveRateOf(bs) };
    }
    return out;
  };
  return {
    policyVersion, set: set.name, attempts, budget, bugs: perBug.length, solveRate: solveRateOf(perBug),
    solvedAny: perBug.filter((b) => b.successes > 0).length, byRepo: groupBy((b) => b.repo), byStrategy: groupBy((b) => b.strategy),
    perBug, testRuns, graded, wallMs: Date.now() - t0,
  };
}

/** The solve rate of some bugs: the mean over bugs of each bug's fraction of successful attempts. */
export function solveRateOf(bs: BugEval[]): number {
  return bs.reduce((s, b) => s + b.successes / b.attempts, 0) / Math.max(1, bs.length);
}

/** Results in input order, at most `limit` running at once. */
export async function mapLimit<T, R>(xs: T[], limit: number, f: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(xs.length);
  let next = 0;
  const worker = async () => { while (next < xs.length) { const i = next++; out[i] = await f(xs[i]); } };
  await Promise.all(Array.from({ length: Math.min(limit, xs.length) }, worker));
  return out;
}

export function formatEval(r: EvalResult): string {
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const lines = [
    `policy ${r.policyVersion} on held-out set '${r.set}': ${r.bugs} bugs x ${r.attempts} attempts, ${r.budget} test runs each`,
    `solve rate ${pct(r.solveRate)} (bugs solved at least once: ${r.solvedAny}/${r.bugs}); ${r.testRuns} test runs, ${r.graded} attempts graded (the rest reused), ${(r.wallMs / 1000).toFixed(0)} s`,
    '',
    ...Object.entries(r.byRepo).map(([k, v]) => `  repo ${k.padEnd(20)} ${String(v.bugs).padStart(3)} bugs  ${pct(v.solveRate).padStart(6)}`),
    ...Object.entries(r.byStrategy).map(([k, v]) => `  strategy ${k.padEnd(16)} ${String(v.bugs).padStart(3)} bugs  ${pct(v.solveRate).padStart(6)}`),
  ];
  return lines.join('\n');
}
