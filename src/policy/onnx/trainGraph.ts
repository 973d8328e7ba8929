import op from 'onnx-proto';
import ort from 'onnxruntime-node';
import type { ScoredTrajectory } from '../../trainer/gradient.js';
import type { MlpWeights } from './model.js';
import { createSession, type Fallback, type Provider, type ProviderSession } from './session.js';
import { prepareBatch, preparedLoss, type OnnxStepStats, type OnnxTrainOptions, type OptionRow, type PreparedDecision, type WeightMask } from './train.js';

const { onnx } = op;
type NodeProto = op.onnx.NodeProto;
type TensorProto = op.onnx.TensorProto;
type ValueInfo = op.onnx.IValueInfoProto;

/**
 * The policy-gradient step of `onnxPolicyGradientStep` (train.ts) as ONNX graphs of standard opset-17 operators, so
 * that the runtime that scores the policy also trains it, on whichever execution provider a worker has (CUDA on a GPU
 * worker). The backward pass is written out by hand as graph nodes, exactly as train.ts writes it in TypeScript: the
 * network is two layers, so there is nothing for an autodiff (or ONNX's training-domain operators) to add.
 *
 * A batch goes in as a table and an index: XU [U, I] holds each distinct option row once, IDX [D, K] names the row of
 * decision d's option k (padded; MASK marks the real options), ONEHOT the chosen one, COEF [D] is each decision's weight
 * in the loss (from `prepareBatch`, the one place that defines it). The network runs once per distinct row and the
 * decisions gather its scores: the known-bug steps draw thousands of decisions from one bug's few hundred options, and
 * a padded [D, K, I] batch (what this graph took until session 30) ran the network and copied the rows once per
 * decision, most of a training step's time. The gradient flows back to the rows by a scatter-add of the scores'.
 */
const OPSET = 17;
const IR_VERSION = 8;

/** The weight inputs, in MlpWeights order; an updated weight is the output `${name}_NEXT`, its gradient `G_${name}`. */
export const WEIGHT_NAMES = ['W1', 'B1', 'W2', 'B2', 'SKIP'] as const;
export type WeightName = (typeof WEIGHT_NAMES)[number];
const gradName = (n: WeightName) => `G_${n}`;
export const nextName = (n: WeightName) => `${n}_NEXT`;
export const LOSS_BEFORE = 'LOSS_BEFORE';
export const GRADNORM = 'GRADNORM';

/**
 * The largest single graph run's inputs, in floats (`runFloats`: the row table and the [D, K] index and masks; 64 MB
 * at 16M): above it, a batch runs in chunks of decisions. The hidden-layer intermediates are [U, H], smaller by I/H.
 */
export const DEFAULT_CHUNK_FLOATS = 16 * 1024 * 1024;

// ---- graph building ----------------------------------------------------------------------------------------------

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;

type Attr = { name: string; i: number } | { name: string; ints: number[] } | { name: string; s: string };

function node(opType: string, input: string[], output: string, attrs: Attr[] = []): NodeProto {
  const T = onnx.AttributeProto.AttributeType;
  const attribute = attrs.map((a) => ('i' in a
    ? onnx.AttributeProto.create({ name: a.name, type: T.INT, i: a.i })
    : 'ints' in a ? onnx.AttributeProto.create({ name: a.name, type: T.INTS, ints: a.ints })
      : onnx.AttributeProto.create({ name: a.name, type: T.STRING, s: new TextEncoder().encode(a.s) })));
  return onnx.NodeProto.create({ opType, input, output: [output], name: output, attribute });
}

const floatConst = (name: string, dims: number[], values: number[]): TensorProto =>
  onnx.TensorProto.create({ name, dims, dataType: FLOAT, rawData: new Uint8Array(Float32Array.from(values).buffer) });

// rawData rather than int64Data: shape constants hold -1, and raw little-endian bytes leave no doubt about its encoding.
const int64Const = (name: string, values: number[]): TensorProto =>
  onnx.TensorProto.create({ name, dims: [values.length], dataType: INT64, rawData: new Uint8Array(BigInt64Array.from(values.map(BigInt)).buffer) });

const tensorValue = (elemType: number) => (name: string, dims: (number | string)[]): ValueInfo => ({
  name,
  type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
});
const floatValue = tensorValue(FLOAT);
const int64Value = tensorValue(INT64);

