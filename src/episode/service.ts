/**
 * The domain operations of one episode, as plain async functions over a Runtime: the activities are thin adapters
 * over these, and a script (the benchmark's sequential baseline, a test) can call them without Temporal.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { getArtifact, putArtifact, type Artifact } from '../artifact/artifact.js';
import { escapesRepo, reverseDiff, touchedPaths } from '../artifact/diff.js';
import { restoringOptions } from '../trainer/expected.js';
import type { SolveResult } from '../agents/solver.js';
import { runChecks, type CheckEnv } from '../checks/run.js';
import { inject } from '../agents/injector.js';
import { solve, taskStatement } from '../agents/solver.js';
import { TestRunCache } from '../agents/common.js';
import { Rng } from '../policy/rng.js';
import { storedDecisions } from '../policy/policy.js';
import { OnnxPolicy, OnnxPolicyRunner } from '../policy/onnx/runner.js';
import type { Role } from '../trainer/gradient.js';
import { isTestFile } from '../repo/runners/index.js';
import { runTestScript, type TestResults } from '../repo/testrun.js';
import { treeState } from '../repo/tree.js';
import { ensureRepo } from '../repo/prepare.js';
import { SnapshotGoneError } from '../sandbox/docker/provider.js';
import type { Runtime } from '../runtime.js';
import { faultChance, faultValue } from '../faults.js';
import { BAD_ARTIFACT_KINDS, BAD_PATCH_KINDS, badArtifact, badPatch, isBadArtifactKind, isBadPatchKind, type BadPatchKind } from '../badInputs.js';
import type { SnapshotRef } from '../sandbox/types.js';
import { sandboxes } from './sandboxes.js';
import { HangLimit } from '../repo/hangLimit.js';
import { StateRunCache } from '../repo/stateRuns.js';
import { sha256, type BlobRef } from '../store/store.js';
import { buildSolverState } from './solverState.js';
import { grade } from './grade.js';
import { composeHigherOrder } from './higherOrder.js';
import { llmInjectBug, llmSolveAttempt } from './llm.js';
import type {
  CheckInput, CheckOutput, GradeInput, GradeOutput, HigherOrderInput, HigherOrderOutput, InjectInput, InjectOutput,
  SolveInput, SolveOutput, CampaignConfig, RepoInfo,
} from './types.js';

export type Progress = (what: string) => void;

const limitsOf = (cfg: CampaignConfig) => ({ minPassingTests: cfg.minPassingTests, minChangedFiles: cfg.minChangedFiles, minFailingTests: cfg.minFailingTests });
const testTimeout = (cfg: CampaignConfig) => cfg.testTimeoutSec * 1000;

/** The embedded policy of a version for one trajectory, seeded per episode so a retried activity decides the same. */
async function policyRunner(rt: Runtime, cfg: CampaignConfig, version: string, role: Role, seed: string): Promise<OnnxPolicyRunner> {
  const policy = await OnnxPolicy.load(rt.store, version, { providers: cfg.policy?.providers });
  return new OnnxPolicyRunner(policy, new Rng(seed), role);
}

/**
 * The kind a bad-input fault produces: `<name>-kind` names one kind, several joined by '|' (one picked), or
 * 'cycle' (by `index`, the episode's place in the campaign, so a run of rounds meets every kind in turn);
 * unset, one at random. Seeded by the episode, so a retried activity makes the same bad input. Null when the
 * configured kind is unknown: the fault is then left off rather than guessed.
 */
function pickFaultKind<K extends string>(name: string, kinds: readonly K[], isKind: (s: string) => s is K, index: number | null, seed: string): K | null {
  const v = faultValue(`${name}-kind`);
  if (v === 'cycle') return kinds[(index ?? new Rng(seed).int(kinds.length)) % kinds.length]!;
  const allowed = v ? v.split('|').filter(isKind) : [...kinds];
  if (allowed.length === 0) return null;
  return new Rng(seed).pick(allowed);
}

/** Step * rounds + round, from the round workflow's id `<campaign>/<step>/<round>` (the campaign id may hold '/'). */
function episodeIndex(episodeId: string, rounds: number): number | null {
  const [step, round] = episodeId.split('/').slice(-2).map(Number);
  return Number.isInteger(step) && Number.isInteger(round) ? step! * rounds + round! : null;
}

