import op from 'onnx-proto';
import { PRIOR } from '../policy.js';
import { Rng } from '../rng.js';
import { FEATURE_LAYOUT, FEATURE_WIDTH, GROUP_SLOTS, KEY_BUCKETS, NUMERIC, OFF_GROUP_KEY, OFF_GROUP_NUMERIC, OFF_NUMERIC, groupSlot } from './features.js';

const { onnx } = op;

/**
 * The embedded policy network, one for both roles: score(x) = w2 · tanh(W1ᵀx + b1) + b2 + skipᵀx, one score per
 * option, π = softmax over the options of a decision. The linear skip path is a log-linear policy (its
 * features include per-group copies of the key tokens and numeric features), so the network is a strict superset
 * of it and version 0 can be exactly today's prior; the tanh layer adds the interactions a linear model cannot
 * express (role × group × key × size).
 */
export interface MlpWeights {
  version: string;
  inputs: number;
  hidden: number;
  /** [inputs, hidden], row-major: the layout of the ONNX MatMul initializer. */
  w1: Float32Array;
  b1: Float32Array;
  w2: Float32Array;
  b2: number;
  skip: Float32Array;
  /** Set when the file was saved in an older feature layout (named here) and mapped onto today's on reading. */
  widenedFrom?: string;
}

export const MODEL_FORMAT = 'ssr-policy-mlp/1';
export const DEFAULT_HIDDEN = 32;
export const INPUT_NAME = 'features';
export const OUTPUT_NAME = 'scores';
const OPSET = 17;
const IR_VERSION = 8;

/** A model file that is not one of ours, or not of this format or feature layout. */
export class ModelFormatError extends Error {
  constructor(message: string) { super(message); this.name = 'ModelFormatError'; }
}

/**
 * Version 0: W1 random (seeded, so every campaign's version 0 is reproducible), w2 = 0 so the tanh layer adds
 * nothing yet, and the skip path carries the PRIOR's per-group weights. Its scores are therefore exactly the
 * prior's linear scores, to float32 precision. With w2 = 0 the first step only moves w2 and the skip path; W1 starts
 * learning from the second step, which costs one step and buys an exact prior.
 */
export function initialWeights(version: string, seed: string | number = version, hidden = DEFAULT_HIDDEN): MlpWeights {
  const rng = new Rng(seed);
  const first = VERSION0_DRAW;
  // An option activates about 8-12 inputs (one-hots, a few tokens, the numeric features twice): scale for that fan-in,
  // not for the full width, or tanh would start almost linear and almost flat.
  const a = Math.sqrt(3 / 10);
  const w1 = new Float32Array(first.width * hidden);
  for (let i = 0; i < w1.length; i++) w1[i] = (2 * rng.next() - 1) * a;
  const { widenedFrom: _, ...w } = widen({ version, inputs: first.width, hidden, w1, b1: new Float32Array(hidden), w2: new Float32Array(hidden), b2: 0, skip: new Float32Array(first.width) }, first);
  for (const [group, p] of Object.entries(PRIOR)) {
    p.slice(0, NUMERIC).forEach((v, i) => { w.skip[OFF_GROUP_NUMERIC + groupSlot(group) * NUMERIC + i] = v; });
  }
  return w;
}

export function withVersion(w: MlpWeights, version: string): MlpWeights {
  return { ...w, version };
}

const floatTensor = (name: string, dims: number[], data: Float32Array) =>
  onnx.TensorProto.create({ name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)) });

const node = (opType: string, input: string[], output: string[]) => onnx.NodeProto.create({ opType, input, output, name: output[0] });