/** A piece of a graph: its nodes and the constants they read. */
interface Part { nodes: NodeProto[]; constants: TensorProto[] }

const weightValues = (I: number, H: number): ValueInfo[] => [
  floatValue('W1', [I, H]), floatValue('B1', [H]), floatValue('W2', [H, 1]), floatValue('B2', [1]), floatValue('SKIP', [I, 1]),
];
const gradValues = (I: number, H: number): ValueInfo[] => weightValues(I, H).map((v) => ({ ...v, name: gradName(v.name as WeightName) }));
const nextValues = (I: number, H: number): ValueInfo[] => weightValues(I, H).map((v) => ({ ...v, name: nextName(v.name as WeightName) }));
const batchValues = (I: number): ValueInfo[] => [
  floatValue('XU', ['rows', I]), int64Value('IDX', ['decisions', 'options']), floatValue('MASK', ['decisions', 'options']),
  floatValue('ONEHOT', ['decisions', 'options']), floatValue('COEF', ['decisions']),
];
const hyperValues: ValueInfo[] = [floatValue('LR', [1]), floatValue('MAXNORM', [1])];
const maskName = (n: WeightName) => `M_${n}`;
/** The trainable mask of each weight (train.ts's WeightMask): 1 where the step may change it, 0 where it keeps it. */
const maskValues = (I: number, H: number): ValueInfo[] => weightValues(I, H).map((v) => ({ ...v, name: maskName(v.name as WeightName) }));

/**
 * Loss −Σ_d coef_d·log softmax(scores_d)[chosen_d] and its gradient with respect to every weight (outputs G_*). The
 * network scores the U rows (every product a 2-D MatMul/Gemm; Gemm's transA gives the Xᵀ·δ products without
 * materialising a transpose), the decisions gather their options' scores, and each row's score gradient is the sum of
 * its decisions' (ScatterElements, reduction add).
 */
function gradientPart(I: number): Part {
  const n = node;
  return {
    constants: [
      int64Const('FLAT_SHAPE', [-1]), int64Const('COLUMN_SHAPE', [-1, 1]), int64Const('AXIS0', [0]), int64Const('AXIS1', [1]),
      floatConst('ONE', [], [1]), floatConst('BIG', [], [1e9]), floatConst('ZERO', [], [0]),
    ],
    nodes: [
      // Forward, as model.ts's inference graph: s = w2·tanh(W1ᵀx + b1) + b2 + skipᵀx per row.
      n('Identity', ['XU'], 'x_rows'),
      n('MatMul', ['x_rows', 'W1'], 'z1'),
      n('Add', ['z1', 'B1'], 'a1'),
      n('Tanh', ['a1'], 'h'),
      n('MatMul', ['h', 'W2'], 'mlp'),
      n('MatMul', ['x_rows', 'SKIP'], 'lin'),
      n('Add', ['mlp', 'lin'], 's1'),
      n('Add', ['s1', 'B2'], 's_rows'),
      n('Reshape', ['s_rows', 'FLAT_SHAPE'], 's_flat'),
      n('Gather', ['s_flat', 'IDX'], 'scores', [{ name: 'axis', i: 0 }]),
      // Padding scores −1e9: probability exactly 0 after the softmax, and 0·log π stays finite (−1e9, not −∞).
      n('Sub', ['MASK', 'ONE'], 'mask_m1'),
      n('Mul', ['mask_m1', 'BIG'], 'penalty'),
      n('Add', ['scores', 'penalty'], 'masked'),
      n('LogSoftmax', ['masked'], 'logp', [{ name: 'axis', i: 1 }]),
      n('Exp', ['logp'], 'p'),
      n('Mul', ['logp', 'ONEHOT'], 'logp_onehot'),
      n('ReduceSum', ['logp_onehot', 'AXIS1'], 'logp_chosen', [{ name: 'keepdims', i: 0 }]),
      n('Mul', ['logp_chosen', 'COEF'], 'weighted'),
      n('ReduceSum', ['weighted'], 'neg_loss', [{ name: 'keepdims', i: 0 }]),
      n('Neg', ['neg_loss'], LOSS_BEFORE),
      // ∂loss/∂score = coef·(π − onehot), zero on padding.
      n('Unsqueeze', ['COEF', 'AXIS1'], 'coef_col'),
      n('Sub', ['p', 'ONEHOT'], 'p_minus'),
      n('Mul', ['p_minus', 'MASK'], 'p_minus_masked'),
      n('Mul', ['p_minus_masked', 'coef_col'], 'dscores'),
      // Back to the rows: padding points at row 0 with a zero gradient, so it adds nothing.
      n('Reshape', ['dscores', 'FLAT_SHAPE'], 'dscores_flat'),
      n('Reshape', ['IDX', 'FLAT_SHAPE'], 'idx_flat'),
      n('Mul', ['s_flat', 'ZERO'], 'zero_rows'),
      n('ScatterElements', ['zero_rows', 'idx_flat', 'dscores_flat'], 'ds_flat', [{ name: 'axis', i: 0 }, { name: 'reduction', s: 'add' }]),
      n('Reshape', ['ds_flat', 'COLUMN_SHAPE'], 'ds'),
      n('ReduceSum', ['ds', 'AXIS0'], gradName('B2'), [{ name: 'keepdims', i: 0 }]),
      n('Gemm', ['h', 'ds'], gradName('W2'), [{ name: 'transA', i: 1 }]),
      n('Gemm', ['x_rows', 'ds'], gradName('SKIP'), [{ name: 'transA', i: 1 }]),
      // Through tanh: ∂loss/∂z = ds·w2ᵀ·(1 − h²).
      n('Transpose', ['W2'], 'w2_row'),
      n('Mul', ['ds', 'w2_row'], 'dh'),
      n('Mul', ['h', 'h'], 'h2'),
      n('Sub', ['ONE', 'h2'], 'dtanh'),
      n('Mul', ['dh', 'dtanh'], 'dz'),
      n('ReduceSum', ['dz', 'AXIS0'], gradName('B1'), [{ name: 'keepdims', i: 0 }]),
      n('Gemm', ['x_rows', 'dz'], gradName('W1'), [{ name: 'transA', i: 1 }]),
    ],
  };
}

