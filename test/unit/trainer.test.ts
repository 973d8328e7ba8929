import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Store } from '../../src/store/store.js';
import { trainStep } from '../../src/trainer/step.js';
import { loadPolicy } from '../../src/policy/versions.js';

test('the gradient step is idempotent per (campaign, step): a retry returns the same version and trains nothing', async () => {
  const store = new Store(mkdtempSync(path.join(tmpdir(), 'ssr-train-')));
  const traj = (chosen: number) => store.putBlob(JSON.stringify({ decisions: [{ group: 'solve.repair', options: [{ key: 'a' }, { key: 'b' }], chosen }] }));
  const batch = [
    { trajectoryRef: await traj(0), role: 'solver' as const, reward: 1, group: 'g' },
    { trajectoryRef: await traj(1), role: 'solver' as const, reward: -1, group: 'g' },
  ];
  const first = await trainStep(store, { campaignId: 'c', step: 0, fromVersion: 'c@0', batch, learningRate: 1 });
  assert.equal(first.version, 'c@1');
  assert.equal(first.alreadyTrained, false);
  const p1 = await loadPolicy(store, 'c@1');
  assert.ok(p1.logits['solve.repair'].a > 0 && p1.logits['solve.repair'].b < 0);
  const again = await trainStep(store, { campaignId: 'c', step: 0, fromVersion: 'c@0', batch: [...batch, ...batch], learningRate: 5 });
  assert.equal(again.alreadyTrained, true);
  assert.deepEqual(await loadPolicy(store, 'c@1'), p1);
  await assert.rejects(loadPolicy(store, 'c@7'), /not found/);
});