/** The weights as an ONNX model: initializers named W1, B1, W2, B2, SKIP; metadata holds the version and formats. */
export function encodeModel(w: MlpWeights): Uint8Array {
  check(w);
  const graph = onnx.GraphProto.create({
    name: 'ssr_policy',
    node: [
      node('MatMul', [INPUT_NAME, 'W1'], ['z1']),
      node('Add', ['z1', 'B1'], ['a1']),
      node('Tanh', ['a1'], ['h']),
      node('MatMul', ['h', 'W2'], ['mlp']),
      node('MatMul', [INPUT_NAME, 'SKIP'], ['lin']),
      node('Add', ['mlp', 'lin'], ['s1']),
      node('Add', ['s1', 'B2'], ['s2']),
      node('Squeeze', ['s2', 'AXES'], [OUTPUT_NAME]),
    ],
    initializer: [
      floatTensor('W1', [w.inputs, w.hidden], w.w1),
      floatTensor('B1', [w.hidden], w.b1),
      floatTensor('W2', [w.hidden, 1], w.w2),
      floatTensor('B2', [1], new Float32Array([w.b2])),
      floatTensor('SKIP', [w.inputs, 1], w.skip),
      onnx.TensorProto.create({ name: 'AXES', dims: [1], dataType: onnx.TensorProto.DataType.INT64, int64Data: [1] }),
    ],
    input: [{ name: INPUT_NAME, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [{ dimParam: 'options' }, { dimValue: w.inputs }] } } } }],
    output: [{ name: OUTPUT_NAME, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [{ dimParam: 'options' }] } } } }],
  });
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    producerName: 'ssr',
    opsetImport: [{ domain: '', version: OPSET }],
    metadataProps: [
      { key: 'ssr.format', value: MODEL_FORMAT },
      { key: 'ssr.version', value: w.version },
      { key: 'ssr.features', value: FEATURE_LAYOUT },
    ],
    graph,
  });
  return onnx.ModelProto.encode(model).finish();
}

/** Reads the weights back from the initializers; refuses anything that is not this format and feature layout. */
export function decodeModel(bytes: Uint8Array): MlpWeights {
  let m: op.onnx.ModelProto;
  try {
    m = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new ModelFormatError(`not an ONNX model: ${(e as Error).message}`);
  }
  const meta = new Map((m.metadataProps ?? []).map((p) => [p.key, p.value]));
  if (meta.get('ssr.format') !== MODEL_FORMAT) throw new ModelFormatError(`model format '${meta.get('ssr.format') ?? '(none)'}', expected '${MODEL_FORMAT}'`);
  const layout = meta.get('ssr.features');
  const from = layout === FEATURE_LAYOUT ? null : olderLayout(layout);
  if (layout !== FEATURE_LAYOUT && from === null) throw new ModelFormatError(`feature layout '${layout ?? '(none)'}', expected '${FEATURE_LAYOUT}'`);
  const version = meta.get('ssr.version');
  if (!version) throw new ModelFormatError('model has no ssr.version');
  const init = new Map((m.graph?.initializer ?? []).map((t) => [t.name, t]));
  const read = (name: string): { dims: number[]; data: Float32Array } => {
    const t = init.get(name);
    if (!t) throw new ModelFormatError(`initializer ${name} missing`);
    const dims = (t.dims ?? []).map(Number);
    const n = dims.reduce((a, b) => a * b, 1);
    let data: Float32Array;
    if (t.rawData && t.rawData.length > 0) {
      // Copy: protobufjs hands out a view into the file buffer at an arbitrary (possibly unaligned) offset.
      data = new Float32Array(new Uint8Array(t.rawData).buffer);
    } else {
      data = Float32Array.from(t.floatData ?? []);
    }
    if (data.length !== n) throw new ModelFormatError(`initializer ${name} has ${data.length} values for dims [${dims}]`);
    return { dims, data };
  };
  const w1 = read('W1');
  if (w1.dims.length !== 2) throw new ModelFormatError(`W1 has dims [${w1.dims}]`);
  const [inputs, hidden] = w1.dims;
  const w: MlpWeights = { version, inputs, hidden, w1: w1.data, b1: read('B1').data, w2: read('W2').data, b2: read('B2').data[0], skip: read('SKIP').data };
  if (from) {
    check(w, from.width);
    return widen(w, from);
  }
  check(w);
  return w;
}

const LAYOUT = /^ssr-features\/(\d+):r(\d+)g(\d+)k(\d+)n(\d+)$/;

/**
 * An older layout today's inputs can hold exactly: layout 1 (one group·key block both roles shared) or today's with
 * fewer numeric features; null for any other.
 */
interface OlderLayout { name: string; layout: 1 | 2; numeric: number; width: number }

/**
 * The shape version 0 is drawn in: layout 1's, mapped as a layout-1 file is (both roles' group·key halves start from
 * the same rows), so that a version 0 of a given seed is the network it was before layout 2 split that block.
 */
const VERSION0_DRAW: OlderLayout = { name: '', layout: 1, numeric: NUMERIC, width: FEATURE_WIDTH - KEY_BUCKETS };
function olderLayout(layout: string | null | undefined): OlderLayout | null {
  const m = LAYOUT.exec(layout ?? ''), now = LAYOUT.exec(FEATURE_LAYOUT)!;
  if (!m || !['1', '2'].includes(m[1]) || m[2] !== now[2] || m[3] !== now[3] || m[4] !== now[4]) return null;
  const v = Number(m[1]) as 1 | 2, n = Number(m[5]);
  if (n > NUMERIC || (v === 2 && n === NUMERIC)) return null;
  return { name: layout!, layout: v, numeric: n, width: OFF_GROUP_KEY + v * KEY_BUCKETS + n + GROUP_SLOTS * n };
}

