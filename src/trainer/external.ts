/**
 * The gradient step of an LLM policy: the step's trajectories and rewards go to an external trainer (a command, or
 * an HTTP endpoint), which answers with a checkpoint; the inference server is then told to load it (a command, or
 * an HTTP call such as vLLM's /v1/load_lora_adapter), and only then is the new policy version recorded, so the next
 * step's rollouts cannot start on a version the server does not serve.
 *
 * Idempotent per (campaign, step), each stage remembered on disk before the next begins:
 *   train/<campaign>/<step>/batch.jsonl        the batch (rewritten identically on a retry)
 *   train/<campaign>/<step>/checkpoint.json    the trainer's answer: a retried step never trains again
 *   train/<campaign>/<step>/loaded.json        the server confirmed the load
 *   policies/<campaign>/<step + 1>.json        the version: its presence means the step is done
 * A trainer that crashes (non-zero exit, HTTP error) leaves no checkpoint.json, so the retry trains from scratch:
 * that is training once, not twice.
 */
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import type { Store, BlobRef } from '../store/store.js';
import { writeFileAtomic } from '../store/fsutil.js';
import { versionName } from '../policy/versions.js';
import { readTrajectory } from './gradient.js';
import type { GradientInput, GradientOutput } from '../episode/types.js';
import { faultPause } from '../faults.js';

export interface ExternalTrainerConfig {
  /** A command run with `sh -c`; {batch}, {out}, {step}, {from}, {campaign} are replaced (shell-quoted). Its last stdout line is the checkpoint. */
  command?: string;
  /** Or an endpoint: POST JSON { campaign, step, fromVersion, batchPath, outDir } → { checkpoint }. */
  url?: string;
  timeoutSec: number;
}

export interface LoaderConfig {
  /** A command; {checkpoint} and {name} are replaced. */
  command?: string;
  /** Or vLLM's adapter loading: POST { lora_name, lora_path }. */
  url?: string;
  timeoutSec: number;
}

/** What a policy version of an LLM campaign is: the name the inference server serves it under. */
export interface LlmPolicyVersion { kind: 'llm'; version: string; step: number; model: string; checkpoint: string | null }

export class TrainerError extends Error {
  constructor(message: string) { super(message); this.name = 'TrainerError'; }
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const fill = (tpl: string, vars: Record<string, string>) => tpl.replace(/\{(\w+)\}/g, (m, k: string) => (k in vars ? q(vars[k]) : m));

/** Runs a command with a time limit, calling `beat` while it runs; resolves with stdout, rejects with its stderr tail. */
function runCommand(cmd: string, timeoutSec: number, beat: (what: string) => void, cwd?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = spawn('sh', ['-c', cmd], { cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '', errTail = '';
    c.stdout.on('data', (d) => { out += d; });
    c.stderr.on('data', (d) => { errTail = (errTail + d).slice(-4000); });
    const t = setTimeout(() => { try { process.kill(-c.pid!, 'SIGKILL'); } catch { /* gone */ } }, timeoutSec * 1000);
    const hb = setInterval(() => beat(`running: ${cmd.slice(0, 80)}`), 5000);
    c.once('error', (e) => { clearTimeout(t); clearInterval(hb); reject(new TrainerError(`${cmd}: ${e.message}`)); });
    c.once('close', (code, sig) => {
      clearTimeout(t); clearInterval(hb);
      if (code === 0) resolve(out);
      else reject(new TrainerError(`\`${cmd}\` ${sig ? `was killed (${sig}${sig === 'SIGKILL' ? `, time limit ${timeoutSec} s` : ''})` : `exited ${code}`}: ${errTail.trim().split('\n').slice(-5).join(' | ')}`));
    });
  });
}

async function postJson(url: string, body: unknown, timeoutSec: number): Promise<{ status: number; text: string }> {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutSec * 1000) });
  return { status: r.status, text: await r.text() };
}

export async function readLlmPolicy(store: Store, campaign: string, step: number, baseModel: string): Promise<LlmPolicyVersion> {
  const rec = await store.getJson<LlmPolicyVersion>(`policies/${campaign}/${step}.json`);
  if (rec) return rec;
  if (step === 0) return { kind: 'llm', version: versionName(campaign, 0), step: 0, model: baseModel, checkpoint: null };
  throw new TrainerError(`policy version ${versionName(campaign, step)} has not been trained (no ${store.p(`policies/${campaign}/${step}.json`)})`);
}

