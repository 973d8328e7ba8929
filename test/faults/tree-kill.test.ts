/**
 * The whole tree SIGKILLed at once mid-campaign: the `ssr campaign start` process (its workers in-process) and the
 * dev server. `ssr campaign resume` alone must bring the server back from its database file and finish the campaign,
 * rolling out with the policy version its last finished step produced.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { portOpen } from '../../src/temporal/server.js';
import { listEpisodes } from '../../src/store/records.js';
import { loadOnnxWeights } from '../../src/policy/onnx/store.js';
import type { BlobRef } from '../../src/store/store.js';
import { killServer, serverPidOf, startTestEnv, type TestEnv } from '../helpers/temporal.js';
import { activityRunning, assertCampaignIntact, exited, killHard, ssr, tinyConfig, tinyConfigYaml, waitFor, type Child } from '../helpers/faults.js';

let env: TestEnv;
const children: Child[] = [];
before(async () => { env = await startTestEnv(); });
after(async () => {
  for (const c of children) await killHard(c);
  await env?.stop();
});

test('campaign process and dev server SIGKILLed together: `ssr campaign resume` restarts the server and finishes intact', async () => {
  const id = 't-tree-kill';
  const file = path.join(env.home, 'tree-kill.yaml');
  writeFileSync(file, tinyConfigYaml(tinyConfig({ steps: 2 })));
  const first = ssr(['campaign', 'start', '--config', file, '--id', id], env.env);
  children.push(first);

  // Mid-campaign: step 0 is trained and recorded, step 1's round is running.
  await waitFor(`an activity of ${id}/1/0 running (start: ${first.out.slice(-1000)})`, () => activityRunning(env.client, `${id}/1/0`));
  const oldServer = serverPidOf(env.home, env.port);
  await Promise.all([killHard(first), killServer(env.home, env.port)]);
  assert.equal(await portOpen(env.port), false, 'nothing listens at the address any more');

  const second = ssr(['campaign', 'resume', id], env.env);
  children.push(second);
  const code = await exited(second);
  assert.equal(code, 0, second.out.slice(-3000));
  assert.match(second.out, /restarted the dev server from its database/);
  assert.match(second.out, /campaign finished at step 2/);
  assert.notEqual(serverPidOf(env.home, env.port), oldServer, 'resume started a new server process');

  await assertCampaignIntact(env.client, env.runtime.store, id, 2, 1);

  // The resumed process had no policy in memory: its step-1 rollouts loaded the version step 0 produced, from its
  // ONNX file, and step 1 trained from it.
  const store = env.runtime.store;
  const episodes = await listEpisodes(store, id);
  assert.deepEqual(episodes.map((e) => [e.id, e.policyVersion]).sort(), [[`${id}/0/0`, `${id}@0`], [`${id}/1/0`, `${id}@1`]]);
  const resumed = episodes.find((e) => e.id === `${id}/1/0`)!;
  for (const a of resumed.attempts) {
    const traj = JSON.parse(await store.getText(a.trajectoryRef as BlobRef)) as { policyVersion: string; decisions: unknown[] };
    assert.equal(traj.policyVersion, `${id}@1`);
  }
  assert.equal((await store.getJson<{ fromVersion: string }>(`train/${id}/1.json`))!.fromVersion, `${id}@1`);
  assert.equal((await loadOnnxWeights(store, `${id}@1`)).version, `${id}@1`);
  assert.equal((await loadOnnxWeights(store, `${id}@2`)).version, `${id}@2`);
});
