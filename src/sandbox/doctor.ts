/**
 * Checks, by really doing each thing once, whether this machine can run the isolated local sandbox:
 * bubblewrap with the exact flags the sandbox uses, an overlay mount in a private mount namespace, and
 * pids/memory cgroups. Each failure comes with what to do about it.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { bwrapArgs, defaultSandboxEnv, DEFAULT_READONLY_PATHS, WORKDIR, findExecutable } from './bwrap.js';
import { Cgroups } from './cgroup.js';

export interface DoctorReport {
  bwrap: boolean;
  overlay: boolean;
  cgroups: boolean;
  /** Whether a command's CPU time is measured (and so `cpuTimeoutMs` enforced): not a problem where missing. */
  cpuTime: boolean;
  problems: string[];
}

function run(argv: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const [file, ...args] = argv;
  return new Promise((resolve) => {
    if (!file) return resolve({ code: null, out: '', err: 'empty command' });
    const child = spawn(file, args, { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('error', (e) => {
      clearTimeout(timer);
      resolve({ code: null, out, err: e.message });
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

export async function sandboxDoctor(): Promise<DoctorReport> {
  const problems: string[] = [];
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'ssr-doctor-'));
  const isRoot = process.getuid?.() === 0;
  let bwrapOk = false;
  let overlayOk = false;
  let cgroupsOk = false;
  let cpuTimeOk = false;
  try {
    const bwrap = findExecutable('bwrap');
    if (!bwrap) {
      problems.push('bubblewrap is not installed: `apt-get install bubblewrap` (or run with --no-isolation, unisolated)');
    } else {
      await mkdir(path.join(tmp, 'repo'));
      await mkdir(path.join(tmp, 'home'));
      await writeFile(path.join(tmp, 'repo', 'probe'), 'ok\n');
      const args = bwrapArgs({
        merged: path.join(tmp, 'repo'),
        tmp: path.join(tmp, 'home'),
        cwd: WORKDIR,
        env: defaultSandboxEnv('/tmp'),
        readOnlyPaths: DEFAULT_READONLY_PATHS,
        maskedPaths: [],
      }).filter((a, i, all) => !(a === '--json-status-fd' || all[i - 1] === '--json-status-fd'));
      const r = await run([bwrap, ...args, '/bin/sh', '-c', 'cat probe && ! touch /usr/.ssr-doctor 2>/dev/null']);
      bwrapOk = r.code === 0 && r.out.trim() === 'ok';
      if (!bwrapOk) problems.push(`bubblewrap cannot start the sandbox (exit ${r.code}): ${r.err.trim() || r.out.trim()}`);
    }

    const unshare = findExecutable('unshare');
    if (!unshare) {
      problems.push('`unshare` (util-linux) is missing: `apt-get install util-linux`');
    } else if (!isRoot) {
      problems.push('not running as root: the local sandbox mounts an overlay per attempt and creates cgroups; run as root or use the docker sandbox');
    } else {
      const o = path.join(tmp, 'ov');
      for (const d of ['lower', 'upper', 'work', 'merged']) await mkdir(path.join(o, d), { recursive: true });
      await writeFile(path.join(o, 'lower', 'probe'), 'ok\n');
      const r = await run([
        unshare, '--mount', '--propagation', 'private', '--', '/bin/sh', '-c',
        `mount -t overlay overlay -o lowerdir=${o}/lower,upperdir=${o}/upper,workdir=${o}/work ${o}/merged && cat ${o}/merged/probe && echo x > ${o}/merged/w`,
      ]);
      overlayOk = r.code === 0 && r.out.trim() === 'ok';
      if (!overlayOk) problems.push(`overlayfs cannot be mounted in a private mount namespace (exit ${r.code}): ${r.err.trim()}; the kernel needs the overlay module (modprobe overlay) and the state dir must not itself be on an overlay that refuses nesting`);
    }

    const cg = await Cgroups.detect();
    if (!cg) {
      problems.push('no writable pids+memory cgroups (cgroup v1 /sys/fs/cgroup/{pids,memory} or v2 with both controllers): commands run without process/memory limits and background processes are killed by process group only');
    } else {
      try {
        const g = await cg.create(`doctor-${randomBytes(4).toString('hex')}`, { memoryBytes: 64 * 1024 * 1024, maxPids: 8 });
        cpuTimeOk = g.measuresCpu && (await g.cpuMs()) !== null;
        await g.remove();
        cgroupsOk = true;
      } catch (e) {
        problems.push(`cannot create a limited cgroup: ${(e as Error).message}`);
      }
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return { bwrap: bwrapOk, overlay: overlayOk, cgroups: cgroupsOk, cpuTime: cpuTimeOk, problems };
}
