/** Shared by the fault tests (test/faults/): processes to kill, points to wait for, and what "survived" means. */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { defaultPayloadConverter } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import { parseConfig } from '../../src/config/load.js';
import type { CampaignConfig, CampaignConfigInput } from '../../src/config/schema.js';
import { listEpisodes, listStepMetrics } from '../../src/store/records.js';
import { PROJECT_ROOT } from '../../src/temporal/config.js';
import { loadOnnxWeights } from '../../src/policy/onnx/store.js';
import { trainLedger } from '../../src/trainer/step.js';
import { versionName } from '../../src/policy/versions.js';
import type { Store } from '../../src/store/store.js';
import { exampleRepos } from './examples.js';

export type Child = ChildProcess & { out: string };

/** `node --import tsx src/cli/main.ts ...args` with `env`; its output is kept (for failure messages) and drained. */
export function ssr(args: string[], env: NodeJS.ProcessEnv): Child {
  const c = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] }) as Child;
  c.out = '';
  const keep = (d: Buffer) => { c.out = (c.out + d.toString()).slice(-20_000); };
  c.stdout!.on('data', keep);
  c.stderr!.on('data', keep);
  return c;
}

export const exited = (c: ChildProcess): Promise<number | null> =>
  c.exitCode !== null || c.signalCode !== null ? Promise.resolve(c.exitCode) : new Promise((r) => c.once('exit', (code) => r(code)));

export async function killHard(c: ChildProcess): Promise<void> {
  if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await exited(c);
}
/** Generous: it waits for whole rounds of real tests on a shared 2-core machine; only a broken run ever reaches it. */

export async function waitFor<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 900_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let v: T | null | undefined | false = null;
    try { v = await probe(); } catch { /* not there yet: the workflow has not started, the server is restarting */ }
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export const waitForFile = (file: string, timeoutMs?: number) => waitFor(`file ${file}`, async () => existsSync(file), timeoutMs);

/** True once an activity of `workflowId` has been picked up by a worker (not merely scheduled). */
export async function activityRunning(client: Client, workflowId: string): Promise<boolean> {
  const d = await client.workflow.getHandle(workflowId).describe();
  return (d.raw.pendingActivities ?? []).some((a) => String(a.state).includes('STARTED') || a.state === 2);
}

/** The tiny campaign every fault test runs: one repository, one round per step, two solver attempts. */
export function tinyConfig(extra: Partial<CampaignConfigInput> = {}): CampaignConfig {
  const repo = exampleRepos().find((r) => r.name !== 'exprel') ?? exampleRepos()[0];
  return parseConfig({
    repos: [{ path: repo.path }], steps: 2, rounds: 1, maxParallelRounds: 1, solves: 2, solverTestRuns: 2, injectorCandidates: 4,
    strategies: ['direct'], higherOrder: { enabled: false }, heartbeatTimeoutSec: 8, gpuHeartbeatTimeoutSec: 8, ...extra,
  });
}

/** The same config as YAML, for `ssr campaign start --config`. */
export function tinyConfigYaml(cfg: CampaignConfig): string {
  return JSON.stringify(cfg, null, 2); // JSON is YAML
}

export interface ActivityRun { type: string; input: unknown; result: unknown; attempt: number; identity: string }

/** Every activity of a workflow run that completed, with its input, result, the attempt that completed and its worker. */
export async function completedActivities(client: Client, workflowId: string): Promise<ActivityRun[]> {
  const h = await client.workflow.getHandle(workflowId).fetchHistory();
  const scheduled = new Map<string, { type: string; input: unknown }>();
  const started = new Map<string, { attempt: number; identity: string }>();
  const out: ActivityRun[] = [];
  for (const e of h.events ?? []) {
    const id = String(e.eventId);
    const s = e.activityTaskScheduledEventAttributes;
    if (s) scheduled.set(id, { type: s.activityType?.name ?? '?', input: defaultPayloadConverter.fromPayload(s.input!.payloads![0] as never) });
    const st = e.activityTaskStartedEventAttributes;
    if (st) started.set(String(st.scheduledEventId), { attempt: st.attempt ?? 1, identity: st.identity ?? '' });
    const c = e.activityTaskCompletedEventAttributes;
    if (c) {
      const key = String(c.scheduledEventId);
      const sch = scheduled.get(key)!;
      const result = c.result?.payloads?.length ? defaultPayloadConverter.fromPayload(c.result.payloads[0] as never) : undefined;
      out.push({ ...sch, result, ...(started.get(key) ?? { attempt: 1, identity: '' }) });
    }
  }
  return out;
}

/**
 * What surviving a fault means for a finished campaign of `steps` steps x `rounds` rounds: it ended at the last step
 * with the policy `<id>@<steps>`; each step trained exactly once (one ledger entry, one completed gradientStep),
 * its policy versions chain `<id>@0 -> <id>@1 -> ...`, its metrics are recorded once; every episode is recorded
 * exactly once (one record, one completed recordEpisode in its round's history).
 */
export async function assertCampaignIntact(client: Client, store: Store, id: string, steps: number, rounds: number, opts: { infraErrorFrom?: RegExp } = {}): Promise<void> {
  const final = await client.workflow.getHandle(id).result();
  assert.equal(final.step, steps, 'the campaign ran every step');
  assert.equal(final.policyVersion, versionName(id, steps), 'the final policy version');
  assert.equal(final.roundsFailed, 0, 'no round workflow failed');

  const ledger = await trainLedger(store, id);
  assert.deepEqual(ledger, Object.fromEntries(Array.from({ length: steps }, (_, k) => [k, 1])), 'one policy written per step (ledger)');
  for (let k = 1; k <= steps; k++) {
    const p = await loadOnnxWeights(store, versionName(id, k));
    assert.equal(p.version, versionName(id, k), `policy file of step ${k}`);
  }

  const metrics = await listStepMetrics(store, id);
  assert.deepEqual(metrics.map((m) => [m.step, m.policyVersion, m.nextVersion]),
    Array.from({ length: steps }, (_, k) => [k, versionName(id, k), versionName(id, k + 1)]), 'metrics once per step, versions chained');
  const acts = await completedActivities(client, id);
  const perStep = (type: string, stepOf: (input: unknown) => number) =>
    acts.filter((a) => a.type === type).map((a) => stepOf(a.input)).sort((a, b) => a - b);
  const each = Array.from({ length: steps }, (_, k) => k);
  assert.deepEqual(perStep('gradientStep', (i) => (i as { step: number }).step), each, 'one completed gradientStep per step');
  assert.deepEqual(perStep('recordStep', (i) => (i as { metrics: { step: number } }).metrics.step), each, 'one completed recordStep per step');

  const eps = await listEpisodes(store, id);
  const want = each.flatMap((k) => Array.from({ length: rounds }, (_, r) => `${id}/${k}/${r}`));
  assert.deepEqual(eps.map((e) => e.id), want, 'one episode record per round');
  for (const e of eps) {
    // An episode whose activity outlived its retries is recorded as infra-error: allowed only for the injected cause.
    if (e.outcome === 'infra-error') assert.ok(opts.infraErrorFrom?.test(e.reason), `${e.id} is infra-error: ${e.reason}`);
    const recorded = (await completedActivities(client, e.id)).filter((a) => a.type === 'recordEpisode');
    assert.equal(recorded.length, 1, `${e.id}: recordEpisode completed once`);
  }
}
