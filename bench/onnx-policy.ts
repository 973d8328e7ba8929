/**
 * `npx tsx bench/onnx-policy.ts`: figures of the ONNX embedded policy on this machine (printed, never asserted).
 *   scoring throughput, options/s, for decisions of 4, 16 and 48 options (onnxruntime, CPU provider)
 *   one gradient step on a batch the size of a small campaign step (manual backprop in TypeScript)
 *   model file size
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Store } from '../src/store/store.js';
import { Rng } from '../src/policy/rng.js';
import type { Option } from '../src/policy/policy.js';
import type { ScoredTrajectory } from '../src/trainer/gradient.js';
import { OnnxPolicy, OnnxPolicyRunner } from '../src/policy/onnx/runner.js';
import { encodeModel } from '../src/policy/onnx/model.js';
import { onnxPolicyGradientStep } from '../src/policy/onnx/train.js';

const line = (k: string, v: string) => console.log(`${k.padEnd(56)} ${v.padStart(14)}`);
const store = new Store(mkdtempSync(path.join(tmpdir(), 'ssr-onnx-bench-')));
const policy = await OnnxPolicy.load(store, 'bench@0', { providers: (process.env.SSR_ORT_PROVIDERS ?? 'cpu').split(',') });
const rng = new Rng('bench');
const kinds = ['binary-operator', 'if-condition', 'number-literal', 'comparison', 'return-value', 'call-argument'];
const opts = (n: number): Option[] => Array.from({ length: n }, () => ({ key: rng.pick(kinds), features: [rng.next(), rng.int(2), rng.int(2), rng.next()] }));

console.log(`ONNX policy bench: provider ${policy.provider}, ${policy.weights.inputs} inputs, ${policy.weights.hidden} hidden\n`);
line('model file size', `${encodeModel(policy.weights).length} B`);
for (const n of [4, 16, 48]) {
  const o = opts(n);
  for (let i = 0; i < 50; i++) await policy.scores('solve.repair', o); // warm-up
  const calls = 2000;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) await policy.scores('solve.repair', o);
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  line(`scoring, ${n} options per decision`, `${Math.round((calls * n) / s).toLocaleString('en')} options/s`);
  line(`  latency per decision`, `${((s / calls) * 1e6).toFixed(0)} µs`);
}

// A step's batch: 4 rounds x (1 injection of ~5 decisions + 8 solves ranking 40 candidates, 16 recorded picks).
const runner = new OnnxPolicyRunner(policy, rng);
const batch: ScoredTrajectory[] = [];
for (let r = 0; r < 4; r++) {
  let before = runner.decisions.length;
  for (let k = 0; k < 5; k++) await runner.choose('inject.mutation', opts(12));
  batch.push({ role: 'injector', reward: rng.next() * 2 - 1, group: `e${r}`, decisions: runner.decisions.slice(before) });
  for (let a = 0; a < 8; a++) {
    before = runner.decisions.length;
    const ranking = await runner.rank('solve.repair', opts(40));
    for (let k = 0; k < 16; k++) ranking.next();
    batch.push({ role: 'solver', reward: rng.next() < 0.3 ? 1 : -1, group: `bug${r}`, decisions: runner.decisions.slice(before) });
  }
}
const decisions = batch.reduce((n, t) => n + t.decisions.length, 0);
const t0 = process.hrtime.bigint();
const { stats } = onnxPolicyGradientStep(policy.weights, batch, 'bench@1', { learningRate: 0.5 });
const ms = Number(process.hrtime.bigint() - t0) / 1e6;
line(`gradient step, ${batch.length} trajectories / ${decisions} decisions`, `${ms.toFixed(0)} ms`);
line('  loss before -> after', `${stats.lossBefore.toFixed(4)} -> ${stats.lossAfter.toFixed(4)}`);