export async function injectBug(rt: Runtime, i: InjectInput, progress?: Progress): Promise<InjectOutput> {
  await ensureRepo(rt.home, i.repo);
  if (i.cfg.policy?.kind === 'llm') return llmInjectBug(rt, i, progress);
  const policy = await policyRunner(rt, i.cfg, i.policyVersion, 'injector', `${i.seed}/inject`);
  const refKey = `refruns/${i.repo.key}/suite.json`;
  const r = await withReferenceRun(refKey, async (settled) => {
    const reference = await rt.store.getJson<{ runner: string; results: TestResults; script?: string }>(refKey);
    if (reference) settled();
    return inject({
      repoDir: i.repo.path, provider: sandboxes(rt, i.cfg), policy, strategies: i.cfg.strategies,
      minPassingTests: i.cfg.minPassingTests, candidates: i.cfg.injectorCandidates, testTimeoutMs: testTimeout(i.cfg),
      reference, onReference: async (runner, results, script) => { await rt.store.putJson(refKey, { runner, results, script }); settled(); },
      hangLimit: hangLimitOf(i.repo, i.cfg),
      ...stateRuns(rt, i.repo, i.cfg),
      log: progress, excludeBugs: new Set(i.cfg.excludeBugs ?? []), minChangedFiles: i.cfg.minChangedFiles,
    });
  });
  // Each dropped candidate's bug and last run, as blobs named from the trajectory beside its line in `attempts`.
  const rejected = await Promise.all(r.rejected.map(async (c) => ({
    attempt: c.attempt, bugRef: await rt.store.putBlob(c.bug), logRef: c.log === null ? null : await rt.store.putBlob(c.log),
  })));
  const traj = { role: 'injector', episodeId: i.episodeId, policyVersion: i.policyVersion, decisions: policy.decisions, result: r.ok ? { ok: true, description: r.description } : { ok: false, code: r.code, reason: r.reason }, attempts: r.attempts, rejected };
  const trajectoryRef = await rt.store.putBlob(JSON.stringify(traj));
  if (!r.ok) return { ok: false, code: r.code, reason: r.reason, strategy: r.strategy, trajectoryRef, testRunMs: r.testRunMs, testRuns: r.testRuns };
  const badKind = pickFaultKind('bad-artifact', BAD_ARTIFACT_KINDS, isBadArtifactKind, episodeIndex(i.episodeId, i.cfg.rounds), `${i.seed}/bad-artifact`);
  if (badKind && faultChance('bad-artifact', { episodeId: i.episodeId, kind: badKind })) {
    const bad = badArtifact(r.artifact, badKind, new Rng(`${i.seed}/bad-artifact/${badKind}`));
    // Marked as the fault's work, never the policy's: whoever reads the store sees where it came from.
    const m = await putArtifact(rt.store, bad.artifact, {
      repo: i.repo.name, baseCommit: i.repo.commit, strategy: r.strategy, parent: null, order: 1, policyVersion: i.policyVersion, createdBy: `fault:${badKind}`,
    });
    return { ok: true, artifactHash: m.hash, strategy: r.strategy, description: `fault ${badKind} over: ${r.description}`, trajectoryRef, testRunMs: r.testRunMs, testRuns: r.testRuns };
  }
  const m = await putArtifact(rt.store, r.artifact, {
    repo: i.repo.name, baseCommit: i.repo.commit, strategy: r.strategy, parent: null, order: 1, policyVersion: i.policyVersion, createdBy: 'embedded-injector',
  });
  return { ok: true, artifactHash: m.hash, strategy: r.strategy, description: r.description, trajectoryRef, testRunMs: r.testRunMs, testRuns: r.testRuns };
}

/**
 * The injectors of this process running the whole suite on a repository's original, by reference key. The rounds of a
 * step start together, and each ran that same run at once: on two cores three Maven builds of a suite that takes 66 s
 * alone all outgrew the 90 s limit, and every episode ended no-passing-tests. A round that finds one in progress
 * waits for it (until its results are stored, or the injector that ran it has finished) and then reads the store.
 */
const referenceRuns = new Map<string, Promise<void>>();
async function withReferenceRun<T>(refKey: string, f: (settled: () => void) => Promise<T>): Promise<T> {
  for (let p = referenceRuns.get(refKey); p; p = referenceRuns.get(refKey)) await p;
  let settle!: () => void;
  const mine = new Promise<void>((resolve) => { settle = resolve; });
  referenceRuns.set(refKey, mine);
  const settled = (): void => {
    if (referenceRuns.get(refKey) === mine) referenceRuns.delete(refKey);
    settle();
  };
  try {
    return await f(settled);
  } finally {
    settled();
  }
}

/**
 * The hang limit of a repository's bug states, one per repository and setting in this process: the injector's runs
 * and the checks' calibrate the same one. A worker that starts again calibrates anew (until a run of a bug state ends
 * there, runs have only their run limit).
 */
