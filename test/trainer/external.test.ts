/**
 * The LLM policy's gradient step through a real external trainer (examples/trainer/minimal_trainer.py, a real
 * process) and a real HTTP inference-server load call: the batch it gets, the version it yields, the load before
 * the version, and that a retried or crashed step never trains twice.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Store } from '../../src/store/store.js';
import { externalTrainStep, readLlmPolicy, TrainerError } from '../../src/trainer/external.js';
import { trajectoryLine, type TrajectoryRecord } from '../../src/agents/llm/trajectory.js';
import { PROJECT_ROOT } from '../../src/temporal/config.js';
import type { GradientInput } from '../../src/episode/types.js';

const TRAINER = path.join(PROJECT_ROOT, 'examples', 'trainer', 'minimal_trainer.py');

async function batchIn(store: Store, campaign: string): Promise<GradientInput> {
  const conv = (content: string) => [
    { role: 'system', content: 'you are a solver' }, { role: 'user', content },
    { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'submit', arguments: '{}' } }] },
    { role: 'tool', tool_call_id: 'c1', content: 'submitted' },
  ];
  const refs = [];
  for (const [k, role] of (['injector', 'solver', 'solver'] as const).entries()) {
    const line = trajectoryLine({ messages: conv(`task ${k}`) as TrajectoryRecord['messages'], tools: [], role, policy_version: `${campaign}@0`, episode_id: `${campaign}/0/0`, reward: null, stop: 'submit' });
    refs.push(await store.putBlob(line));
  }
  return {
    campaignId: campaign, step: 0, fromVersion: `${campaign}@0`, learningRate: 0.5,
    batch: [
      { trajectoryRef: refs[0], role: 'injector', reward: 0.2, group: 'e0' },
      { trajectoryRef: refs[1], role: 'solver', reward: 1, group: 'e0' },
      { trajectoryRef: refs[2], role: 'solver', reward: -1, group: 'e0' },
    ],
  };
}

function loadServer(): Promise<{ url: string; loads: unknown[]; close(): void }> {
  const loads: unknown[] = [];
  const srv = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      const b = JSON.parse(body) as { lora_name: string };
      // vLLM answers 400 to a second load of the same name.
      if (loads.some((l) => (l as { lora_name: string }).lora_name === b.lora_name)) { res.writeHead(400); res.end(`adapter ${b.lora_name} has already been loaded`); return; }
      loads.push(b);
      res.writeHead(200); res.end('ok');
    });
  });
  return new Promise((r) => srv.listen(0, '127.0.0.1', () => {
    const a = srv.address() as { port: number };
    r({ url: `http://127.0.0.1:${a.port}/v1/load_lora_adapter`, loads, close: () => srv.close() });
  }));
}

test('a step: the trainer gets the batch in chat format with rewards, the server loads the checkpoint, then the version exists', async () => {
  const store = new Store(mkdtempSync(path.join(tmpdir(), 'ssr-ext-')));
  const i = await batchIn(store, 'c1');
  const srv = await loadServer();
  try {
    const out = await externalTrainStep(store, i, { command: `python3 ${TRAINER} --batch {batch} --out {out}`, timeoutSec: 60 }, { url: srv.url, timeoutSec: 10 });
    assert.equal(out.version, 'c1@1');
    assert.equal(out.alreadyTrained, false);
    assert.equal(out.trajectories, 3);
    const lines = readFileSync(store.p('train/c1/0/batch.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((l) => [l.role, l.reward]), [['injector', 0.2], ['solver', 1], ['solver', -1]]);
    assert.ok(lines.every((l) => Array.isArray(l.messages) && l.messages.some((m: { tool_calls?: unknown }) => m.tool_calls)));
    const ck = JSON.parse(readFileSync(store.p('train/c1/0/out/checkpoint.json'), 'utf8'));
    assert.deepEqual(ck.advantages, [0, 1, -1], 'group-relative advantages');
    assert.deepEqual(srv.loads, [{ lora_name: 'c1-step1', lora_path: store.p('train/c1/0/out') }]);
    const v = await readLlmPolicy(store, 'c1', 1, 'base');
    assert.equal(v.model, 'c1-step1');
    assert.equal((await readLlmPolicy(store, 'c1', 0, 'base')).model, 'base');
    // Retried after it finished: nothing trains or loads again.
    const again = await externalTrainStep(store, i, { command: `python3 ${TRAINER} --batch {batch} --out {out}`, timeoutSec: 60 }, { url: srv.url, timeoutSec: 10 });
    assert.equal(again.alreadyTrained, true);
    assert.equal(readFileSync(store.p('train/c1/0/out/trained.count'), 'utf8'), '1\n');
    assert.equal(srv.loads.length, 1);
    assert.equal((await store.list('train/c1/ledger')).length, 1);
  } finally { srv.close(); }
});

test('a trainer that crashes is retried and trains once; a load that fails is retried without training again', async () => {
  const store = new Store(mkdtempSync(path.join(tmpdir(), 'ssr-ext-')));
  const i = await batchIn(store, 'c2');
  const trainer = { command: `python3 ${TRAINER} --batch {batch} --out {out} --fail-first`, timeoutSec: 60 };
  await assert.rejects(externalTrainStep(store, i, trainer, null), (e: Error) => e instanceof TrainerError && /exited 3/.test(e.message) && /simulated crash/.test(e.message));
  assert.equal(await store.getJson('policies/c2/1.json'), null, 'no version after a crash');
  // The load endpoint is down on the first try after training.
  const down = { url: 'http://127.0.0.1:9/v1/load_lora_adapter', timeoutSec: 2 };
  await assert.rejects(externalTrainStep(store, i, trainer, down));
  assert.equal(await store.getJson('policies/c2/1.json'), null, 'no version before the server has it');
  const srv = await loadServer();
  try {
    const out = await externalTrainStep(store, i, trainer, { url: srv.url, timeoutSec: 10 });
    assert.equal(out.version, 'c2@1');
    assert.equal(readFileSync(store.p('train/c2/0/out/trained.count'), 'utf8'), '1\n', 'the trainer finished exactly once');
    assert.equal((await store.list('train/c2/ledger')).length, 1);
    assert.equal(srv.loads.length, 1);
  } finally { srv.close(); }
});

test('a trainer that names no checkpoint, or runs past its limit, is a TrainerError that says so', async () => {
  const store = new Store(mkdtempSync(path.join(tmpdir(), 'ssr-ext-')));
  const i = await batchIn(store, 'c3');
  await assert.rejects(externalTrainStep(store, i, { command: 'true', timeoutSec: 10 }, null), /without naming a checkpoint/);
  await assert.rejects(externalTrainStep(store, i, { command: 'sleep 30', timeoutSec: 1 }, null), /killed \(SIGKILL, time limit 1 s\)/);
  await assert.rejects(externalTrainStep(store, i, { timeoutSec: 1 }, null), /needs a command or a url/);
});

test('a trainer behind HTTP: it gets the batch path and out dir, its checkpoint is recorded; an error answer is a TrainerError', async () => {
  const store = new Store(mkdtempSync(path.join(tmpdir(), 'ssr-ext-')));
  const i = await batchIn(store, 'c4');
  const calls: { batchPath: string; outDir: string; step: number }[] = [];
  let fail = true;
  const srv = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      if (fail) { fail = false; res.writeHead(503); res.end('warming up'); return; }
      const b = JSON.parse(body) as { batchPath: string; outDir: string; step: number };
      calls.push(b);
      const lines = readFileSync(b.batchPath, 'utf8').trim().split('\n');
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ checkpoint: `ckpt-${b.step}-${lines.length}` }));
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(srv.address() as { port: number }).port}/train`;
  try {
    await assert.rejects(externalTrainStep(store, i, { url, timeoutSec: 10 }, null), /answered 503: warming up/);
    const out = await externalTrainStep(store, i, { url, timeoutSec: 10 }, null);
    assert.equal(out.version, 'c4@1');
    assert.equal(calls.length, 1);
    assert.equal(calls[0].batchPath, store.p('train/c4/0/batch.jsonl'));
    // Without a loader the checkpoint itself is what the next step asks the endpoint for (a hosted fine-tune id).
    assert.equal((await readLlmPolicy(store, 'c4', 1, 'base')).model, 'ckpt-0-3');
  } finally { srv.close(); }
});
