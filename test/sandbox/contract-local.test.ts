/** The sandbox contract (contract.ts) on the local backend: bubblewrap over overlayfs, cgroups for the limits. */
import { LocalSandboxProvider } from '../../src/sandbox/local.js';
import { existsSync } from 'node:fs';
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
  // As the local provider finds them (src/sandbox/cgroup.ts): a v1 cpuacct hierarchy, or v2's cpu.stat.
  measuresCpu: existsSync('/sys/fs/cgroup/cpuacct') || existsSync('/sys/fs/cgroup/cgroup.controllers'),
});
