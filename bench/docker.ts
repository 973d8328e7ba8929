/**
 * The Docker backend's figures, beside the local ones: container create+start, exec round-trip, reset to the
 * buggy state (a container from the snapshot image), and the episode overhead ratio of a campaign over images.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { CampaignConfig } from '../src/config/schema.js';
import { createRuntime } from '../src/runtime.js';
import { prepareRepo } from '../src/repo/prepare.js';
import { requireEngine } from '../src/sandbox/docker/engine.js';
import { ensureExampleImages } from '../src/sandbox/docker/images.js';
import { listEpisodes } from '../src/store/records.js';
import { campaignWorkflow, initialState } from '../workflows/campaign.js';
import { QUEUES } from '../workflows/queues.js';
import { startTestEnv } from '../test/helpers/temporal.js';
import type { Sandbox, SandboxProvider } from '../src/sandbox/types.js';

type Line = (k: string, v: string, target?: string) => void;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t = process.hrtime.bigint();
  const r = await fn();
  return [r, Number(process.hrtime.bigint() - t) / 1e6];
}

async function sandboxFigures(p: SandboxProvider, base: string): Promise<{ create: number; exec: number; reset: number }> {
  const creates: number[] = [];
  for (let i = 0; i < 8; i++) {
    const [sb, ms] = await timed(() => p.create({ base }));
    creates.push(ms);
    await sb.dispose();
  }
  const sb: Sandbox = await p.create({ base });
  const execs: number[] = [];
  for (let i = 0; i < 20; i++) execs.push((await timed(() => sb.exec('true')))[1]);
  await sb.exec('echo bug >> README.md');
  const snap = await sb.snapshot();
  await sb.dispose();
  const resets: number[] = [];
  for (let i = 0; i < 8; i++) {
    const [s, ms] = await timed(() => p.create(snap));
    resets.push(ms);
    await s.dispose();
  }
  return { create: median(creates), exec: median(execs), reset: median(resets) };
}

export async function dockerFigures(line: Line, cfg: CampaignConfig, localBase: string): Promise<string[]> {
  try {
    await requireEngine();
  } catch (e) {
    line('docker backend', 'unavailable', (e as Error).message.slice(0, 60));
    return [];
  }
  const images = await ensureExampleImages();
  const home = mkdtempSync(path.join(tmpdir(), 'ssr-bench-docker-'));
  const rt = createRuntime({ home });
  const repo = await prepareRepo(home, { image: images[0]!.ref });
  const local = await sandboxFigures(rt.provider.local, localBase);
  const dock = await sandboxFigures(rt.provider, repo.path);
  await rt.provider.docker.close?.();
  line('sandbox create+start, local / docker (median)', `${local.create.toFixed(1)} / ${dock.create.toFixed(0)} ms`);
  line('exec round-trip `true`, local / docker (median)', `${local.exec.toFixed(1)} / ${dock.exec.toFixed(0)} ms`);
  line('reset to the buggy state, local / docker (median)', `${local.reset.toFixed(1)} / ${dock.reset.toFixed(0)} ms`);

  const env = await startTestEnv();
  const workers = await env.startWorkers();
  const dcfg = { ...cfg, repos: images.map((i) => ({ image: i.ref, workdir: i.workdir, name: i.name })) };
  const t0 = Date.now();
  await (await env.client.workflow.start(campaignWorkflow, { workflowId: 'bench-docker', taskQueue: QUEUES.control, args: [initialState('bench-docker', dcfg)] })).result();
  const ms = Date.now() - t0;
  // Read before stop(), which removes the environment's home and its store with it.
  const eps = await listEpisodes(env.runtime.store, 'bench-docker');
  await workers.stop();
  await env.stop();
  const ratios = eps.filter((e) => e.testRunMs > 0).map((e) => e.wallMs / e.testRunMs);
  line('docker: episode wall / summed test-run time (mean)', (ratios.reduce((a, b) => a + b, 0) / Math.max(1, ratios.length)).toFixed(2), '<= 1.15');
  line('docker: episodes per hour, Temporal campaign', ((eps.length * 3_600_000) / ms).toFixed(0));
  return eps.map((e) => `${e.repo}:${e.outcome}`);
}