/**
 * Masking, global-norm clipping and SGD from the gradients G_*: the same rule as train.ts (the gradient times the
 * trainable mask; scale = maxNorm/‖g‖ only when ‖g‖ > maxNorm, so a zero gradient is no division by zero: Where
 * picks 1 before the quotient is used).
 */
function applyPart(): Part {
  const n = node;
  const nodes: NodeProto[] = [];
  for (const w of WEIGHT_NAMES) nodes.push(n('Mul', [gradName(w), maskName(w)], `gm_${w}`), n('ReduceSumSquare', [`gm_${w}`], `sq_${w}`, [{ name: 'keepdims', i: 0 }]));
  nodes.push(
    n('Sum', WEIGHT_NAMES.map((w) => `sq_${w}`), 'sq'),
    n('Sqrt', ['sq'], GRADNORM),
    n('Greater', [GRADNORM, 'MAXNORM'], 'over'),
    n('Div', ['MAXNORM', GRADNORM], 'ratio'),
    n('Where', ['over', 'ratio', 'UNIT'], 'scale'),
    n('Mul', ['LR', 'scale'], 'step'),
  );
  for (const w of WEIGHT_NAMES) nodes.push(n('Mul', [`gm_${w}`, 'step'], `delta_${w}`), n('Sub', [w, `delta_${w}`], nextName(w)));
  return { nodes, constants: [floatConst('UNIT', [1], [1])] };
}

function encode(name: string, parts: Part[], input: ValueInfo[], output: ValueInfo[]): Uint8Array {
  const graph = onnx.GraphProto.create({
    name,
    node: parts.flatMap((p) => p.nodes),
    initializer: parts.flatMap((p) => p.constants),
    input,
    output,
  });
  const model = onnx.ModelProto.create({ irVersion: IR_VERSION, producerName: 'ssr', opsetImport: [{ domain: '', version: OPSET }], graph });
  return onnx.ModelProto.encode(model).finish();
}

/** The whole step in one graph: weights and a padded batch in, updated weights, the loss and ‖g‖ (before clipping) out. */
export function encodeTrainGraph(inputs: number, hidden: number): Uint8Array {
  return encode('ssr_policy_train_step', [gradientPart(inputs), applyPart()],
    [...weightValues(inputs, hidden), ...batchValues(inputs), ...hyperValues, ...maskValues(inputs, hidden)],
    [...nextValues(inputs, hidden), floatValue(LOSS_BEFORE, []), floatValue(GRADNORM, [])]);
}

