import { readFile } from 'node:fs/promises';
import type { Store } from '../../store/store.js';
import { writeFileAtomic } from '../../store/fsutil.js';
import { parseVersion } from '../versions.js';
import { decodeModel, encodeModel, initialWeights, ModelFormatError, type MlpWeights } from './model.js';

/**
 * Policy versions as ONNX files: `policies/<campaign>/<step>.onnx` in the store, one immutable file per
 * (campaign, step) (an LLM policy's versions are `<step>.json` beside them). Writes are atomic (temp + rename), so a reader
 * sees a whole model or none, and the trainer can keep using "the file exists" as "the step is trained".
 */
export const onnxFile = (version: string): string => {
  const { campaign, step } = parseVersion(version);
  return `policies/${campaign}/${step}.onnx`;
};

export type PolicyModelProblem = 'missing' | 'corrupt' | 'wrong-version';

/** A model file that cannot serve a version: missing, unreadable as our ONNX model, or holding another version. */
export class PolicyModelError extends Error {
  constructor(readonly problem: PolicyModelProblem, readonly file: string, readonly version: string, detail: string, options?: { cause?: unknown }) {
    super(`policy model ${version} (${file}): ${problem}: ${detail}`, options);
    this.name = 'PolicyModelError';
  }
}

export async function hasOnnxPolicy(store: Store, version: string): Promise<boolean> {
  try {
    await readFile(store.p(onnxFile(version)));
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

export async function saveOnnxPolicy(store: Store, w: MlpWeights): Promise<string> {
  const file = store.p(onnxFile(w.version));
  await writeFileAtomic(file, Buffer.from(encodeModel(w)));
  return file;
}

/**
 * The bytes of a version's model, checked to be our format and that version. Version 0 of a campaign that has none
 * yet is created (seeded by its name, so every process creates the same bytes and a race between two is harmless)
 * and written, so that every version a rollout used exists as a file.
 */
export async function readOnnxPolicy(store: Store, version: string): Promise<{ bytes: Uint8Array; weights: MlpWeights; file: string }> {
  const rel = onnxFile(version);
  const file = store.p(rel);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new PolicyModelError('corrupt', file, version, `unreadable: ${(e as Error).message}`, { cause: e });
    if (parseVersion(version).step !== 0) throw new PolicyModelError('missing', file, version, 'no such file (was the step that produces it trained?)', { cause: e });
    await saveOnnxPolicy(store, initialWeights(version));
    bytes = await readFile(file);
  }
  let weights: MlpWeights;
  try {
    weights = decodeModel(bytes);
  } catch (e) {
    if (e instanceof ModelFormatError) throw new PolicyModelError('corrupt', file, version, e.message, { cause: e });
    throw e;
  }
  if (weights.version !== version) throw new PolicyModelError('wrong-version', file, version, `the file holds version ${weights.version}`);
  // A model of an older, narrower feature layout runs as its widened equivalent; its file stays as it was.
  if (weights.widenedFrom !== undefined) bytes = encodeModel(weights);
  return { bytes, weights, file };
}

export async function loadOnnxWeights(store: Store, version: string): Promise<MlpWeights> {
  return (await readOnnxPolicy(store, version)).weights;
}
