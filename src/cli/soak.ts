/**
 * `npm run soak -- --episodes 200`: a campaign on a real Temporal server with its workers in separate, supervised
 * processes, while faults are injected at random points: workers SIGKILLed (a gpu worker in the middle of a
 * gradient step among them), the server SIGKILLed and restarted from its database, everything killed at once and
 * started again, store writes failing midway, bad artifacts and bad solver patches. At the end every episode must be
 * accounted for exactly once and no step trained twice; the figures are printed and the exit code says whether
 * the campaign survived.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { exampleRepos } from '../repo/examples.js';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Client } from '@temporalio/client';
import { parseConfig } from '../config/load.js';
import { Store } from '../store/store.js';
import { getEpisode, listStepMetrics } from '../store/records.js';
import { connectClient, ensureSearchAttributes } from '../temporal/connect.js';
import { ensureDevServer, freePort, portOpen } from '../temporal/server.js';
import { PROJECT_ROOT } from '../temporal/config.js';
import { startCampaign } from './campaign.js';
import type { CampaignStatus } from '../../workflows/campaign.js';

export const CRASH_FAULTS = ['kill-sandbox-worker', 'kill-control-worker', 'kill-gpu-mid-step', 'kill-server', 'kill-all'] as const;
export type CrashFault = (typeof CRASH_FAULTS)[number];

export interface SoakOptions {
  episodes: number;
  rounds: number;
  /** Mean seconds between crash faults. */
  faultEverySec: number;
  /** Worker-side fault rates, passed in SSR_FAULTS. */
  badArtifactRate: number;
  badPatchRate: number;
  storeFailRate: number;
  home?: string;
  repo?: string;
  log?: (line: string) => void;
}

export interface SoakReport {
  campaignId: string;
  home: string;
  episodesExpected: number;
  episodesRecorded: number;
  episodesLost: string[];
  infraErrors: string[];
  stepsRecorded: number;
  stepsTrainedTwice: number[];
  injected: Record<string, number>;
  survived: Record<string, number>;
  outcomes: Record<string, number>;
  finished: boolean;
  wallMs: number;
}

type Role = 'control' | 'gpu' | 'sandbox';

interface Supervised { role: Role; child: ChildProcess | null; restarts: number }

/** Keeps one process per role running, as systemd or Kubernetes would; a killed worker comes back after a second. */
class Supervisor {
  private readonly procs = new Map<Role, Supervised>();
  private stopping = false;
  constructor(private readonly env: NodeJS.ProcessEnv, private readonly faultsFor: (r: Role) => string, private readonly log: (l: string) => void) {}

  start(role: Role): void {
    const s = this.procs.get(role) ?? { role, child: null, restarts: 0 };
    this.procs.set(role, s);
    const queue = `ssr-${role}`;
    const c = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'worker', '--queue', queue, ...(role === 'sandbox' ? ['--slots', '2'] : [])], {
      cwd: PROJECT_ROOT, env: { ...this.env, SSR_FAULTS: this.faultsFor(role) }, stdio: ['ignore', 'ignore', 'pipe'],
    });
    let tail = '';
    c.stderr!.on('data', (d) => { tail = (tail + d).slice(-2000); });
    c.once('exit', (code, sig) => {
      if (s.child !== c) return;
      s.child = null;
      if (this.stopping) return;
      if (sig !== 'SIGKILL') this.log(`worker ${role} exited (${code ?? sig}): ${tail.trim().split('\n').slice(-3).join(' | ')}`);
      s.restarts++;
      setTimeout(() => { if (!this.stopping && !s.child) this.start(role); }, 1000);
    });
    s.child = c;
  }

  pid(role: Role): number | null { return this.procs.get(role)?.child?.pid ?? null; }

  kill(role: Role): boolean {
    const c = this.procs.get(role)?.child;
    if (!c || c.exitCode !== null) return false;
    c.kill('SIGKILL');
    return true;
  }

  /** Kills every worker and keeps them down until `start` is called again for each. */
  async killAll(): Promise<void> {
    this.stopping = true;
    const dying = [...this.procs.values()].map((s) => s.child).filter((c): c is ChildProcess => !!c && c.exitCode === null);
    for (const c of dying) c.kill('SIGKILL');
    await Promise.all(dying.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))));
    for (const s of this.procs.values()) s.child = null;
    this.stopping = false;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const s of this.procs.values()) s.child?.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 2000));
    for (const s of this.procs.values()) if (s.child && s.child.exitCode === null) s.child.kill('SIGKILL');
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function readJsonl(file: string): Record<string, unknown>[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).flatMap((l) => { try { return [JSON.parse(l) as Record<string, unknown>]; } catch { return []; } });
}