/** The first half of the step alone: a chunk's loss and raw gradients, for batches too big for one run. */
export function encodeGradientGraph(inputs: number, hidden: number): Uint8Array {
  return encode('ssr_policy_gradient', [gradientPart(inputs)],
    [...weightValues(inputs, hidden), ...batchValues(inputs)],
    [...gradValues(inputs, hidden), floatValue(LOSS_BEFORE, [])]);
}

/** The second half alone: clipping and SGD from gradients summed over the chunks. */
export function encodeApplyGraph(inputs: number, hidden: number): Uint8Array {
  return encode('ssr_policy_apply', [applyPart()],
    [...weightValues(inputs, hidden), ...gradValues(inputs, hidden), ...hyperValues, ...maskValues(inputs, hidden)],
    [...nextValues(inputs, hidden), floatValue(GRADNORM, [])]);
}

// ---- sessions ----------------------------------------------------------------------------------------------------

type GraphKind = 'step' | 'gradient' | 'apply';
const encoders: Record<GraphKind, (inputs: number, hidden: number) => Uint8Array> = {
  step: encodeTrainGraph, gradient: encodeGradientGraph, apply: encodeApplyGraph,
};

/** Per (graph, shape, providers): every step of a campaign runs the same graph, only the inputs change. */
const sessions = new Map<string, Promise<ProviderSession>>();

function trainSession(kind: GraphKind, w: MlpWeights, providers: Provider[]): Promise<ProviderSession> {
  const key = `${kind}\u0000${w.inputs}x${w.hidden}\u0000${providers.join(',')}`;
  let s = sessions.get(key);
  if (!s) {
    s = createSession(encoders[kind](w.inputs, w.hidden), providers);
    // A failure here is a bug in the graph (the CPU provider refused it): not cached, so a fix needs no restart.
    s.catch(() => { if (sessions.get(key) === s) sessions.delete(key); });
    sessions.set(key, s);
  }
  return s;
}

// ---- feeding and reading -----------------------------------------------------------------------------------------

type Feeds = Record<string, ort.Tensor>;
const f32 = (data: Float32Array, dims: number[]) => new ort.Tensor('float32', data, dims);

function weightFeeds(w: MlpWeights): Feeds {
  return {
    W1: f32(w.w1, [w.inputs, w.hidden]), B1: f32(w.b1, [w.hidden]), W2: f32(w.w2, [w.hidden, 1]),
    B2: f32(new Float32Array([w.b2]), [1]), SKIP: f32(w.skip, [w.inputs, 1]),
  };
}

/** The trainable masks as inputs: all ones when the step trains every weight. */
function maskFeeds(w: MlpWeights, m: WeightMask | undefined): Feeds {
  const ones = (n: number) => new Float32Array(n).fill(1);
  return {
    M_W1: f32(m?.w1 ?? ones(w.w1.length), [w.inputs, w.hidden]), M_B1: f32(m?.b1 ?? ones(w.hidden), [w.hidden]),
    M_W2: f32(m?.w2 ?? ones(w.hidden), [w.hidden, 1]), M_B2: f32(new Float32Array([m?.b2 ?? 1]), [1]),
    M_SKIP: f32(m?.skip ?? ones(w.inputs), [w.inputs, 1]),
  };
}

/**
 * The decisions' distinct option rows (by `PreparedDecision.rows`: one object per distinct row) as the table XU,
 * scattered from the sparse rows `prepareBatch` built, and each decision's options as indices into it, padded to the
 * most options among them.
 */
function batchFeeds(ds: PreparedDecision[], inputs: number): Feeds {
  const D = ds.length, K = Math.max(...ds.map((d) => d.n));
  const table = new Map<OptionRow, number>();
  const idx = new BigInt64Array(D * K), mask = new Float32Array(D * K), onehot = new Float32Array(D * K), coef = new Float32Array(D);
  ds.forEach((d, i) => {
    for (let r = 0; r < d.n; r++) {
      let u = table.get(d.rows[r]);
      if (u === undefined) table.set(d.rows[r], (u = table.size));
      idx[i * K + r] = BigInt(u);
      mask[i * K + r] = 1;
    }
    onehot[i * K + d.chosen] = 1;
    coef[i] = d.coef;
  });
  const x = new Float32Array(table.size * inputs);
  for (const [row, u] of table) row.idx.forEach((f, k) => { x[u * inputs + f] = row.val[k]; });
  return { XU: f32(x, [table.size, inputs]), IDX: new ort.Tensor('int64', idx, [D, K]), MASK: f32(mask, [D, K]), ONEHOT: f32(onehot, [D, K]), COEF: f32(coef, [D]) };
}

