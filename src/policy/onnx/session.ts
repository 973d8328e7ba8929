import ort from 'onnxruntime-node';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/** An execution provider name as onnxruntime-node takes it ('cpu', 'cuda', ...). */
export type Provider = string;

/** A provider passed over, and why (the error onnxruntime gave when it could not create a session on it). */
export interface Fallback { provider: Provider; reason: string }

export interface ProviderSession {
  session: ort.InferenceSession;
  /** The provider that created the session: what actually runs the graph. */
  provider: Provider;
  fallbacks: Fallback[];
}

/**
 * Providers that failed to create a session in this process, with why: tried once, so the error is logged once. Shared
 * by the policy's and the trainer's sessions, since a provider library that cannot load fails the same for every graph.
 */
const unavailable = new Map<Provider, string>();

/**
 * A session on the first of `providers` (tried in order) that can create one; 'cpu' is always the last resort. Only a
 * CPU failure is thrown: it means the model itself cannot load, which the caller knows how to name.
 */
export async function createSession(bytes: Uint8Array, providers: Provider[] = ['cpu']): Promise<ProviderSession> {
  const wanted = [...providers];
  if (!wanted.includes('cpu')) wanted.push('cpu');
  const fallbacks: Fallback[] = [];
  for (const p of wanted) {
    const known = unavailable.get(p);
    if (known !== undefined) { fallbacks.push({ provider: p, reason: known }); continue; }
    try {
      const session = await ort.InferenceSession.create(bytes, { executionProviders: [p], graphOptimizationLevel: 'all' });
      return { session, provider: p, fallbacks };
    } catch (e) {
      if (p === 'cpu') throw e;
      const reason = `${(e as Error).message}${whyNot(p)}`;
      unavailable.set(p, reason);
      fallbacks.push({ provider: p, reason });
    }
  }
  throw new Error('unreachable: cpu is always tried');
}

/**
 * What is missing for the CUDA provider, said with the fallback: onnxruntime's error says only "Failed to load shared
 * library" (its log line, on stderr, names the file). The npm package holds no CUDA provider (`npm run setup:gpu`
 * puts PyPI's beside its library), and the driver's libcuda.so.1 comes from the machine.
 */
function whyNot(p: Provider): string {
  if (p !== 'cuda' || process.platform !== 'linux') return '';
  let bin: string;
  try {
    bin = path.join(path.dirname(createRequire(import.meta.url).resolve('onnxruntime-node')), '..', 'bin', 'napi-v6', 'linux', process.arch);
  } catch {
    return '';
  }
  if (!existsSync(path.join(bin, 'libonnxruntime_providers_cuda.so'))) return ` (onnxruntime-node has no CUDA provider in ${bin}: run \`npm run setup:gpu\` on this machine, again after each \`npm ci\`)`;
  const ldconfig = ['/usr/sbin/ldconfig', '/sbin/ldconfig'].find((f) => existsSync(f));
  const ld = ldconfig ? spawnSync(ldconfig, ['-p'], { encoding: 'utf8' }) : null;
  if (ld?.status === 0 && !/\blibcuda\.so\.1\b/.test(ld.stdout)) return ' (no NVIDIA driver here: libcuda.so.1 is not installed)';
  return '';
}
