/**
 * Checks, by really doing it once, whether the Docker backend can run here: the engine answers, a container with
 * no network and the sandbox's limits starts from the toolchain image, and a command runs in it. Every problem
 * comes with what to do.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { docker, imageExists, requireEngine } from './engine.js';
import { DEFAULT_DIR_IMAGE, DockerSandboxProvider } from './provider.js';

export interface DockerDoctorReport {
  engine: string | null;
  image: boolean;
  sandbox: boolean;
  /**
   * Whether commands' CPU time is measured (a local engine's containers' cgroups, read on this machine): without it the
   * CPU-time limits (the solver's probes, runs of bugs that hang) fall back to the wall clock. Not a problem.
   */
  cpuTime: boolean;
  problems: string[];
}

export async function dockerDoctor(dirImage = process.env.SSR_DOCKER_DIR_IMAGE ?? DEFAULT_DIR_IMAGE): Promise<DockerDoctorReport> {
  const r: DockerDoctorReport = { engine: null, image: false, sandbox: false, cpuTime: false, problems: [] };
  try {
    r.engine = (await requireEngine()).version;
  } catch (e) {
    r.problems.push((e as Error).message);
    return r;
  }
  r.image = await imageExists(dirImage, docker());
  if (!r.image) {
    r.problems.push(`image ${dirImage} is missing: build it with \`npm run images\` (no registry is used; it is made from Debian packages)`);
    return r;
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ssr-doctor-'));
  const provider = new DockerSandboxProvider({ dirImage, defaults: { timeoutMs: 20_000, maxPids: 32, memoryBytes: 128 * 1024 ** 2 } });
  try {
    await mkdir(path.join(dir, 'repo'));
    await writeFile(path.join(dir, 'repo', 'probe.txt'), 'ok\n');
    const sb = await provider.create({ base: path.join(dir, 'repo') });
    const res = await sb.exec('cat probe.txt; cat /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/pids.max 2>/dev/null; ls /sys/class/net');
    const lines = res.stdout.trim().split('\n');
    if (res.exitCode !== 0 || lines[0] !== 'ok') r.problems.push(`a command in a container failed (exit ${res.exitCode}): ${res.stderr.trim()}`);
    else if (lines[1] !== '34') r.problems.push(`the container's pids limit is ${lines[1] ?? 'unknown'}, not 34 (32 and the keeper's 2): the engine does not apply limits (cgroups unavailable to dockerd?)`);
    else if (lines.slice(2).some((n) => n !== 'lo')) r.problems.push(`the container has network interfaces besides lo: ${lines.slice(2).join(' ')}`);
    else r.sandbox = true;
    r.cpuTime = res.cpuMs !== undefined;
  } catch (e) {
    r.problems.push(`could not run a sandbox container: ${(e as Error).message}`);
  } finally {
    await provider.close();
    await rm(dir, { recursive: true, force: true });
  }
  return r;
}