function floats(out: ort.InferenceSession.OnnxValueMapType, name: string): Float32Array {
  const t = out[name];
  if (!t || t.type !== 'float32') throw new Error(`train graph output ${name} is ${t ? t.type : 'missing'}, expected float32`);
  // A copy: the weights outlive the run, and must not share a buffer onnxruntime handed out.
  return Float32Array.from(t.data as Float32Array);
}

function nextWeights(w: MlpWeights, out: ort.InferenceSession.OnnxValueMapType, version: string): MlpWeights {
  return {
    version, inputs: w.inputs, hidden: w.hidden,
    w1: floats(out, nextName('W1')), b1: floats(out, nextName('B1')), w2: floats(out, nextName('W2')),
    b2: floats(out, nextName('B2'))[0], skip: floats(out, nextName('SKIP')),
  };
}

/** The floats a graph run of these decisions is fed: the table of their distinct rows, and IDX, MASK and ONEHOT. */
export function runFloats(ds: PreparedDecision[], inputs: number): number {
  return new Set<OptionRow>(ds.flatMap((d) => d.rows)).size * inputs + 3 * ds.length * Math.max(0, ...ds.map((d) => d.n));
}

/** Consecutive runs of decisions whose graph run is fed at most `maxFloats` (`runFloats`; one decision per chunk at the least). */
export function chunkDecisions(ds: PreparedDecision[], inputs: number, maxFloats: number): PreparedDecision[][] {
  const chunks: PreparedDecision[][] = [];
  let cur: PreparedDecision[] = [], widest = 0;
  let rows = new Set<OptionRow>();
  for (const d of ds) {
    const k = Math.max(widest, d.n);
    const added = d.rows.filter((r) => !rows.has(r)).length;
    if (cur.length > 0 && (rows.size + added) * inputs + 3 * (cur.length + 1) * k > maxFloats) { chunks.push(cur); cur = []; widest = 0; rows = new Set(); }
    cur.push(d);
    for (const r of d.rows) rows.add(r);
    widest = Math.max(widest, d.n);
  }
  if (cur.length > 0) chunks.push(cur);
  return chunks;
}

// ---- the step ----------------------------------------------------------------------------------------------------

export interface OnnxGraphTrainOptions extends OnnxTrainOptions {
  /** Execution providers, tried in order; 'cpu' is always the last resort. Default ['cpu']. */
  providers?: Provider[];
  /** Largest input of one graph run, in floats (`runFloats`; default DEFAULT_CHUNK_FLOATS); bigger batches run in chunks. */
  chunkFloats?: number;
  /**
   * false: leave `stats.lossAfter` NaN and return the prepared decisions (`prepared`) instead, for a caller that
   * reports the loss of only the last of many steps: the loss of the new weights is a TypeScript pass over the whole
   * batch that took longer than the graph's step itself (the known-bug steps, 10 a training step).
   */
  lossAfter?: boolean;
}

export interface OnnxGraphStepResult {
  weights: MlpWeights;
  stats: OnnxStepStats;
  /** The provider that ran the gradient, or null when the batch carried no gradient and no graph ran. */
  provider: Provider | null;
  fallbacks: Fallback[];
  /** With `lossAfter: false`: the step's decisions, whose loss under `weights` (`preparedLoss`) is its lossAfter. */
  prepared?: PreparedDecision[];
}

interface GraphRun { next: MlpWeights; gradNorm: number; lossBefore: number; ran: ProviderSession }

/**
 * `onnxPolicyGradientStep` run by onnxruntime: the same prepared decisions, the same loss, gradient, clipping and SGD,
 * in float32 on the first provider of `opts.providers` that loads. The new weights agree with the TypeScript step to
 * float32 rounding (a test holds them within 1e-4); lossAfter is the TypeScript loss of the new weights.
 */
