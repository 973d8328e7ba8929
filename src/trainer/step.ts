import type { Store, BlobRef } from '../store/store.js';
import type { Decision } from '../policy/policy.js';
import { hasPolicy, loadPolicy, savePolicy, versionName } from '../policy/versions.js';
import { policyGradientStep, type ScoredTrajectory } from './gradient.js';
import type { GradientInput, GradientOutput } from '../episode/types.js';
import { faultPause } from '../faults.js';
import { randomUUID } from 'node:crypto';

/**
 * The gradient step of (campaign, step): both roles' trajectories of the step update the one policy. Idempotent:
 * when the next version already exists (a retried or replayed step) it is returned and nothing trains twice.
 */
export async function trainStep(store: Store, i: GradientInput): Promise<GradientOutput> {
  const next = versionName(i.campaignId, i.step + 1);
  const statsKey = `train/${i.campaignId}/${i.step}.json`;
  if (await hasPolicy(store, next)) {
    const s = await store.getJson<GradientOutput>(statsKey);
    return { ...(s ?? { version: next, trajectories: 0, decisions: 0, gradNorm: 0 }), version: next, alreadyTrained: true };
  }
  const params = await loadPolicy(store, i.fromVersion);
  const batch: ScoredTrajectory[] = [];
  for (const t of i.batch) {
    const traj = JSON.parse(await store.getText(t.trajectoryRef as BlobRef)) as { decisions: Decision[] };
    batch.push({ role: t.role, reward: t.reward, group: t.group, decisions: traj.decisions });
  }
  const { params: updated, stats } = policyGradientStep(params, batch, i.learningRate, next);
  const out: GradientOutput = { version: next, alreadyTrained: false, trajectories: stats.trajectories, decisions: stats.decisions, gradNorm: stats.gradNorm };
  await store.putJson(statsKey, { ...out, fromVersion: i.fromVersion, meanAdvantageAbs: stats.meanAdvantageAbs });
  await faultPause('pause-gradient-before-save', { campaign: i.campaignId, step: i.step });
  // The policy file is written last: its presence is what marks the step as trained.
  await savePolicy(store, updated);
  // One ledger entry per policy actually written: more than one for a step would be a step trained twice.
  const entry: LedgerEntry = { step: i.step, version: next, pid: process.pid, at: new Date().toISOString() };
  await store.putJson(`train/${i.campaignId}/ledger/${i.step}-${randomUUID()}.json`, entry);
  await faultPause('pause-gradient-after-save', { campaign: i.campaignId, step: i.step });
  return out;
}

export interface LedgerEntry { step: number; version: string; pid: number; at: string }

/**
 * How many policies were actually written per step of a campaign, from the ledger: `{ <step>: count }`. Any count
 * above 1 is a step that trained twice (the fault tests and the soak assert on it).
 */
export async function trainLedger(store: Store, campaignId: string): Promise<Record<number, number>> {
  const counts: Record<number, number> = {};
  for (const f of await store.list(`train/${campaignId}/ledger`)) {
    if (!f.endsWith('.json')) continue;
    const e = await store.getJson<LedgerEntry>(`train/${campaignId}/ledger/${f}`);
    if (e) counts[e.step] = (counts[e.step] ?? 0) + 1;
  }
  return counts;
}
