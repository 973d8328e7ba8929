import path from 'node:path';
import { Store } from './store/store.js';
import { stateDirOf } from './temporal/config.js';
import { LocalSandboxProvider, warmToolchains } from './sandbox/local.js';
import { DockerSandboxProvider } from './sandbox/docker/provider.js';
import { cargoWarmer } from './repo/runners/rust-warm.js';
import { goWarmer } from './repo/runners/go-warm.js';
import { RoutingSandboxProvider, type Backend } from './sandbox/router.js';
import type { SandboxLimits } from './sandbox/types.js';

/** Where ssr keeps its state: the store, sandboxes, the Temporal database, logs. */
export function stateDir(): string {
  return stateDirOf(process.env);
}

export interface Runtime {
  home: string;
  store: Store;
  provider: RoutingSandboxProvider;
  isolation: 'bwrap' | 'none';
  /** Backend of directory repos on this worker; image repos always run in Docker. */
  sandbox: Backend;
  /** Builds the shared toolchain caches of the sandboxes once (see sandbox/warm.ts). */
  warm(): Promise<void>;
}

export function sandboxBackendFromEnv(): Backend {
  const v = process.env.SSR_SANDBOX ?? 'local';
  if (v !== 'local' && v !== 'docker') throw new Error(`SSR_SANDBOX must be local or docker, not ${v}`);
  return v;
}

export function createRuntime(opts: { home?: string; isolation?: 'bwrap' | 'none'; sandbox?: Backend; dirImage?: string; limits?: Partial<SandboxLimits> } = {}): Runtime {
  const home = opts.home ?? stateDir();
  const isolation = opts.isolation ?? (process.env.SSR_NO_ISOLATION === '1' ? 'none' : 'bwrap');
  const sandbox = opts.sandbox ?? sandboxBackendFromEnv();
  const local = new LocalSandboxProvider({ stateDir: path.join(home, 'sandbox'), isolation, defaults: opts.limits, baseWarmers: [cargoWarmer(), goWarmer()] });
  const provider = new RoutingSandboxProvider(local, () => new DockerSandboxProvider({ dirImage: opts.dirImage ?? process.env.SSR_DOCKER_DIR_IMAGE, defaults: opts.limits }), sandbox);
  return {
    home,
    store: new Store(path.join(home, 'store')),
    provider,
    isolation,
    sandbox,
    warm: () => (sandbox === 'local' ? warmToolchains(path.join(home, 'sandbox')) : Promise.resolve()),
  };
}
