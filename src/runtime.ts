import path from 'node:path';
import { Store } from './store/store.js';
import { LocalSandboxProvider, warmToolchains } from './sandbox/local.js';
import type { SandboxProvider } from './sandbox/types.js';

/** Where ssr keeps its state: the store, sandboxes, the Temporal database, logs. */
export function stateDir(): string {
  return path.resolve(process.env.SSR_HOME ?? path.join(process.cwd(), '.ssr'));
}

export interface Runtime {
  home: string;
  store: Store;
  provider: SandboxProvider;
  isolation: 'bwrap' | 'none';
  /** Builds the shared toolchain caches of the sandboxes once (see sandbox/warm.ts). */
  warm(): Promise<void>;
}

export function createRuntime(opts: { home?: string; isolation?: 'bwrap' | 'none' } = {}): Runtime {
  const home = opts.home ?? stateDir();
  const isolation = opts.isolation ?? (process.env.SSR_NO_ISOLATION === '1' ? 'none' : 'bwrap');
  return {
    home,
    store: new Store(path.join(home, 'store')),
    provider: new LocalSandboxProvider({ stateDir: path.join(home, 'sandbox'), isolation }),
    isolation,
    warm: () => warmToolchains(path.join(home, 'sandbox')),
  };
}
