/**
 * Bad inputs inside a running campaign, on the real Temporal server with in-process workers: the `bad-artifact`
 * fault swaps each episode's artifact for a bad one (one kind per round, in turn) and the `bad-patch` fault each
 * solver attempt's patch. Every episode must end recorded with its typed outcome, and the campaign must finish.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { campaignWorkflow, initialState } from '../../workflows/campaign.js';
import { roundWorkflow } from '../../workflows/round.js';
import { QUEUES } from '../../workflows/queues.js';
import { parseConfig } from '../../src/config/load.js';
import { describeRepo } from '../../src/repo/describe.js';
import { detectRunners } from '../../src/repo/runners/index.js';
import { makeDiff } from '../../src/repo/diffgen.js';
import { getArtifact, putArtifact } from '../../src/artifact/artifact.js';
import { listEpisodes, getEpisode } from '../../src/store/records.js';
import { BAD_ARTIFACT_KINDS, BAD_PATCH_KINDS, badArtifact, badPatch } from '../../src/badInputs.js';
import { startTestEnv, type TestEnv } from '../helpers/temporal.js';
import { exampleRepos } from '../helpers/examples.js';

let env: TestEnv;
let workers: { stop(): Promise<void> };
const saved = process.env.SSR_FAULTS;

before(async () => {
  // Read at every fault point, so the in-process workers see it; a small file cap keeps the disk filler cheap.
  process.env.SSR_FAULTS = 'bad-artifact=1,bad-artifact-kind=cycle,bad-patch=1,bad-patch-kind=cycle';
  env = await startTestEnv({ limits: { maxFileBytes: 32 * 1024 * 1024 } });
  process.env.SSR_HOME = env.home;
  workers = await env.startWorkers();
});
after(async () => {
  await workers?.stop();
  await env?.stop();
  if (saved === undefined) delete process.env.SSR_FAULTS; else process.env.SSR_FAULTS = saved;
});

const tallybook = () => exampleRepos().find((r) => r.name === 'tallybook')!.path;

test('a campaign whose every artifact is bad records each episode with its typed rejection and finishes', async () => {
  const id = 't-bad-artifacts';
  const rounds = BAD_ARTIFACT_KINDS.length;
  const cfg = parseConfig({
    repos: [{ path: tallybook() }], steps: 1, rounds, solves: 1, solverTestRuns: 2, injectorCandidates: 6,
    strategies: ['direct', 'removal'], seed: 7, testTimeoutSec: 10, higherOrder: { enabled: false },
  });
  const h = await env.client.workflow.start(campaignWorkflow, { workflowId: id, taskQueue: QUEUES.control, args: [initialState(id, cfg)] });
  const final = await h.result();
  assert.equal(final.done, true);
  assert.equal(final.step, 1, 'the campaign finished its step, gradient included');

  const eps = await listEpisodes(env.runtime.store, id);
  assert.equal(eps.length, rounds, 'every round is recorded');
  const fired = readFileSync(path.join(env.home, 'faults', 'fired.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { fault: string; episodeId?: string; kind?: string });
  for (const e of eps) {
    // The fault cycles kinds by round, so round r of step 0 met kind r.
    const kind = BAD_ARTIFACT_KINDS[e.round]!;
    assert.ok(e.artifactHash, `${e.id}: ${e.outcome} ${e.reason}`);
    const { artifact, manifest } = await getArtifact(env.runtime.store, e.artifactHash);
    assert.equal(manifest.createdBy, `fault:${kind}`, 'a bad artifact is never taken for the policy\'s work');
    // The bad artifact is derived from a good one; its expected outcome does not depend on which.
    const expect = badArtifact(artifact, kind).expect;
    assert.equal(e.outcome, `invalid:${expect.check}:${expect.code}`, `${e.id} (${kind}): ${e.reason}`);
    assert.equal(e.injectorReward, -1);
    assert.equal(e.attempts.length, 0, 'an invalid artifact never reaches a solver');
    assert.ok(fired.some((f) => f.fault === 'bad-artifact' && f.episodeId === e.id && f.kind === kind), `fault of ${e.id} noted`);
  }
  assert.deepEqual(eps.map((e) => e.round).sort((a, b) => a - b), [...Array(rounds).keys()]);
});

test('solver patches that edit or delete test files, or are malformed or binary, are recorded as typed rejections', async () => {
  const repoDir = tallybook();
  const cur = readFileSync(path.join(repoDir, 'tallybook/currency.py'), 'utf8');
  const tests = readFileSync(path.join(repoDir, 'tests/test_currency.py'), 'utf8');
  const runner = (await detectRunners(repoDir))[0]!;
  const good = {
    bugInject: await makeDiff([{ path: 'tallybook/currency.py', before: cur, after: cur.replace('scaleb(-self.minor_units)', 'scaleb(self.minor_units)') }]),
    testWeaken: await makeDiff([{ path: 'tests/test_currency.py', before: tests, after: tests.replace('        self.assertEqual(get_currency("BHD").quantum, Decimal("0.001"))\n', '') }]),
    testScript: runner.script(['tests/test_currency.py']),
    testParser: runner.parser(),
    testFiles: ['tests/test_currency.py'],
  };
  // A known-good bug handed to the round as a pooled one: no injection, straight to the solver attempts.
  const m = await putArtifact(env.runtime.store, good, { repo: 'tallybook', baseCommit: null, strategy: 'direct', parent: null, order: 1, policyVersion: null, createdBy: 'test' });
  const cfg = parseConfig({ repos: [{ path: repoDir }], solves: BAD_PATCH_KINDS.length, solverTestRuns: 2, seed: 7, higherOrder: { enabled: false } });
  const repo = await describeRepo(repoDir, 'tallybook');
  const id = 't-bad-patches/0/0';
  const r = await env.client.workflow.execute(roundWorkflow, {
    workflowId: id, taskQueue: QUEUES.control,
    args: [{ campaignId: 't-bad-patches', step: 0, round: 0, repo, policyVersion: 't-bad-patches@0', cfg, pooled: { artifactHash: m.hash, order: 1, parent: null } }],
  });
  const rec = await getEpisode(env.runtime.store, id);
  assert.ok(rec);
  assert.equal(rec.outcome, r.outcome);
  assert.notEqual(r.outcome, 'infra-error', rec.reason);
  assert.equal(rec.attempts.length, BAD_PATCH_KINDS.length);
  for (const a of rec.attempts) {
    // Episode index 0: attempt a met kind a.
    const kind = BAD_PATCH_KINDS[a.attempt]!;
    const expect = badPatch('', good, kind).expect;
    if (expect.failure) {
      assert.equal(a.failure, expect.failure, `attempt ${a.attempt} (${kind}): ${a.reason}`);
      assert.equal(a.success, false);
    }
    if (expect.rejectedEdits) assert.deepEqual(a.rejectedEdits, { code: expect.rejectedEdits, files: ['tests/test_currency.py'] }, `attempt ${a.attempt} (${kind})`);
    else assert.equal(a.rejectedEdits, null);
  }
});
