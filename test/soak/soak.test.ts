/**
 * The short soak CI runs (the 200-episode one is `npm run soak -- --episodes 200`): a campaign whose workers and
 * server are SIGKILLed at random points while bad inputs and failing store writes are injected must finish with
 * every episode recorded exactly once and no step trained twice.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatSoak, runSoak, CRASH_FAULTS } from '../../src/cli/soak.js';

test('a short soak: faults of every kind at random points, every episode accounted for, no step trained twice', async () => {
  const lines: string[] = [];
  const r = await runSoak({ episodes: 12, rounds: 4, faultEverySec: 20, badArtifactRate: 0.3, badPatchRate: 0.2, storeFailRate: 0.02, log: (l) => lines.push(l) });
  const report = formatSoak(r).join('\n');
  process.stderr.write(report + '\n');
  assert.ok(r.finished, `the campaign finished\n${report}\n${lines.slice(-20).join('\n')}`);
  assert.deepEqual(r.episodesLost, [], report);
  assert.equal(r.episodesRecorded, 12);
  assert.equal(r.stepsRecorded, 3, 'each step recorded once');
  assert.deepEqual(r.stepsTrainedTwice, [], report);
  const crashes = CRASH_FAULTS.reduce((n, k) => n + (r.injected[k] ?? 0), 0);
  assert.ok(crashes > 0, `some crash faults were injected\n${report}`);
  for (const [k, n] of Object.entries(r.injected)) assert.equal(r.survived[k] ?? 0, n, `every ${k} survived\n${report}`);
});
