import ort from 'onnxruntime-node';

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
      const reason = (e as Error).message;
      unavailable.set(p, reason);
      fallbacks.push({ provider: p, reason });
    }
  }
  throw new Error('unreachable: cpu is always tried');
}