const hangLimits = new Map<string, HangLimit>();
/**
 * The runs of bug states a runtime's sandboxes made, where `bugStateRunCache` lets the injector and the checks share
 * them; named by the repository's state and the campaign's sandbox limits, which change what a run can give.
 */
const stateRunCaches = new WeakMap<Runtime, StateRunCache>();
function stateRuns(rt: Runtime, repo: RepoInfo, cfg: CampaignConfig): { runs: { cache: StateRunCache; scope: string } } | Record<string, never> {
  if (!cfg.bugStateRunCache) return {};
  let cache = stateRunCaches.get(rt);
  if (!cache) { cache = new StateRunCache(); stateRunCaches.set(rt, cache); }
  return { runs: { cache, scope: `${repo.key}\0${JSON.stringify(cfg.sandbox)}` } };
}
function hangLimitOf(repo: RepoInfo, cfg: CampaignConfig): HangLimit {
  const key = `${repo.key}\0${cfg.bugStateCpuLimit.factor}\0${cfg.bugStateCpuLimit.minSec}`;
  let h = hangLimits.get(key);
  if (!h) { h = new HangLimit(cfg.bugStateCpuLimit); hangLimits.set(key, h); }
  return h;
}

function checkEnv(rt: Runtime, repo: RepoInfo, cfg: CampaignConfig, progress?: Progress): CheckEnv {
  const origKey = (a: Artifact) => `refchecks/${repo.key}/${sha256(a.testScript + '\0' + a.testParser).slice(0, 24)}.json`;
  return {
    provider: sandboxes(rt, cfg), repoDir: repo.path, limits: limitsOf(cfg), testTimeoutMs: testTimeout(cfg), hangLimit: hangLimitOf(repo, cfg), isTestFile,
    ...stateRuns(rt, repo, cfg),
    saveLog: (_name, text) => rt.store.putBlob(text),
    cachedOriginalRun: async (a) => rt.store.getJson(origKey(a)),
    rememberOriginalRun: async (a, run) => { await rt.store.putJson(origKey(a), run); },
    onProgress: progress,
  };
}

export async function checkArtifact(rt: Runtime, i: CheckInput, progress?: Progress): Promise<CheckOutput> {
  await ensureRepo(rt.home, i.repo);
  const { artifact } = await getArtifact(rt.store, i.artifactHash);
  const report = await runChecks(artifact, checkEnv(rt, i.repo, i.cfg, progress));
  const reportRef = await rt.store.putBlob(JSON.stringify(report, null, 2));
  const summary = (c: (typeof report.checks)[number]) => ({ check: c.check, ok: c.ok, ran: c.ran, code: c.code, reason: c.reason });
  return {
    valid: report.valid, failed: report.failed ? { ...summary({ ...report.failed, ran: true }) } : null,
    checks: report.checks.map(summary), bugFailing: report.bugFailing.length, reportRef, testRunMs: report.testRunMs,
  };
}

/** Original results of the artifact's script, from the check's reference run (reused, never re-run if known). */
async function originalResults(rt: Runtime, repo: RepoInfo, cfg: CampaignConfig, a: Artifact): Promise<TestResults> {
  const env = checkEnv(rt, repo, cfg);
  const cached = await env.cachedOriginalRun!(a);
  if (cached) return cached.results;
  const sb = await treeState(sandboxes(rt, cfg), repo.path, []);
  try {
    const run = await runTestScript(sb, a.testScript, a.testParser, testTimeout(cfg));
    await env.rememberOriginalRun!(a, run);
    return run.results;
  } finally { await sb.dispose(); }
}

/**
 * Keyed by the runtime's home and the repository as well as the artifact: one process may hold several runtimes (the
 * bench runs a local campaign, then one over images, of the same bugs), and a snapshot's layers live under its home.
 */
const solverStates = new Map<string, Promise<SnapshotRef>>();
const stateKey = (rt: Runtime, repo: RepoInfo, hash: string) => JSON.stringify([path.resolve(rt.home), repo.key, hash]);
/** The solver's test results by tree state, per worker process (used when the config's solverRunCache is on). */
const solverRuns = new TestRunCache();

/**
 * One snapshot of the buggy state per artifact and worker process: the N attempts start from it in milliseconds.
 * It carries the episode's labels, so the episode's end (or the reaper) removes it.
 */
