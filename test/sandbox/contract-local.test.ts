/** The sandbox contract (contract.ts) on the local backend: bubblewrap over overlayfs, cgroups for the limits. */
import { LocalSandboxProvider } from '../../src/sandbox/local.js';
import { cleanup, tempDir } from './helpers.js';
import { sandboxContract } from './contract.js';

const stateDirs: string[] = [];

sandboxContract({
  name: 'local',
  async provider(defaults) {
    const stateDir = await tempDir('state');
    stateDirs.push(stateDir);
    return new LocalSandboxProvider({ stateDir, isolation: 'bwrap', defaults });
  },
  async teardown() {
    await cleanup(...stateDirs);
  },
  processesOnHost: true,
  workdir: '/sandbox/repo',
  home: '/tmp',
  writableRootInside: false,
  statePaths: () => [...stateDirs],
  watchesHostDisk: true,
});
