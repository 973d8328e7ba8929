import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { roundWorkflow } from '../../workflows/round.js';
import { QUEUES } from '../../workflows/queues.js';
import { parseConfig } from '../../src/config/load.js';
import { describeRepo } from '../../src/repo/describe.js';
import { getEpisode } from '../../src/store/records.js';
import { getArtifact } from '../../src/artifact/artifact.js';
import { startTestEnv, type TestEnv } from '../helpers/temporal.js';
import { exampleRepos } from '../helpers/examples.js';

let env: TestEnv;
let workers: { stop(): Promise<void> };
before(async () => { env = await startTestEnv(); workers = await env.startWorkers(); });
after(async () => { await workers?.stop(); await env?.stop(); });

for (const ex of exampleRepos()) {
  test(`a round end to end on the ${ex.name} example, through the real Temporal server`, async () => {
    const cfg = parseConfig({ repos: [{ path: ex.path }], solves: 2, solverTestRuns: 6, injectorCandidates: 6, strategies: ['direct', 'removal'], seed: 7 });
    const repo = await describeRepo(ex.path, ex.name);
    const id = `t-round-${ex.name}/0/0`;
    const r = await env.client.workflow.execute(roundWorkflow, {
      workflowId: id, taskQueue: QUEUES.control,
      args: [{ campaignId: `t-round-${ex.name}`, step: 0, round: 0, repo, policyVersion: `t-round-${ex.name}@0`, cfg, pooled: null }],
    });
    const rec = await getEpisode(env.runtime.store, id);
    assert.ok(rec, 'the episode is recorded in the store');
    assert.equal(rec.outcome, r.outcome);
    assert.notEqual(r.outcome, 'infra-error', `round failed: ${rec.reason}`);
    assert.ok(!r.outcome.startsWith('inject-failed'), `injection failed: ${rec.reason}`);
    if (r.valid) {
      assert.equal(rec.attempts.length, 2);
      assert.ok(rec.checks.every((c) => c.ok), 'a valid artifact passed all seven checks');
      assert.ok(r.solveRate !== null && r.solveRate >= 0 && r.solveRate <= 1);
      assert.equal(r.batch.filter((b) => b.role === 'solver').length, 2);
      const { artifact } = await getArtifact(env.runtime.store, rec.artifactHash!);
      assert.ok(artifact.bugInject.includes('diff --git'));
      assert.ok(artifact.testFiles.length > 0);
    } else {
      assert.equal(r.injectorReward, -1);
      assert.ok(rec.checks.some((c) => !c.ok && c.ran), 'the failing check is recorded');
    }
    const desc = await env.client.workflow.getHandle(id).describe();
    assert.equal(desc.searchAttributes.SsrOutcome?.[0], r.outcome);
  });
}
