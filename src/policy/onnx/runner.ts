import ort from 'onnxruntime-node';
import type { Store } from '../../store/store.js';
import { recordedDecision, sampleIndex, softmax, type Decision, type Option, type Policy, type Ranking } from '../policy.js';
import type { Rng } from '../rng.js';
import type { Role } from '../../trainer/gradient.js';
import { FEATURE_WIDTH, featurizeAll, roleOfGroup } from './features.js';
import { INPUT_NAME, OUTPUT_NAME, type MlpWeights } from './model.js';
import { createSession, type Fallback, type Provider, type ProviderSession } from './session.js';
import { PolicyModelError, readOnnxPolicy } from './store.js';

export type { Provider } from './session.js';

export interface OnnxPolicyOptions {
  /** Tried in order; the first that creates a session wins, and 'cpu' is always the last resort. Default ['cpu']. */
  providers?: Provider[];
}

/**
 * One policy version, loaded into an onnxruntime session. `provider` says which execution provider actually runs
 * it (a GPU worker asks for ['cuda', 'cpu'] and gets 'cpu' where the CUDA provider cannot load), `fallbacks` why
 * the ones before it were passed over.
 */
export class OnnxPolicy {
  private constructor(
    readonly version: string,
    readonly file: string,
    readonly weights: MlpWeights,
    readonly provider: Provider,
    readonly fallbacks: Fallback[],
    private readonly session: ort.InferenceSession,
  ) {}

  /** Loads without the cache: a fresh session (the tests use it to show a model survives a round trip). */
  static async open(store: Store, version: string, opts: OnnxPolicyOptions = {}): Promise<OnnxPolicy> {
    const { bytes, weights, file } = await readOnnxPolicy(store, version);
    let created: ProviderSession;
    try {
      created = await createSession(bytes, opts.providers ?? ['cpu']);
    } catch (e) {
      // Only a CPU failure gets here, and a model the CPU provider cannot load is the file's fault, not the provider's.
      throw new PolicyModelError('corrupt', file, version, `onnxruntime cannot load it: ${(e as Error).message}`, { cause: e });
    }
    return new OnnxPolicy(version, file, weights, created.provider, created.fallbacks, created.session);
  }

  /** Cached per (store, version, providers): versions are immutable, so a loaded one never goes stale. */
  static load(store: Store, version: string, opts: OnnxPolicyOptions = {}): Promise<OnnxPolicy> {
    const key = `${store.root}\u0000${version}\u0000${(opts.providers ?? ['cpu']).join(',')}`;
    let p = cache.get(key);
    if (!p) {
      p = OnnxPolicy.open(store, version, opts);
      // A failed load is not cached: the file may be written (or repaired) later.
      p.catch(() => { if (cache.get(key) === p) cache.delete(key); });
      cache.set(key, p);
      // Keep the most recent versions only: rollouts use one or two at a time. Evicted sessions are not released
      // explicitly, since a runner may still hold one; they are small (tens of KB) and go with the garbage collector.
      while (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value!);
    }
    return p;
  }

  /** One score per option; the role is the group's (`inject.*`, `solve.*`) unless given. */
  async scores(group: string, options: Option[], role: Role | null = roleOfGroup(group)): Promise<number[]> {
    if (options.length === 0) return [];
    const x = new ort.Tensor('float32', featurizeAll(group, options, role), [options.length, FEATURE_WIDTH]);
    const out = await this.session.run({ [INPUT_NAME]: x });
    return Array.from(out[OUTPUT_NAME].data as Float32Array);
  }
}

const CACHE_SIZE = 8;
const cache = new Map<string, Promise<OnnxPolicy>>();

/**
 * Samples the agents' decisions from an ONNX policy and records them: the embedded agents' Policy. Sampling is a
 * pure function of the scores and the Rng, so a seeded episode retraces its choices under the same version.
 */
export class OnnxPolicyRunner implements Policy {
  readonly decisions: Decision[] = [];
  /**
   * `role`: the role of the trajectory this runner records, used for groups whose name does not say it. The trainer
   * resolves the role the same way (the group's, else the trajectory's), so a decision is trained on the features
   * it was scored with.
   */
  constructor(readonly policy: OnnxPolicy, private readonly rng: Rng, private readonly role: Role | null = null) {}

  private roleFor(group: string): Role | null {
    return roleOfGroup(group) ?? this.role;
  }

  async choose(group: string, options: Option[]): Promise<number> {
    if (options.length === 0) throw new Error(`policy decision '${group}' has no options`);
    const i = this.sample(softmax(await this.policy.scores(group, options, this.roleFor(group))));
    this.record(group, options, i);
    return i;
  }

  /**
   * A sampled order (Plackett-Luce). The network scores each option on its own, so one inference serves every
   * pick: each pick is a softmax over the scores of the options left.
   */
  async rank(group: string, options: Option[]): Promise<Ranking> {
    const all = await this.policy.scores(group, options, this.roleFor(group));
    let left = options.map((_, i) => i);
    return {
      next: (allowed) => {
        if (allowed) left = left.filter(allowed);
        if (left.length === 0) return undefined;
        const j = this.sample(softmax(left.map((i) => all[i])));
        // A pick with no alternative is no choice: nothing to learn from it.
        if (left.length > 1) this.record(group, left.map((i) => options[i]), j);
        const [pick] = left.splice(j, 1);
        return pick;
      },
    };
  }

  private sample(probs: number[]): number {
    return sampleIndex(probs, this.rng);
  }


  private record(group: string, options: Option[], chosen: number): void {
    this.decisions.push(recordedDecision(group, options, chosen, this.rng));
  }

}