function exampleRepo(name?: string): string {
  const repos = exampleRepos();
  const names = repos.map((r) => r.name);
  // The JavaScript example by default: its suite is the fastest, so a soak spends its time on faults, not on tests.
  const pick = name ?? (names.includes('verspec') ? 'verspec' : names[0]);
  const repo = repos.find((r) => r.name === pick);
  if (!repo) throw new Error(`no example repository ${name ?? ''} under ${path.join(PROJECT_ROOT, 'examples')}: run \`bash examples/build.sh\``);
  return repo.path;
}

export async function runSoak(o: SoakOptions): Promise<SoakReport> {
  const log = o.log ?? ((l: string) => process.stderr.write(`soak: ${l}\n`));
  const started = Date.now();
  const home = o.home ?? mkdtempSync(path.join(tmpdir(), 'ssr-soak-'));
  const port = await freePort();
  const uiPort = await freePort();
  let server = await ensureDevServer(home, { port, uiPort });
  const env: NodeJS.ProcessEnv = { ...process.env, TEMPORAL_ADDRESS: server.address, TEMPORAL_NAMESPACE: 'default', SSR_HOME: home };
  delete env.SSR_FAULTS;
  const target = { address: server.address, namespace: 'default', tls: null, apiKey: null };
  let client: Client = await connectClient(target);
  await ensureSearchAttributes(client, 'default');

  const faultsFor = (r: Role) => ({
    // Every gradient step pauses a moment after its marker is dropped: the window a mid-step kill aims at.
    gpu: 'pause-gradient-before-save=3000',
    control: `store-write-fail=${o.storeFailRate}`,
    sandbox: `store-write-fail=${o.storeFailRate},bad-artifact=${o.badArtifactRate},bad-patch=${o.badPatchRate}`,
  })[r];
  const sup = new Supervisor(env, faultsFor, log);
  // An interrupted soak takes its workers and its server with it: nothing of it keeps running unseen.
  const onSignal = (sig: NodeJS.Signals) => {
    void sup.stop().finally(() => { if (server.pid) { try { process.kill(server.pid, 'SIGKILL'); } catch { /* gone */ } } process.exit(sig === 'SIGINT' ? 130 : 143); });
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  for (const r of ['control', 'gpu', 'sandbox'] as const) sup.start(r);

  const steps = Math.ceil(o.episodes / o.rounds);
  const campaignId = `soak-${Date.now().toString(36)}`;
  const cfg = parseConfig({
    repos: [{ path: o.repo ?? exampleRepo() }], steps, rounds: o.rounds, maxParallelRounds: 2, solves: 2, solverTestRuns: 3,
    injectorCandidates: 3, strategies: ['direct'], higherOrder: { enabled: false }, heartbeatTimeoutSec: 8, gpuHeartbeatTimeoutSec: 8, continueAsNewEvery: 5,
    // The longest activity of the soak is a check stopping a bad artifact's hanging script at this limit; it must fit
    // between faults (one every faultEverySec, 20 s in CI's short soak) often enough to finish within its 8 attempts,
    // which at 30 s it once did not (the episode ended an infra-error). The example's suite runs in a few seconds; a
    // repository of the user's keeps the campaign default's margin.
    testTimeoutSec: o.repo ? 30 : 15,
  });
  await startCampaign(client, campaignId, cfg);
  log(`campaign ${campaignId}: ${steps} steps x ${o.rounds} rounds, home ${home}, server ${server.address}`);

  const injected: Record<string, number> = {};
  const note = (k: string) => { injected[k] = (injected[k] ?? 0) + 1; log(`fault: ${k}`); };
  const store = new Store(path.join(home, 'store'));
  let finished = false;
  let nextFault = Date.now() + o.faultEverySec * 1000 * (0.5 + Math.random());

  const restartServer = async () => {
    for (let i = 0; i < 100 && (await portOpen(port)); i++) await sleep(100);
    server = await ensureDevServer(home, { port, uiPort });
  };
  const reconnect = async () => {
    for (let i = 0; ; i++) {
      try { client = await connectClient(target); return; } catch (e) { if (i > 60) throw e; await sleep(1000); }
    }
  };

  const status = async (): Promise<CampaignStatus | null> => {
    try {
      const d = await client.workflow.getHandle(campaignId).describe();
      if (d.status.name === 'COMPLETED') { finished = true; return await client.workflow.getHandle(campaignId).result(); }
      if (d.status.name !== 'RUNNING') throw new Error(`campaign workflow ${campaignId} is ${d.status.name}`);
      return null;
    } catch (e) {
      if ((e as Error).message.includes('is ')) throw e;
      return null;
    }
  };

  const gpuMarkerSeen = new Set<string>();
  const deadline = Date.now() + Math.max(30, o.episodes * 3) * 60_000;
  while (!finished && Date.now() < deadline) {
    await sleep(1000);
    await status();
    if (finished) break;
    // A gradient step reached its pause point: sometimes that is when the gpu worker dies.
    const gpuPid = sup.pid('gpu');
    const marker = gpuPid ? path.join(home, 'faults', `pause-gradient-before-save.${gpuPid}.reached`) : null;
    if (marker && existsSync(marker) && !gpuMarkerSeen.has(marker)) {
      gpuMarkerSeen.add(marker);
      if (Math.random() < 0.5 && sup.kill('gpu')) note('kill-gpu-mid-step');
    }
    if (Date.now() < nextFault) continue;
    nextFault = Date.now() + o.faultEverySec * 1000 * (0.5 + Math.random());
    const kind = (['kill-sandbox-worker', 'kill-control-worker', 'kill-server', 'kill-all'] as const)[Math.floor(Math.random() * 4)];
    if (kind === 'kill-sandbox-worker') { if (sup.kill('sandbox')) note(kind); }
    else if (kind === 'kill-control-worker') { if (sup.kill('control')) note(kind); }
    else if (kind === 'kill-server') {
      if (server.pid) { try { process.kill(server.pid, 'SIGKILL'); } catch { /* gone */ } }
      note(kind);
      await sleep(2000);
      await restartServer();
      await reconnect();
    } else {
      await sup.killAll();
      if (server.pid) { try { process.kill(server.pid, 'SIGKILL'); } catch { /* gone */ } }
      note(kind);
      await sleep(2000);
      await restartServer();
      await reconnect();
      for (const r of ['control', 'gpu', 'sandbox'] as const) sup.start(r);
    }
  }
  await sup.stop();
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);

  // Accounting: each expected episode exactly once in the store, each step's metrics once, each step trained once.
  const expected = Array.from({ length: steps * o.rounds }, (_, k) => `${campaignId}/${Math.floor(k / o.rounds)}/${k % o.rounds}`);
  const lost: string[] = [];
  const infra: string[] = [];
  const outcomes: Record<string, number> = {};
  const outcomeOf = new Map<string, string>();
  for (const id of expected) {
    const rec = await getEpisode(store, id);
    if (!rec) { lost.push(id); continue; }
    outcomes[rec.outcome] = (outcomes[rec.outcome] ?? 0) + 1;
    outcomeOf.set(id, rec.outcome);
    if (rec.outcome === 'infra-error') infra.push(`${id}: ${rec.reason}`);
  }
  const recordedSteps = await store.list(`episodes/${campaignId}`);
  let extra = 0;
  for (const s of recordedSteps) for (const f of await store.list(`episodes/${campaignId}/${s}`)) if (!expected.includes(`${campaignId}/${s}/${f.replace(/\.json$/, '')}`)) extra++;
  if (extra) lost.push(`${extra} records that no round of the campaign should have written`);
  const metrics = await listStepMetrics(store, campaignId);
  const ledger: Record<number, number> = {};
  for (const f of await store.list(`train/${campaignId}/ledger`)) { const s = Number(f.split('-')[0]); ledger[s] = (ledger[s] ?? 0) + 1; }
  const twice = Object.entries(ledger).filter(([, n]) => n > 1).map(([s]) => Number(s));

  // Worker-side faults, from what the workers noted when each fired.
  const fired = readJsonl(path.join(home, 'faults', 'fired.jsonl'));
  const survived: Record<string, number> = {};
  for (const f of fired) {
    const k = String(f.fault);
    if (k.startsWith('pause-')) continue;
    injected[k] = (injected[k] ?? 0) + 1;
    // A bad input survived when its episode ended with a typed outcome (not lost, not an infrastructure error).
    const ep = typeof f.episodeId === 'string' ? f.episodeId : null;
    const ok = ep ? !!outcomeOf.get(ep) && outcomeOf.get(ep) !== 'infra-error' : finished;
    if (ok) survived[k] = (survived[k] ?? 0) + 1;
  }
  for (const k of CRASH_FAULTS) if (injected[k] && finished && lost.length === 0) survived[k] = injected[k];

  await client.connection.close().catch(() => undefined);
  if (server.pid) { try { process.kill(server.pid, 'SIGTERM'); } catch { /* gone */ } }
  return {
    campaignId, home, episodesExpected: expected.length, episodesRecorded: expected.length - lost.filter((l) => !l.includes('records that')).length,
    episodesLost: lost, infraErrors: infra, stepsRecorded: metrics.length, stepsTrainedTwice: twice, injected, survived, outcomes, finished,
    wallMs: Date.now() - started,
  };
}

