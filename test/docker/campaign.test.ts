/**
 * Image repositories through the real Temporal server and a real Docker engine: a campaign whose repos are images
 * runs its rounds in containers, and a sandbox worker SIGKILLed mid-episode leaves nothing behind once another
 * worker has taken over (its reaper removes the dead worker's containers; the episode's end removes its snapshots).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { hostname } from 'node:os';
import { campaignWorkflow, initialState } from '../../workflows/campaign.js';
import { QUEUES } from '../../workflows/queues.js';
import { parseConfig } from '../../src/config/load.js';
import { listEpisodes } from '../../src/store/records.js';
import { PROJECT_ROOT } from '../../src/temporal/config.js';
import { docker, LABEL, OWNER, requireEngine } from '../../src/sandbox/docker/engine.js';
import { ensureExampleImages } from '../../src/sandbox/docker/images.js';
import { startTestEnv, type TestEnv } from '../helpers/temporal.js';

let env: TestEnv;
let local: { stop(): Promise<void> };
let images: Awaited<ReturnType<typeof ensureExampleImages>>;
const children: ChildProcess[] = [];

before(async () => {
  await requireEngine();
  images = await ensureExampleImages();
  env = await startTestEnv();
  local = await env.startWorkers([QUEUES.control, QUEUES.gpu]);
});
after(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await local?.stop();
  await env?.stop();
});

function sandboxWorker(): ChildProcess {
  const c = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'worker', '--queue', QUEUES.sandbox, '--slots', '2', '--sandbox', 'docker'], {
    cwd: PROJECT_ROOT, env: env.env, stdio: ['ignore', 'ignore', 'pipe'],
  });
  c.stderr!.on('data', () => { /* drained */ });
  children.push(c);
  return c;
}

const imageRepo = (name: string) => {
  const i = images.find((x) => x.name === name);
  assert.ok(i, `example image ${name}`);
  return { image: i.ref, name };
};

async function managed(label: string): Promise<{ containers: string[]; images: string[] }> {
  const d = docker();
  const filters = { label: [`${LABEL.managed}=1`, label] };
  return {
    containers: (await d.listContainers({ all: true, filters })).map((c) => c.Id),
    images: (await d.listImages({ filters })).map((i) => i.Id),
  };
}

test('a campaign over image repositories runs its rounds in containers and leaves none behind', async () => {
  const w = await env.startWorkers([QUEUES.sandbox]);
  try {
    const id = 't-docker-campaign';
    const cfg = parseConfig({
      repos: [imageRepo('verspec'), imageRepo('tallybook')], steps: 1, rounds: 2, solves: 2, solverTestRuns: 4, injectorCandidates: 4,
      strategies: ['direct'], higherOrder: { enabled: false },
    });
    const final = await (await env.client.workflow.start(campaignWorkflow, { workflowId: id, taskQueue: QUEUES.control, args: [initialState(id, cfg)] })).result();
    assert.equal(final.step, 1);
    const eps = await listEpisodes(env.runtime.store, id);
    assert.equal(eps.length, 2);
    for (const e of eps) {
      assert.notEqual(e.outcome, 'infra-error', `${e.id}: ${e.reason}`);
      assert.match(e.repoPath, /images\/[0-9a-f]{12}-[0-9a-f]{8}\/tree$/, 'the repo is the image mirror');
    }
    assert.ok(eps.some((e) => e.solveRate !== null), `a valid bug in some round: ${eps.map((e) => `${e.outcome} ${e.reason}`).join('; ')}`);
    assert.deepEqual(await managed(`${LABEL.campaign}=${id}`), { containers: [], images: [] });
    // Every container this process's worker made (injection, checks, grading included) was removed.
    assert.deepEqual((await managed(`${LABEL.owner}=${OWNER}`)).containers, []);
  } finally {
    await w.stop();
  }
});

test('a sandbox worker SIGKILLed mid-episode: another finishes it and no container or snapshot is left', async () => {
  const doomed = sandboxWorker();
  const id = 't-docker-kill';
  const cfg = parseConfig({
    repos: [imageRepo('tallybook')], steps: 1, rounds: 1, solves: 2, solverTestRuns: 6, injectorCandidates: 4,
    strategies: ['direct'], higherOrder: { enabled: false }, heartbeatTimeoutSec: 8,
  });
  const h = await env.client.workflow.start(campaignWorkflow, { workflowId: id, taskQueue: QUEUES.control, args: [initialState(id, cfg)] });
  // Wait until the doomed worker has a container running (an injection, check or solve in progress).
  const owner = `${LABEL.owner}=${hostname()}:${doomed.pid}`;
  const deadline = Date.now() + 180_000;
  let seen: string[] = [];
  while (Date.now() < deadline && seen.length === 0) {
    seen = (await managed(owner)).containers;
    if (!seen.length) await new Promise((r) => setTimeout(r, 200));
  }
  assert.ok(seen.length > 0, 'the worker started a container');
  doomed.kill('SIGKILL');
  await new Promise((r) => doomed.once('exit', r));
  assert.ok((await managed(owner)).containers.length > 0, 'the killed worker left containers behind');
  sandboxWorker();
  const final = await h.result();
  assert.equal(final.step, 1);
  const [ep] = await listEpisodes(env.runtime.store, id);
  assert.ok(ep, 'the episode is recorded');
  // The rescuer's reaper ran at its start; the episode's end released its snapshots.
  const until = Date.now() + 30_000;
  let left = await managed(owner);
  while ((left.containers.length || left.images.length) && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 500));
    left = await managed(owner);
  }
  assert.deepEqual(left, { containers: [], images: [] }, 'nothing of the dead worker is left');
  assert.deepEqual(await managed(`${LABEL.episode}=${id}/0/0`), { containers: [], images: [] }, 'nothing of the episode is left');
});