/** One line per trajectory: the stored trajectory (OpenAI chat messages for the LLM agent) plus its reward and group. */
async function writeBatch(store: Store, i: GradientInput, file: string): Promise<number> {
  const lines: string[] = [];
  for (const t of i.batch) {
    // An external trainer reads decisions whole, as the embedded agents recorded them.
    const { fields, decisions } = await readTrajectory(store, t.trajectoryRef);
    lines.push(JSON.stringify({ ...fields, ...(decisions ? { decisions } : {}), role: t.role, reward: t.reward, group: t.group, trajectory_ref: t.trajectoryRef }));
  }
  await writeFileAtomic(file, lines.join('\n') + (lines.length ? '\n' : ''));
  return lines.length;
}

export async function externalTrainStep(store: Store, i: GradientInput, trainer: ExternalTrainerConfig, loader: LoaderConfig | null, beat: (what: string) => void = () => {}): Promise<GradientOutput> {
  const next = versionName(i.campaignId, i.step + 1);
  const dir = `train/${i.campaignId}/${i.step}`;
  const done = await store.getJson<LlmPolicyVersion>(`policies/${i.campaignId}/${i.step + 1}.json`);
  if (done) return { version: next, alreadyTrained: true, trajectories: i.batch.length, decisions: 0, gradNorm: 0 };
  if (!trainer.command && !trainer.url) throw new TrainerError('policy.trainer needs a command or a url');

  const batchPath = store.p(dir, 'batch.jsonl');
  const outDir = store.p(dir, 'out');
  await mkdir(outDir, { recursive: true });
  const n = await writeBatch(store, i, batchPath);

  let ck = await store.getJson<{ checkpoint: string }>(`${dir}/checkpoint.json`);
  if (!ck) {
    beat(`training step ${i.step} on ${n} trajectories`);
    let checkpoint: string;
    if (trainer.command) {
      const stdout = await runCommand(fill(trainer.command, { batch: batchPath, out: outDir, step: String(i.step), from: i.fromVersion, campaign: i.campaignId }), trainer.timeoutSec, beat);
      checkpoint = stdout.trim().split('\n').filter(Boolean).at(-1)?.trim() ?? '';
    } else {
      const r = await postJson(trainer.url!, { campaign: i.campaignId, step: i.step, fromVersion: i.fromVersion, batchPath, outDir }, trainer.timeoutSec);
      if (r.status !== 200) throw new TrainerError(`trainer ${trainer.url} answered ${r.status}: ${r.text.slice(0, 500)}`);
      checkpoint = String((JSON.parse(r.text) as { checkpoint?: unknown }).checkpoint ?? '');
    }
    if (!checkpoint) throw new TrainerError('the trainer finished without naming a checkpoint (its last stdout line, or `checkpoint` in its JSON answer)');
    ck = { checkpoint };
    await store.putJson(`${dir}/checkpoint.json`, { checkpoint, trajectories: n, at: new Date().toISOString() });
    await store.putJson(`train/${i.campaignId}/ledger/${i.step}-${randomUUID()}.json`, { step: i.step, version: next, checkpoint, pid: process.pid });
  }
  await faultPause('pause-gradient-before-save', { campaign: i.campaignId, step: i.step });

  // The served name of the new version: what the next step's rollouts ask the inference server for.
  const model = `${i.campaignId}-step${i.step + 1}`.replace(/[^A-Za-z0-9._-]/g, '-');
  if (loader && !(await store.getJson(`${dir}/loaded.json`))) {
    beat(`loading ${ck.checkpoint} as ${model}`);
    if (loader.command) {
      await runCommand(fill(loader.command, { checkpoint: ck.checkpoint, name: model }), loader.timeoutSec, beat);
    } else if (loader.url) {
      const r = await postJson(loader.url, { lora_name: model, lora_path: ck.checkpoint }, loader.timeoutSec);
      // A retried load after the server already took it is not an error.
      if (r.status !== 200 && !/already/i.test(r.text)) throw new TrainerError(`loading ${ck.checkpoint} at ${loader.url} answered ${r.status}: ${r.text.slice(0, 500)}`);
    }
    await store.putJson(`${dir}/loaded.json`, { model, checkpoint: ck.checkpoint, at: new Date().toISOString() });
  }
  const rec: LlmPolicyVersion = { kind: 'llm', version: next, step: i.step + 1, model: loader ? model : ck.checkpoint, checkpoint: ck.checkpoint };
  await store.putJson(`policies/${i.campaignId}/${i.step + 1}.json`, rec);
  return { version: next, alreadyTrained: false, trajectories: n, decisions: 0, gradNorm: 0 };
}
