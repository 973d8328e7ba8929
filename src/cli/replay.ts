/**
 * `ssr replay <episode> [--from check|solve|grade] [--policy-version v]`: re-runs a recorded episode from its stored
 * artifact in a new workflow, then prints the recorded and the replayed outcome side by side.
 */
import { Command, Option } from 'commander';
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { Runtime } from '../runtime.js';
import type { Store, BlobRef } from '../store/store.js';
import { getEpisode, replayKey } from '../store/records.js';
import { loadOnnxWeights } from '../policy/onnx/store.js';
import { parseVersion } from '../policy/versions.js';
import { episodeSeed } from '../episode/seed.js';
import { readLlmPolicy } from '../trainer/external.js';
import { REPLAY_STAGES, type CampaignConfig, type EpisodeRecord, type ReplayInput, type ReplayReport, type ReplayStage, type RepoInfo, type RoundInput, type StageSummary } from '../episode/types.js';
import { replayWorkflow } from '../../workflows/replay.js';
import { QUEUES } from '../../workflows/queues.js';
import { SA } from '../../workflows/searchAttributes.js';
import { UsageError } from './episodes.js';

export class ReplayError extends Error {
  constructor(message: string, options?: { cause?: unknown }) { super(message, options); this.name = 'ReplayError'; }
}

/** The round's config, repository and seed: from the record (since they are stored with it), else from its history. */
async function roundContext(client: Client, store: Store, rec: EpisodeRecord): Promise<{ cfg: CampaignConfig; repo: RepoInfo; seed: string | null }> {
  if (rec.configRef && rec.repoInfo) {
    const cfg = JSON.parse(await store.getText(rec.configRef as BlobRef)) as CampaignConfig;
    return { cfg, repo: rec.repoInfo, seed: rec.seed ?? null };
  }
  try {
    const h = await client.workflow.getHandle(rec.id).fetchHistory();
    const payload = h.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
    if (payload) {
      const input = defaultPayloadConverter.fromPayload<RoundInput>(payload);
      return { cfg: input.cfg, repo: input.repo, seed: null };
    }
  } catch { /* history gone (retention) or no server: said below */ }
  throw new ReplayError(`episode ${rec.id} was recorded before records carried their config, and its round workflow's history is no longer on the server: nothing to replay it with`);
}

export async function prepareReplay(client: Client, store: Store, id: string, from: ReplayStage, version?: string): Promise<ReplayInput> {
  if (!REPLAY_STAGES.includes(from)) throw new UsageError(`--from must be one of ${REPLAY_STAGES.join(', ')}, not '${from}'`);
  const rec = await getEpisode(store, id);
  if (!rec) throw new ReplayError(`no episode record ${id} (looked at ${store.p('episodes', `${id}.json`)}); \`npx ssr episodes list\` shows the recorded ones`);
  if (!rec.artifactHash) throw new ReplayError(`episode ${id} has no artifact (${rec.outcome}: ${rec.reason}): there is nothing stored to replay`);
  if (from === 'grade' && rec.attempts.length === 0) {
    throw new ReplayError(`episode ${id} has no solver attempts to grade again (${rec.outcome}); replay it --from check or --from solve`);
  }
  const policyVersion = version ?? rec.policyVersion;
  const ctx = await roundContext(client, store, rec);
  if (from === 'solve' || from === 'check') await checkPolicy(store, ctx.cfg, policyVersion);
  // The same seed as the round when the policy is the same, so a deterministic solver retraces its steps.
  const seed = ctx.seed && policyVersion === rec.policyVersion ? ctx.seed : episodeSeed(ctx.cfg.seed, rec.campaignId, rec.id, policyVersion);
  return { episodeId: rec.id, from, policyVersion, seed, repo: ctx.repo, cfg: ctx.cfg, artifactHash: rec.artifactHash, recorded: rec };
}

/** The version must exist before a replay is started on it: a typo is a refusal, not an episode of retries. */
async function checkPolicy(store: Store, cfg: CampaignConfig, version: string): Promise<void> {
  try {
    const { campaign, step } = parseVersion(version);
    if (cfg.policy?.kind === 'llm') await readLlmPolicy(store, campaign, step, cfg.policy.llm.model);
    else await loadOnnxWeights(store, version);
  } catch (e) {
    throw new ReplayError(`policy version ${version} not found or unusable: ${(e as Error).message}`, { cause: e });
  }
}