/**
 * A model saved in an older layout (a campaign from before a layout change), mapped onto today's inputs so that it
 * scores every option exactly as it did: each weight moves to its input's new position; layout 1's one group·key
 * block, which both roles' options set, is copied into both roles' halves (an option sets one of them); features
 * the old layout lacked get weight 0 until training gives them some. The file itself is never rewritten: versions
 * are immutable.
 */
function widen(w: MlpWeights, from: OlderLayout): MlpWeights {
  const offNumeric = OFF_GROUP_KEY + from.layout * KEY_BUCKETS, n = from.numeric;
  const at = (i: number): number[] => {
    if (i < OFF_GROUP_KEY) return [i];
    if (i < offNumeric) return from.layout === 1 ? [i, i + KEY_BUCKETS] : [i];
    if (i < offNumeric + n) return [OFF_NUMERIC + i - offNumeric];
    const g = i - offNumeric - n;
    return [OFF_GROUP_NUMERIC + Math.floor(g / n) * NUMERIC + (g % n)];
  };
  const w1 = new Float32Array(FEATURE_WIDTH * w.hidden), skip = new Float32Array(FEATURE_WIDTH);
  for (let i = 0; i < w.inputs; i++) {
    for (const j of at(i)) {
      w1.set(w.w1.subarray(i * w.hidden, (i + 1) * w.hidden), j * w.hidden);
      skip[j] = w.skip[i];
    }
  }
  return { ...w, inputs: FEATURE_WIDTH, w1, skip, widenedFrom: from.name };
}

function check(w: MlpWeights, width = FEATURE_WIDTH): void {
  if (w.inputs !== width) throw new ModelFormatError(`model has ${w.inputs} inputs, the featurizer makes ${width}`);
  if (w.w1.length !== w.inputs * w.hidden || w.b1.length !== w.hidden || w.w2.length !== w.hidden || w.skip.length !== w.inputs) {
    throw new ModelFormatError(`weight shapes do not agree with inputs=${w.inputs}, hidden=${w.hidden}`);
  }
}

/** Rows of an input matrix as their non-zero entries: an option activates about a dozen of the inputs. */
export interface SparseRows { n: number; start: Int32Array; idx: Int32Array; val: Float64Array }

export function toSparse(x: Float32Array, n: number, width: number): SparseRows {
  const start = new Int32Array(n + 1);
  const idx: number[] = [], val: number[] = [];
  for (let r = 0; r < n; r++) {
    start[r] = idx.length;
    for (let f = 0; f < width; f++) { const v = x[r * width + f]; if (v !== 0) { idx.push(f); val.push(v); } }
  }
  start[n] = idx.length;
  return { n, start, idx: Int32Array.from(idx), val: Float64Array.from(val) };
}

/**
 * The same function as the ONNX graph, in TypeScript (float64 arithmetic over the float32 weights): the trainer
 * differentiates this, and a test holds it equal to onnxruntime's output. `x` is [n, inputs] row-major.
 * `hiddenOut`, when given ([n, hidden]), receives tanh activations for backprop.
 */
export function forward(w: MlpWeights, x: Float32Array, n: number, hiddenOut?: Float64Array): Float64Array {
  return forwardSparse(w, toSparse(x, n, w.inputs), hiddenOut);
}

export function forwardSparse(w: MlpWeights, x: SparseRows, hiddenOut?: Float64Array): Float64Array {
  const H = w.hidden;
  const out = new Float64Array(x.n);
  const z = new Float64Array(H);
  for (let r = 0; r < x.n; r++) {
    z.set(w.b1);
    let s = w.b2;
    for (let k = x.start[r]; k < x.start[r + 1]; k++) {
      const f = x.idx[k], v = x.val[k];
      s += v * w.skip[f];
      const row = f * H;
      for (let j = 0; j < H; j++) z[j] += v * w.w1[row + j];
    }
    for (let j = 0; j < H; j++) {
      const h = Math.tanh(z[j]);
      if (hiddenOut) hiddenOut[r * H + j] = h;
      s += w.w2[j] * h;
    }
    out[r] = s;
  }
  return out;
}