export async function trainStepOnnx(w: MlpWeights, batch: ScoredTrajectory[], nextVersion: string, opts: OnnxGraphTrainOptions): Promise<OnnxGraphStepResult> {
  const { decisions, trajectories, meanAdvantageAbs } = prepareBatch(batch);
  const base = { trajectories, decisions: decisions.length, meanAdvantageAbs };
  if (decisions.length === 0) {
    // Nothing to learn from: the TypeScript step would subtract lr·0; skip the session altogether.
    const same: MlpWeights = { ...w, version: nextVersion, w1: w.w1.slice(), b1: w.b1.slice(), w2: w.w2.slice(), skip: w.skip.slice() };
    return { weights: same, stats: { ...base, gradNorm: 0, clipped: false, lossBefore: 0, lossAfter: 0 }, provider: null, fallbacks: [] };
  }
  const maxNorm = opts.maxGradNorm ?? 1;
  const hyper: Feeds = { LR: f32(new Float32Array([opts.learningRate]), [1]), MAXNORM: f32(new Float32Array([maxNorm]), [1]), ...maskFeeds(w, opts.trainable) };
  const providers = opts.providers ?? ['cpu'];
  const chunks = chunkDecisions(decisions, w.inputs, opts.chunkFloats ?? DEFAULT_CHUNK_FLOATS);
  const run = chunks.length === 1
    ? await runWhole(w, chunks[0], hyper, providers, nextVersion)
    : await runChunked(w, chunks, hyper, providers, nextVersion);
  const deferred = opts.lossAfter === false;
  const lossAfter = deferred ? NaN : preparedLoss(run.next, decisions);
  return {
    weights: run.next,
    // The graph clipped when its float32 ‖g‖ exceeded the float32 maxNorm: the same comparison, here.
    stats: { ...base, gradNorm: run.gradNorm, clipped: run.gradNorm > Math.fround(maxNorm), lossBefore: run.lossBefore, lossAfter },
    provider: run.ran.provider,
    fallbacks: run.ran.fallbacks,
    ...(deferred ? { prepared: decisions } : {}),
  };
}

/** One run of the whole-step graph: the batch, gradient and update never leave the provider's memory. */
async function runWhole(w: MlpWeights, ds: PreparedDecision[], hyper: Feeds, providers: Provider[], version: string): Promise<GraphRun> {
  const ran = await trainSession('step', w, providers);
  const out = await ran.session.run({ ...weightFeeds(w), ...batchFeeds(ds, w.inputs), ...hyper });
  return { next: nextWeights(w, out, version), gradNorm: floats(out, GRADNORM)[0], lossBefore: floats(out, LOSS_BEFORE)[0], ran };
}

/**
 * A batch too big for one run: the gradient graph per chunk, gradients summed here (float64), then the apply graph.
 * The two graphs are built from the very node lists the whole-step graph is made of (gradientPart, applyPart), so the
 * step has one definition whichever way it runs. The sum over chunks is the only arithmetic outside a graph, and it
 * changes nothing: the loss is a sum over decisions, so its gradient is the sum of the chunks' gradients. Doing the
 * norm and SGD in TypeScript instead would have made a second copy of the clipping rule to keep in step with the graph.
 */
async function runChunked(w: MlpWeights, chunks: PreparedDecision[][], hyper: Feeds, providers: Provider[], version: string): Promise<GraphRun> {
  const ran = await trainSession('gradient', w, providers);
  const sums = new Map<WeightName, Float64Array>();
  let lossBefore = 0;
  for (const chunk of chunks) {
    const out = await ran.session.run({ ...weightFeeds(w), ...batchFeeds(chunk, w.inputs) });
    for (const n of WEIGHT_NAMES) {
      const g = floats(out, gradName(n));
      const s = sums.get(n) ?? sums.set(n, new Float64Array(g.length)).get(n)!;
      for (let i = 0; i < g.length; i++) s[i] += g[i];
    }
    lossBefore += floats(out, LOSS_BEFORE)[0];
  }
  const gradFeeds: Feeds = {};
  const dims = weightFeeds(w);
  for (const n of WEIGHT_NAMES) gradFeeds[gradName(n)] = f32(Float32Array.from(sums.get(n)!), [...dims[n].dims]);
  // The apply graph is tiny (a few thousand floats); created with the same providers, it lands where the gradient ran.
  const apply = await trainSession('apply', w, providers);
  const out = await apply.session.run({ ...dims, ...gradFeeds, ...hyper });
  return { next: nextWeights(w, out, version), gradNorm: floats(out, GRADNORM)[0], lossBefore, ran };
}