export async function startReplay(client: Client, input: ReplayInput) {
  const replayId = `replay:${input.episodeId}:${new Date().toISOString().replace(/[-:.]/g, '')}`;
  return client.workflow.start(replayWorkflow, {
    workflowId: replayId, taskQueue: QUEUES.control, args: [input],
    typedSearchAttributes: [{ key: SA.campaign, value: input.recorded.campaignId }, { key: SA.kind, value: 'replay' }],
    workflowExecutionTimeout: '6 hours',
  });
}

export function formatReplay(r: ReplayReport, reportPath?: string): string[] {
  const W = 38;
  const row = (label: string, a: string, b: string) => `${label.padEnd(22)}${a.padEnd(W)}${b}`;
  const check = (s: StageSummary, name: string) => {
    const c = s.checks.find((x) => x.check === name);
    return !c ? '-' : c.ok ? 'ok' : c.ran ? `FAIL [${c.code ?? 'failed'}]` : 'not run';
  };
  const attempt = (s: StageSummary, k: number) => {
    const a = s.attempts[k];
    return !a ? '-' : a.success ? 'success' : `${a.failure ?? 'failed'}`;
  };
  const lines = [
    `replay ${r.replayId}`,
    `episode ${r.episodeId}, from ${r.from}`,
    '',
    row('', 'recorded', 'replayed'),
    row('policy', r.recorded.policyVersion, r.replayed.policyVersion),
  ];
  const names = [...new Set([...r.recorded.checks, ...r.replayed.checks].map((c) => c.check))];
  for (const n of names) lines.push(row(`check ${n}`, check(r.recorded, n), r.from === 'check' ? check(r.replayed, n) : '(not replayed)'));
  const n = Math.max(r.recorded.attempts.length, r.replayed.attempts.length);
  for (let k = 0; k < n; k++) lines.push(row(`attempt ${k}`, attempt(r.recorded, k), attempt(r.replayed, k)));
  const rate = (x: number | null) => (x === null ? '-' : x.toFixed(2));
  lines.push(row('solve rate', rate(r.recorded.solveRate), rate(r.replayed.solveRate)));
  lines.push(row('outcome', String(r.recorded.outcome), String(r.replayed.outcome)));
  if (r.replayed.error) lines.push('', `replay failed: ${r.replayed.error}`);
  lines.push('', r.same ? 'reproduced: the replay matches the record' : `differs (${r.differences.length}):`);
  for (const d of r.differences) lines.push(`  - ${d}`);
  if (reportPath) lines.push('', `report: ${reportPath}`);
  return lines;
}

export interface ReplayDeps {
  runtimeFor(o: { noIsolation?: boolean; sandbox?: 'local' | 'docker' }): Runtime;
  connect(rt: Runtime): Promise<{ client: Client }>;
  withLocalWorkers<T>(rt: Runtime, o: { noIsolation?: boolean; sandbox?: 'local' | 'docker' }, fn: () => Promise<T>): Promise<T>;
}

export function addReplayCommand(program: Command, deps: ReplayDeps): void {
  program.command('replay <episode>')
    .description('re-run a recorded episode from its stored artifact in a new workflow; print recorded vs replayed')
    .addOption(new Option('--from <stage>', 'check: re-check the artifact and solve it again; solve: solve again; grade: grade the recorded patches again').choices([...REPLAY_STAGES]).default('check'))
    .option('--policy-version <v>', 'the policy that solves (default: the one the episode used)')
    .option('--detach', 'only start the replay workflow (workers run elsewhere); prints its id')
    .option('--json', 'print the report as JSON')
    .addOption(new Option('--sandbox <backend>', 'backend of directory repos (image repos always use docker)').choices(['local', 'docker']))
    .addOption(new Option('--no-isolation', 'run without bubblewrap (unsafe)'))
    .action(async (id: string, o: { from: ReplayStage; policyVersion?: string; detach?: boolean; json?: boolean; sandbox?: 'local' | 'docker'; isolation?: boolean }) => {
      const ro = { noIsolation: o.isolation === false, sandbox: o.sandbox };
      const rt = deps.runtimeFor(ro);
      const { client } = await deps.connect(rt);
      const input = await prepareReplay(client, rt.store, id, o.from, o.policyVersion);
      const h = await startReplay(client, input);
      if (o.detach) { process.stdout.write(`${h.workflowId}\n`); return; }
      process.stderr.write(`replaying ${id} from ${o.from} as ${h.workflowId}\n`);
      const report = await deps.withLocalWorkers(rt, ro, () => h.result());
      const reportPath = rt.store.p(replayKey(report));
      if (o.json) process.stdout.write(JSON.stringify({ ...report, reportPath }, null, 2) + '\n');
      else for (const l of formatReplay(report, reportPath)) process.stdout.write(l + '\n');
    });
}
