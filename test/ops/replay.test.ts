/**
 * `ssr replay` against a real dev server and a real campaign: re-grading a finished episode reproduces its outcome;
 * re-checking reproduces every check; a later policy version solves again; replays never touch the campaign's
 * records; old records without their config are replayed from the round's history; bad requests say why.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { parseConfig } from '../../src/config/load.js';
import { startCampaign } from '../../src/cli/campaign.js';
import { prepareReplay, startReplay, ReplayError } from '../../src/cli/replay.js';
import { getEpisode, listEpisodes, listReplays, putEpisode } from '../../src/store/records.js';
import { PROJECT_ROOT } from '../../src/temporal/config.js';
import type { EpisodeRecord, StageSummary } from '../../src/episode/types.js';
import { compareReplay } from '../../src/episode/replay.js';
import { startTestEnv, type TestEnv } from '../helpers/temporal.js';
import { exampleRepos } from '../helpers/examples.js';

const CAMPAIGN = 't-replay';
let env: TestEnv;
let workers: { stop(): Promise<void> };
let episodes: EpisodeRecord[] = [];

const run = promisify(execFile);
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: PROJECT_ROOT, env: env.env, maxBuffer: 64 << 20 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof x.code === 'number' ? x.code : -1, stdout: x.stdout ?? '', stderr: x.stderr ?? '' };
  }
}

const replay = async (id: string, from: 'check' | 'solve' | 'grade', version?: string) =>
  (await startReplay(env.client, await prepareReplay(env.client, env.runtime.store, id, from, version))).result();

before(async () => {
  env = await startTestEnv();
  workers = await env.startWorkers();
  const repo = exampleRepos().find((r) => r.name !== 'exprel')!;
  const cfg = parseConfig({
    repos: [{ path: repo.path }], steps: 1, rounds: 2, solves: 2, solverTestRuns: 4, injectorCandidates: 4,
    strategies: ['direct'], higherOrder: { enabled: false },
  });
  await (await startCampaign(env.client, CAMPAIGN, cfg)).result();
  episodes = await listEpisodes(env.runtime.store, CAMPAIGN);
});

after(async () => {
  await workers?.stop();
  await env?.stop();
});

const solvedEpisode = () => {
  const e = episodes.find((x) => x.attempts.length > 0);
  assert.ok(e, `a campaign episode reached the solver: ${episodes.map((x) => `${x.id} ${x.outcome} ${x.reason}`).join('; ')}`);
  return e;
};

test('episode records carry what a replay needs: the seed, the repository and the config by reference', () => {
  for (const e of episodes) {
    assert.ok(e.seed && e.repoInfo && e.configRef, `${e.id} has seed, repoInfo and configRef`);
    assert.equal(e.repoInfo.name, e.repo);
  }
});

test('a patch that changes no code, graded before the grader stopped running it, replays as the same verdict', () => {
  const summary = (failure: string, patchRef: string): StageSummary => ({
    outcome: 'solved-none', policyVersion: 'c@0', checks: [], solveRate: 0, checkReportRef: null, error: null,
    attempts: [{ attempt: 0, success: false, failure, reason: '', stop: 'budget-exhausted', patchRef, gradeLogRef: null }],
  });
  assert.deepEqual(compareReplay('grade', summary('tests-fail', 'sha256:e'), summary('no-change', 'sha256:e')), []);
  assert.deepEqual(compareReplay('grade', summary('timeout', 'sha256:e'), summary('no-change', 'sha256:e')), []);
  // Another patch, or another failure of a patch that changes code, is still a difference.
  assert.deepEqual(compareReplay('solve', summary('tests-fail', 'sha256:p'), summary('no-change', 'sha256:e')), ['attempt 0: recorded tests-fail, replayed no-change']);
  assert.deepEqual(compareReplay('grade', summary('tests-fail', 'sha256:p'), summary('timeout', 'sha256:p')), ['attempt 0: recorded tests-fail, replayed timeout']);
});

test('--from grade: the recorded patches graded again reproduce every attempt and the outcome', async () => {
  const e = solvedEpisode();
  const r = await replay(e.id, 'grade');
  assert.equal(r.from, 'grade');
  assert.ok(r.replayId.startsWith(`replay:${e.id}:`));
  assert.deepEqual(r.differences, [], `replay of ${e.id}: ${JSON.stringify(r.replayed)}`);
  assert.equal(r.same, true);
  assert.equal(r.replayed.outcome, e.outcome);
  assert.deepEqual(r.replayed.attempts.map((a) => [a.success, a.failure, a.patchRef]), e.attempts.map((a) => [a.success, a.failure, a.patchRef]));
  // The report is stored beside the episode, and the episode's own record is untouched.
  const stored = await listReplays(env.runtime.store, e.id);
  assert.ok(stored.some((x) => x.replayId === r.replayId));
  assert.deepEqual(await getEpisode(env.runtime.store, e.id), e);
});

test('--from check: every consistency check of the stored artifact reproduces its recorded verdict', async () => {
  // One episode is enough: every check runs, and the checks are what this stage replays.
  for (const e of episodes.filter((x) => x.artifactHash && x.checks.length).slice(0, 1)) {
    const r = await replay(e.id, 'check');
    assert.equal(r.replayed.checks.length, e.checks.length);
    assert.deepEqual(r.replayed.checks.map((c) => [c.check, c.ok, c.code ?? null]), e.checks.map((c) => [c.check, c.ok, c.code ?? null]), `checks of ${e.id}`);
    assert.deepEqual(r.differences.filter((d) => d.startsWith('check ')), []);
    if (!e.outcome.startsWith('solved-')) assert.equal(r.replayed.outcome, e.outcome);
  }
});

test('--from solve with --policy-version: new attempts by the named policy, graded; the campaign records unchanged', async () => {
  const e = solvedEpisode();
  const later = `${CAMPAIGN}@1`;
  const r = await replay(e.id, 'solve', later);
  assert.equal(r.replayed.policyVersion, later);
  assert.equal(r.recorded.policyVersion, e.policyVersion);
  assert.equal(r.replayed.attempts.length, e.attempts.length);
  assert.match(String(r.replayed.outcome), /^solved-(none|some|all)$/);
  for (const a of r.replayed.attempts) assert.ok(a.stop, 'a new attempt says why it stopped');
  assert.deepEqual((await listEpisodes(env.runtime.store, CAMPAIGN)).map((x) => x.id), episodes.map((x) => x.id), 'no episode added');
});

test('a record from before records carried their config is replayed with the config from the round\'s history', async () => {
  const e = solvedEpisode();
  const old: EpisodeRecord = { ...e };
  delete old.configRef; delete old.repoInfo; delete old.seed;
  await putEpisode(env.runtime.store, old);
  try {
    const input = await prepareReplay(env.client, env.runtime.store, e.id, 'grade');
    assert.equal(input.repo.key, e.repoInfo!.key);
    assert.equal(input.cfg.solves, 2);
    assert.equal(input.seed, e.seed, 'the same seed formula as the round');
  } finally {
    await putEpisode(env.runtime.store, e);
  }
});

test('bad requests are refused with a reason: unknown episode, unknown policy version, nothing to grade', async () => {
  await assert.rejects(prepareReplay(env.client, env.runtime.store, `${CAMPAIGN}/9/9`, 'check'), (x: Error) => x instanceof ReplayError && /no episode record/.test(x.message));
  const e = solvedEpisode();
  await assert.rejects(prepareReplay(env.client, env.runtime.store, e.id, 'solve', `${CAMPAIGN}@77`), (x: Error) => x instanceof ReplayError && /policy version .*@77 not found/.test(x.message));
  const noAttempts: EpisodeRecord = { ...e, id: `${CAMPAIGN}/0/99`, attempts: [], outcome: 'invalid:weakening:weakening-hides-nothing' };
  await putEpisode(env.runtime.store, noAttempts);
  await assert.rejects(prepareReplay(env.client, env.runtime.store, noAttempts.id, 'grade'), /no solver attempts to grade again/);
  const noArtifact: EpisodeRecord = { ...e, id: `${CAMPAIGN}/0/98`, artifactHash: null, outcome: 'inject-failed:no-bug-found' };
  await putEpisode(env.runtime.store, noArtifact);
  await assert.rejects(prepareReplay(env.client, env.runtime.store, noArtifact.id, 'check'), /has no artifact/);
});

test('`ssr replay` prints recorded and replayed side by side and where the report is', async () => {
  const e = solvedEpisode();
  const r = await cli(['replay', e.id, '--from', 'grade']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /recorded\s+replayed/);
  assert.match(r.stdout, new RegExp(`outcome\\s+${e.outcome}\\s+${e.outcome}`));
  assert.match(r.stdout, /reproduced: the replay matches the record/);
  const reportPath = /report: (\S+)/.exec(r.stdout)![1];
  assert.equal(JSON.parse(readFileSync(reportPath, 'utf8')).episodeId, e.id);
  const bad = await cli(['replay', `${CAMPAIGN}/5/5`]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /ReplayError: no episode record/);
  const stage = await cli(['replay', e.id, '--from', 'inject']);
  assert.notEqual(stage.code, 0);
  assert.match(stage.stderr, /check, solve, grade/);
});