async function solverState(rt: Runtime, repo: RepoInfo, hash: string, a: Artifact, labels: Record<string, string>): Promise<SnapshotRef> {
  const key = stateKey(rt, repo, hash);
  let p = solverStates.get(key);
  if (!p) {
    p = buildSolverState(rt.provider, repo.path, a, undefined, labels);
    solverStates.set(key, p);
    p.catch(() => solverStates.delete(key));
  }
  return p;
}

export async function solveAttempt(rt: Runtime, i: SolveInput, progress?: Progress): Promise<SolveOutput> {
  await ensureRepo(rt.home, i.repo);
  const { artifact } = await getArtifact(rt.store, i.artifactHash);
  const labels = { campaign: i.campaignId, episode: i.episodeId };
  const attemptLabels = { ...labels, attempt: String(i.attempt) };
  const create = async () => {
    try {
      return await sandboxes(rt, i.cfg).create(await solverState(rt, i.repo, i.artifactHash, artifact, labels), undefined, attemptLabels);
    } catch (e) {
      // The snapshot went with an earlier episode of the same artifact (a pooled or replayed bug): build it again.
      if (!(e instanceof SnapshotGoneError)) throw e;
      solverStates.delete(stateKey(rt, i.repo, i.artifactHash));
      return sandboxes(rt, i.cfg).create(await solverState(rt, i.repo, i.artifactHash, artifact, labels), undefined, attemptLabels);
    }
  };
  if (i.cfg.policy?.kind === 'llm') return llmSolveAttempt(rt, i, artifact, create, progress);
  const policy = await policyRunner(rt, i.cfg, i.policyVersion, 'solver', `${i.seed}/solve/${i.attempt}`);
  // The checks ran the original before any attempt; where its run was kept, it bounds the runs of a state that hangs.
  const reference = await checkEnv(rt, i.repo, i.cfg).cachedOriginalRun!(artifact);
  const sb = await create();
  try {
    progress?.(`solver attempt ${i.attempt}`);
    const r = await solve({
      sandbox: sb, runnerHintDir: i.repo.path, task: taskStatement(reverseDiff(artifact.testWeaken)), policy,
      budget: i.cfg.solverTestRuns, testTimeoutMs: testTimeout(i.cfg),
      probeTimeout: {
        factor: i.cfg.solverProbeTimeout.factor, minMs: i.cfg.solverProbeTimeout.minSec * 1000,
        referenceFactor: i.cfg.solverProbeTimeout.referenceFactor, firstMinMs: i.cfg.solverProbeTimeout.firstMinSec * 1000,
        cpu: i.cfg.solverProbeTimeout.cpu, wallSlack: i.cfg.solverProbeTimeout.wallSlack,
      },
      ...(reference && reference.killed === null ? { referenceRunMs: reference.durationMs, ...(reference.cpuMs !== undefined ? { referenceRunCpuMs: reference.cpuMs } : {}) } : {}),
      hangLimit: hangLimitOf(i.repo, i.cfg),
      cache: i.cfg.solverRunCache ? { runs: solverRuns, scope: `${i.repo.key}/${i.artifactHash}` } : undefined,
      rerank: i.cfg.solverRerank,
    });
    let patch = r.patch;
    const seedKey = `${i.seed}/bad-patch/${i.attempt}`;
    const ep = episodeIndex(i.episodeId, i.cfg.rounds);
    const badKind: BadPatchKind | null = pickFaultKind('bad-patch', BAD_PATCH_KINDS, isBadPatchKind, ep === null ? null : ep * i.cfg.solves + i.attempt, seedKey);
    let fault: BadPatchKind | null = null;
    if (badKind && faultChance('bad-patch', { episodeId: i.episodeId, attempt: i.attempt, kind: badKind })) {
      patch = badPatch(r.patch, artifact, badKind).patch;
      fault = badKind;
    }
    const patchRef = await rt.store.putBlob(patch);
    const search = r.search ? { ...r.search, restores: await restoringOf(i.repo.path, artifact, r.repair) } : undefined;
    const trajectoryRef = await rt.store.putBlob(JSON.stringify({
      role: 'solver', episodeId: i.episodeId, attempt: i.attempt, policyVersion: i.policyVersion,
      decisions: search ? storedDecisions(policy.decisions, search.options) : policy.decisions, stop: r.stop, tried: r.tried, ...(search ? { search } : {}),
      ...(fault ? { fault: `bad-patch:${fault}` } : {}),
    }));
    return { patchRef, stop: r.stop, trajectoryRef, testRunMs: r.testRunMs, testRuns: r.testRuns, selfReportedPass: r.selfReportedPass };
  } finally {
    await sb.dispose();
  }
}

