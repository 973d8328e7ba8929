/**
 * The sandbox contract (contract.ts) on the Docker backend: one container per sandbox, from the toolchain image
 * the base directory is copied into; snapshots are committed images. Needs a running Docker engine (the test
 * fails, never skips, without one: DockerUnavailableError says how to start it).
 */
import { DockerSandboxProvider } from '../../src/sandbox/docker/provider.js';
import { ensureToolchainImage } from '../../src/sandbox/docker/images.js';
import { docker, requireEngine } from '../../src/sandbox/docker/engine.js';
import { sandboxContract } from './contract.js';

/** A local engine (unix socket) runs containers on this kernel, so their processes show in this host's /proc. */
const localEngine = !process.env.DOCKER_HOST || process.env.DOCKER_HOST.startsWith('unix://');
const providers: DockerSandboxProvider[] = [];
let image: Promise<string> | undefined;
let dataRoot = '';

sandboxContract({
  name: 'docker',
  async provider(defaults) {
    image ??= (async () => {
      await requireEngine();
      if (localEngine) dataRoot = (await docker().info()).DockerRootDir as string;
      return ensureToolchainImage();
    })();
    const p = new DockerSandboxProvider({ dirImage: await image, defaults });
    providers.push(p);
    return p;
  },
  async teardown() {
    // Containers, snapshot images and the images made from the test bases; the toolchain image stays (shared).
    for (const p of providers) await p.close();
  },
  processesOnHost: localEngine,
  workdir: '/repo',
  home: '/root',
  writableRootInside: true,
  statePaths: () => (dataRoot ? [dataRoot] : []),
  watchesHostDisk: localEngine,
  // Read from the containers' cgroups on this machine (src/sandbox/docker/cpu.ts).
  measuresCpu: localEngine,
});