export function formatSoak(r: SoakReport): string[] {
  const sum = (m: Record<string, number>) => Object.values(m).reduce((a, b) => a + b, 0);
  const kinds = Object.keys(r.injected).sort();
  return [
    `soak ${r.campaignId}: ${r.finished ? 'campaign finished' : 'CAMPAIGN DID NOT FINISH'} in ${(r.wallMs / 60_000).toFixed(1)} min (home ${r.home})`,
    `faults injected:   ${sum(r.injected)}`,
    ...kinds.map((k) => `  ${k.padEnd(22)} ${String(r.injected[k]).padStart(4)} injected  ${String(r.survived[k] ?? 0).padStart(4)} survived`),
    `faults survived:   ${sum(r.survived)}`,
    `episodes:          ${r.episodesRecorded}/${r.episodesExpected} recorded, ${r.infraErrors.length} ended as infra-error`,
    `episodes lost:     ${r.episodesLost.length}${r.episodesLost.length ? ` (${r.episodesLost.slice(0, 5).join(', ')})` : ''}`,
    `steps recorded:    ${r.stepsRecorded}`,
    `steps trained more than once: ${r.stepsTrainedTwice.length}${r.stepsTrainedTwice.length ? ` (${r.stepsTrainedTwice.join(', ')})` : ''}`,
    `outcomes:          ${Object.entries(r.outcomes).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    ...r.infraErrors.slice(0, 10).map((l) => `  infra-error ${l}`),
  ];
}

async function main(): Promise<void> {
  const arg = (name: string, dflt: string) => { const i = process.argv.indexOf(name); return i >= 0 ? process.argv[i + 1] : dflt; };
  const r = await runSoak({
    episodes: Number(arg('--episodes', '200')), rounds: Number(arg('--rounds', '4')), faultEverySec: Number(arg('--fault-every', '45')),
    badArtifactRate: Number(arg('--bad-artifacts', '0.25')), badPatchRate: Number(arg('--bad-patches', '0.15')), storeFailRate: Number(arg('--store-failures', '0.02')),
    home: process.argv.includes('--home') ? arg('--home', '') : undefined, repo: process.argv.includes('--repo') ? arg('--repo', '') : undefined,
  });
  for (const l of formatSoak(r)) process.stdout.write(l + '\n');
  process.exitCode = r.finished && r.episodesLost.length === 0 && r.stepsTrainedTwice.length === 0 ? 0 : 1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().then(() => process.exit(process.exitCode ?? 0), (e) => { process.stderr.write(`soak: ${(e as Error).stack ?? e}\n`); process.exit(1); });
}