/**
 * For each line the artifact's bug changed, the search's options that restore it (src/trainer/expected.ts), from the
 * original files read from the repository's own checkout. Only the trainer reads them; none when they cannot be read.
 */
async function restoringOf(repoPath: string, a: Artifact, repair: SolveResult['repair']): Promise<number[][]> {
  if (!repair) return [];
  const original = new Map<string, string>();
  for (const f of touchedPaths(a.bugInject)) {
    if (escapesRepo(f)) return [];
    const text = await readFile(path.join(repoPath, f), 'utf8').catch(() => null);
    if (text === null) return [];
    original.set(f, text);
  }
  return restoringOptions(repair.edits, repair.texts, original);
}

/** An episode ended: its containers and snapshot images go (sandboxes that outlive dispose exist only in Docker). */
export async function releaseEpisode(rt: Runtime, episodeId: string): Promise<void> {
  await rt.provider.release({ episode: episodeId });
  for (const [hash, p] of solverStates) {
    const ref = await p.catch(() => null);
    if (!ref || ref.backend === 'docker') solverStates.delete(hash);
  }
}

/** Grades by repository, artifact, patch and limits, per worker process (used when the config's solverRunCache is on). */
const grades = new Map<string, Promise<GradeOutput>>();

/**
 * Grades an attempt's patch. Where the config reuses test results (deterministic suites), a patch graded before in
 * this process is not run again: the N attempts of a bug often end on one patch (the empty one, where none found an
 * edit, or the same fix), and a campaign's modes in the learning bench meet the same bugs. A reused grade spent no
 * test time and says so (`reused`); a run stopped by its time limit is never reused (it says more about the load).
 */
export async function gradeAttempt(rt: Runtime, i: GradeInput): Promise<GradeOutput> {
  if (!i.cfg.solverRunCache) return gradeFresh(rt, i);
  const key = JSON.stringify([i.repo.key, i.artifactHash, i.patchRef, i.cfg.testTimeoutSec, i.cfg.sandbox]);
  const known = grades.get(key);
  if (known) return { ...(await known), testRunMs: 0, reused: true };
  const p = gradeFresh(rt, i);
  if (grades.size >= 20_000) grades.delete(grades.keys().next().value!);
  grades.set(key, p);
  try {
    const g = await p;
    if (g.failure === 'timeout') grades.delete(key);
    return g;
  } catch (e) {
    grades.delete(key);
    throw e;
  }
}

async function gradeFresh(rt: Runtime, i: GradeInput): Promise<GradeOutput> {
  await ensureRepo(rt.home, i.repo);
  const { artifact } = await getArtifact(rt.store, i.artifactHash);
  const patch = await rt.store.getText(i.patchRef as BlobRef);
  const original = await originalResults(rt, i.repo, i.cfg, artifact);
  const g = await grade(sandboxes(rt, i.cfg), i.repo.path, artifact, patch, original, testTimeout(i.cfg));
  const logRef = g.run ? await rt.store.putBlob(g.run.log) : null;
  return { success: g.success, failure: g.failure, reason: g.reason, logRef, testRunMs: g.run?.durationMs ?? 0, rejectedEdits: g.rejectedEdits };
}

export async function buildHigherOrder(rt: Runtime, i: HigherOrderInput, progress?: Progress): Promise<HigherOrderOutput> {
  await ensureRepo(rt.home, i.repo);
  const { artifact, manifest } = await getArtifact(rt.store, i.artifactHash);
  const patch = await rt.store.getText(i.patchRef as BlobRef);
  const composed = await composeHigherOrder(sandboxes(rt, i.cfg), i.repo.path, artifact, patch);
  if (!composed) return { added: false, artifactHash: null, reason: 'the failed patch changes no code file' };
  if (i.cfg.higherOrder.recheck) {
    const report = await runChecks(composed, checkEnv(rt, i.repo, i.cfg, progress));
    if (!report.valid) return { added: false, artifactHash: null, reason: `composed bug fails check ${report.failed!.check}: ${report.failed!.reason}` };
  }
  const m = await putArtifact(rt.store, composed, {
    repo: i.repo.name, baseCommit: i.repo.commit, strategy: manifest.strategy, parent: manifest.hash, order: i.order, policyVersion: manifest.policyVersion, createdBy: 'higher-order',
  });
  await rt.store.putJson(`pool/${i.campaignId}/${m.hash}.json`, { artifactHash: m.hash, parent: manifest.hash, order: i.order, repo: i.repo.name, fromEpisode: i.episodeId });
  return { added: true, artifactHash: m.hash, reason: `order-${i.order} bug from a failed attempt` };
}
