/**
 * `npm run bench`: prints the figures of the foundation's targets for a fixed small campaign.
 *   episode wall / summed test-run time   (target <= 1.15; parallel attempts can take it below 1)
 *   episodes per hour, Temporal vs a plain sequential script doing the same work (target >= 2x)
 *   Temporal overhead per activity        (target <= 15 ms)
 *   time to give a solver attempt its private buggy tree, also over a large node_modules (target <= 10 ms)
 *   peak memory of the worker process     (target < 1 GiB)
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { parseConfig } from '../src/config/load.js';
import { createRuntime } from '../src/runtime.js';
import { describeRepo } from '../src/repo/describe.js';
import * as svc from '../src/episode/service.js';
import { listEpisodes } from '../src/store/records.js';
import { campaignWorkflow, initialState } from '../workflows/campaign.js';
import { pingWorkflow } from '../workflows/bench.js';
import { QUEUES } from '../workflows/queues.js';
import { startTestEnv } from '../test/helpers/temporal.js';
import { exampleRepos } from '../test/helpers/examples.js';
import { dockerFigures } from './docker.js';

const line = (k: string, v: string, target = '') => console.log(`${k.padEnd(52)} ${v.padStart(12)}  ${target}`);
let peakRss = 0;
const sampler = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage().rss); }, 100);

const repos = exampleRepos();
const cfg = parseConfig({
  repos: repos.map((r) => ({ path: r.path })), steps: 1, rounds: 3, solves: 4, maxParallelRounds: 3, solverTestRuns: 6,
  injectorCandidates: 4, strategies: ['direct', 'removal'], higherOrder: { enabled: false }, seed: 3,
});

console.log(`ssr bench: ${cfg.steps} step x ${cfg.rounds} rounds x ${cfg.solves} solves over ${repos.map((r) => r.name).join(', ')}\n`);

// 1. The campaign through Temporal.
const env = await startTestEnv();
const workers = await env.startWorkers();
const t0 = Date.now();
const h = await env.client.workflow.start(campaignWorkflow, { workflowId: 'bench', taskQueue: QUEUES.control, args: [initialState('bench', cfg)] });
await h.result();
const temporalMs = Date.now() - t0;
const eps = await listEpisodes(env.runtime.store, 'bench');
const ratios = eps.filter((e) => e.testRunMs > 0).map((e) => e.wallMs / e.testRunMs);

// 2. Temporal's own cost per activity.
const N = 200;
const tp = Date.now();
await env.client.workflow.execute(pingWorkflow, { workflowId: 'bench-ping', taskQueue: QUEUES.control, args: [N] });
const perActivity = (Date.now() - tp) / N;
await workers.stop();
await env.stop();

// 3. The same work as a plain sequential script: no Temporal, no parallel attempts, no reuse of reference runs.
const seqRt = createRuntime({ home: mkdtempSync(path.join(tmpdir(), 'ssr-bench-seq-')) });
const ts = Date.now();
for (let r = 0; r < cfg.rounds; r++) {
  const repo = await describeRepo(repos[r % repos.length].path);
  const episodeId = `seq/0/${r}`;
  const seed = `${cfg.seed}/${episodeId}`;
  const inj = await svc.injectBug(seqRt, { campaignId: 'seq', episodeId, repo, policyVersion: 'seq@0', seed, cfg });
  if (!inj.ok) continue;
  const chk = await svc.checkArtifact(seqRt, { episodeId, repo, artifactHash: inj.artifactHash, cfg });
  if (!chk.valid) continue;
  for (let a = 0; a < cfg.solves; a++) {
    const s = await svc.solveAttempt(seqRt, { campaignId: 'seq', episodeId, attempt: a, repo, artifactHash: inj.artifactHash, policyVersion: 'seq@0', seed, cfg });
    await svc.gradeAttempt(seqRt, { episodeId, attempt: a, repo, artifactHash: inj.artifactHash, patchRef: s.patchRef, cfg });
  }
}
const seqMs = Date.now() - ts;

// 4. A private buggy tree for a solver attempt: over an example, and over a repository with a large node_modules.
async function attemptTreeMs(base: string): Promise<number> {
  const rt = createRuntime({ home: mkdtempSync(path.join(tmpdir(), 'ssr-bench-tree-')) });
  const sb0 = await rt.provider.create({ base });
  await sb0.exec('echo changed >> README.md; rm -rf .git');
  const snap = await sb0.snapshot();
  await sb0.dispose();
  const times: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t = process.hrtime.bigint();
    const sb = await rt.provider.create(snap);
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
    await sb.dispose();
  }
  rt.provider.local.deleteSnapshot?.(snap);
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
}
const big = mkdtempSync(path.join(tmpdir(), 'ssr-bench-nm-'));
execFileSync('git', ['init', '-q', big]);
writeFileSync(path.join(big, 'README.md'), 'big\n');
for (let p = 0; p < 300; p++) {
  const d = path.join(big, 'node_modules', `pkg${p}`, 'lib');
  mkdirSync(d, { recursive: true });
  for (let f = 0; f < 100; f++) writeFileSync(path.join(d, `f${f}.js`), `module.exports = ${f};\n`);
}
const treeSmall = await attemptTreeMs(repos[0].path);
const treeBig = await attemptTreeMs(big);
clearInterval(sampler);

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
console.log('figure'.padEnd(52), 'value'.padStart(12), ' target');
line('episode wall / summed test-run time (mean)', mean(ratios).toFixed(2), '<= 1.15');
line('episodes per hour, Temporal campaign', ((eps.length * 3_600_000) / temporalMs).toFixed(0));
line('episodes per hour, sequential script', ((cfg.rounds * 3_600_000) / seqMs).toFixed(0));
line('speed-up over the sequential script', `${(seqMs / temporalMs).toFixed(2)}x`, '>= 2x');
line('Temporal overhead per activity', `${perActivity.toFixed(1)} ms`, '<= 15 ms');
line('private buggy tree per attempt (example repo, median)', `${treeSmall.toFixed(1)} ms`, '<= 10 ms');
line('private buggy tree per attempt (30k-file node_modules)', `${treeBig.toFixed(1)} ms`, '<= 10 ms');
line('peak memory of the worker process (RSS)', `${(peakRss / 2 ** 20).toFixed(0)} MiB`, '< 1024 MiB');
const dockerEps = await dockerFigures(line, cfg, repos[0].path);
console.log(`\nepisodes: ${eps.map((e) => `${e.repo}:${e.outcome}`).join(', ')}`);
if (dockerEps.length) console.log(`docker episodes: ${dockerEps.join(', ')}`);
process.exit(0);
