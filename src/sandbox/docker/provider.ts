/**
 * The Docker sandbox backend: one container per attempt, created from the repository's image (or from a snapshot
 * image of the buggy state), with no network, memory/CPU/pids limits, every capability dropped, and labels that
 * name its campaign, episode and attempt. A snapshot is `docker commit` of the container: the N solver attempts
 * start from that image in well under a second, without re-applying any patch.
 *
 * A base is a host directory, as for the local backend. Either it is the host mirror of an image repository
 * (see imageRepo.ts: its sandboxes start from that image), or any other directory, which is copied once into the
 * toolchain image (`dirImage`) and committed as an image of its own.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import type Docker from 'dockerode';
import { Mutex, normalizeRel, READ_SCRIPT, readResult, WRITE_SCRIPT, writeResult } from '../common.js';
import { SandboxError } from '../errors.js';
import { DEFAULT_LIMITS, type ExecOptions, type ExecResult, type Sandbox, type SandboxLimits, type SandboxProvider, type SnapshotRef } from '../types.js';
import { docker, LABEL, managedLabels, requireEngine } from './engine.js';
import { dockerExec, readCounters, type Counters } from './exec.js';
import { containerCpuReader, type CpuReader } from './cpu.js';
import { fileSizeKill, fsizeLimit, type DiskWatch } from '../disk.js';
import { existsSync } from 'node:fs';
import { readImageMarker } from './imageRepo.js';

export const DEFAULT_DIR_IMAGE = 'ssr/toolchains:bookworm';
/** Where a host-directory base lives inside its container: a path no host tree shares. */
export const DIR_WORKDIR = '/repo';
const READ_FILE_CAP = 256 * 1024 * 1024;
const KEEPER = 'while :; do sleep 3600 & wait; done';

/** A snapshot image was removed (its episode ended); whoever holds the ref builds the state again. */
export class SnapshotGoneError extends SandboxError {
  override readonly name: string = 'SnapshotGoneError';
}

export interface DockerProviderOptions {
  /** Image that plain host-directory bases are copied into: it must hold the toolchains their tests need. */
  dirImage?: string;
  defaults?: Partial<SandboxLimits>;
  /** CPUs one container may use. */
  cpus?: number;
  /** Labels added to everything this provider creates. */
  labels?: Record<string, string>;
  engine?: Docker;
}

interface Origin { image: string; workdir: string }

export class DockerSandboxProvider implements SandboxProvider {
  readonly name = 'docker';
  readonly defaults: SandboxLimits;
  private readonly d: Docker;
  private readonly dirImages = new Map<string, Promise<string>>();
  private readonly live = new Set<DockerSandbox>();
  private readonly snapshots = new Set<string>();
  private readonly imageWorkdirs = new Map<string, string>();
  private engineChecked: Promise<unknown> | null = null;
  private dataRoot: Promise<string | null> | null = null;

  constructor(private readonly opts: DockerProviderOptions = {}) {
    this.d = opts.engine ?? docker();
    this.defaults = { ...DEFAULT_LIMITS, ...opts.defaults };
  }

  async create(from: { base: string } | SnapshotRef, limits?: Partial<SandboxLimits>, labels: Record<string, string> = {}): Promise<Sandbox> {
    this.engineChecked ??= requireEngine(this.d).catch((e) => { this.engineChecked = null; throw e; });
    await this.engineChecked;
    const origin = 'layers' in from ? await this.snapshotOrigin(from) : await this.baseOrigin(from.base);
    const base = from.base;
    const lim = { ...this.defaults, ...limits };
    const container = await this.d.createContainer({
      Image: origin.image,
      Entrypoint: [],
      // PID 1 is a shell that reaps every orphan and restarts its sleep: commands end with `kill -9 -1`, which
      // spares only PID 1, and an init that exits with its child (docker-init) would stop the container.
      Cmd: ['/bin/sh', '-c', KEEPER],
      WorkingDir: origin.workdir,
      User: '0:0',
      NetworkDisabled: true,
      Labels: managedLabels('attempt', { ...this.opts.labels, ...labels, [LABEL.source]: base.slice(-200) }),
      HostConfig: {
        NetworkMode: 'none',
        Memory: lim.memoryBytes,
        MemorySwap: lim.memoryBytes,
        // The keeper (a shell and its sleep) must not take slots from the commands.
        PidsLimit: lim.maxPids + 2,
        NanoCpus: Math.round((this.opts.cpus ?? 1) * 1e9),
        // The engine hands these to setrlimit as they are: RLIMIT_FSIZE is in bytes.
        Ulimits: [{ Name: 'fsize', Soft: fsizeLimit(lim.maxFileBytes), Hard: fsizeLimit(lim.maxFileBytes) }],
        CapDrop: ['ALL'],
        SecurityOpt: ['no-new-privileges'],
        LogConfig: { Type: 'none', Config: {} },
      },
    });
    try {
      await container.start();
    } catch (e) {
      await container.remove({ force: true }).catch(() => undefined);
      throw new SandboxError(`could not start a container from ${origin.image}: ${(e as Error).message}`);
    }
    // A local engine's (its data root is on this machine): its containers' cgroups are readable here too.
    const diskRoot = await this.diskRoot();
    const cpu = diskRoot !== null ? await containerCpuReader((await container.inspect()).State.Pid) : null;
    const sb = new DockerSandbox(this, container, origin.workdir, base, lim, { ...this.opts.labels, ...labels }, diskRoot, cpu);
    this.live.add(sb);
    return sb;
  }

  /**
   * The engine's data root, where containers' writable layers live, when it is on this machine's filesystem (a
   * local engine): the disk watchdog polls it. A remote engine's disk is its own; RLIMIT_FSIZE still holds there.
   */
  private diskRoot(): Promise<string | null> {
    this.dataRoot ??= (async () => {
      const host = process.env.DOCKER_HOST;
      if (host && !host.startsWith('unix://')) return null;
      const root = ((await this.d.info()) as { DockerRootDir?: string }).DockerRootDir;
      return root && existsSync(root) ? root : null;
    })().catch(() => { this.dataRoot = null; return null; });
    return this.dataRoot;
  }

  /** Commits a container as a snapshot image; the image is this provider's to remove (see release/close). */
  async commit(container: Docker.Container, workdir: string, labels: Record<string, string>): Promise<string> {
    const all = managedLabels('snapshot', { ...this.opts.labels, ...labels, workdir });
    const change = `LABEL ${Object.entries(all).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ')}`;
    const r = (await container.commit({ pause: true, changes: change })) as { Id: string };
    this.snapshots.add(r.Id);
    this.imageWorkdirs.set(r.Id, workdir);
    return r.Id;
  }

  forget(sb: DockerSandbox): void {
    this.live.delete(sb);
  }

  /** Removes the containers and snapshot images carrying all these labels (an episode's, at its end). */
  async release(labels: Record<string, string>): Promise<{ containers: number; images: number }> {
    // No labels would match everything ssr made on this engine, other workers' live sandboxes included.
    if (!Object.keys(labels).length) throw new SandboxError('release needs at least one label');
    const filters = { label: [`${LABEL.managed}=1`, ...Object.entries(labels).map(([k, v]) => `${k.startsWith('ssr.') ? k : `ssr.${k}`}=${v}`)] };
    let containers = 0;
    let images = 0;
    for (const c of await this.d.listContainers({ all: true, filters })) {
      await this.d.getContainer(c.Id).remove({ force: true }).then(() => containers++, () => undefined);
    }
    for (const i of await this.d.listImages({ filters })) {
      if (i.Labels?.[LABEL.kind] !== 'snapshot') continue;
      await this.d.getImage(i.Id).remove({ force: true }).then(() => images++, () => undefined);
      this.snapshots.delete(i.Id);
    }
    for (const sb of [...this.live]) if (Object.entries(labels).every(([k, v]) => sb.labels[k] === v)) sb.markGone();
    return { containers, images };
  }

  /** Disposes every live sandbox and removes every snapshot and directory image this provider made. */
  async close(): Promise<void> {
    for (const sb of [...this.live]) await sb.dispose();
    for (const id of this.snapshots) await this.d.getImage(id).remove({ force: true }).catch(() => undefined);
    this.snapshots.clear();
    for (const p of this.dirImages.values()) {
      const ref = await p.catch(() => null);
      if (ref) await this.d.getImage(ref).remove({ force: true }).catch(() => undefined);
    }
    this.dirImages.clear();
  }

  private async snapshotOrigin(ref: SnapshotRef): Promise<Origin> {
    if (ref.backend !== 'docker') throw new SandboxError(`snapshot of backend '${ref.backend}' cannot start a docker sandbox`);
    const image = ref.layers[0];
    if (!image) throw new SandboxError('docker snapshot has no image');
    let workdir = this.imageWorkdirs.get(image);
    if (!workdir) {
      try {
        const info = await this.d.getImage(image).inspect();
        workdir = info.Config?.Labels?.['ssr.workdir'] ?? info.Config?.WorkingDir ?? DIR_WORKDIR;
      } catch (e) {
        if ((e as { statusCode?: number }).statusCode === 404) throw new SnapshotGoneError(`snapshot image ${image.slice(0, 19)} is gone`);
        throw e;
      }
      this.imageWorkdirs.set(image, workdir);
    }
    return { image, workdir };
  }

  private async baseOrigin(base: string): Promise<Origin> {
    const marker = await readImageMarker(base);
    if (marker) return { image: marker.imageId, workdir: marker.workdir };
    const key = await dirKey(base);
    let p = this.dirImages.get(key);
    if (!p) {
      p = this.buildDirImage(base, key);
      this.dirImages.set(key, p);
      p.catch(() => this.dirImages.delete(key));
    }
    return { image: await p, workdir: DIR_WORKDIR };
  }

  /** Copies a host directory into the toolchain image once and commits it: later sandboxes over it start from that image. */
  private async buildDirImage(dir: string, key: string): Promise<string> {
    const from = this.opts.dirImage ?? DEFAULT_DIR_IMAGE;
    const c = await this.d.createContainer({
      Image: from, Entrypoint: [], Cmd: ['true'], NetworkDisabled: true, Labels: managedLabels('build', { [LABEL.source]: dir.slice(-200) }),
      HostConfig: { NetworkMode: 'none' },
    }).catch((e: Error) => {
      throw new SandboxError(`cannot create a container from ${from} (build it with \`npm run images\`): ${e.message}`);
    });
    try {
      const tar = spawn('tar', ['-C', dir, '-c', '--owner=0', '--group=0', '--numeric-owner', '--transform', 's,^\\.,repo,S', '.'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let tarErr = '';
      tar.stderr.on('data', (b: Buffer) => { tarErr += b.toString(); });
      const done = new Promise<number | null>((resolve) => tar.once('close', resolve));
      await c.putArchive(tar.stdout, { path: '/' });
      const rc = await done;
      if (rc !== 0) throw new SandboxError(`tar of ${dir} failed: ${tarErr.trim()}`);
      const labels = managedLabels('dir-image', { ...this.opts.labels, workdir: DIR_WORKDIR, [LABEL.source]: dir.slice(-200) });
      const change = `LABEL ${Object.entries(labels).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ')}`;
      const r = (await c.commit({ repo: 'ssr-dir', tag: key, changes: [change, `WORKDIR ${DIR_WORKDIR}`] })) as { Id: string };
      return r.Id;
    } finally {
      await c.remove({ force: true }).catch(() => undefined);
    }
  }
}

/** Identity of a directory's current content (names, sizes, modes, mtimes): a changed tree gets a new image. */
async function dirKey(dir: string): Promise<string> {
  const h = createHash('sha256').update(path.resolve(dir));
  const walk = async (d: string, rel: string): Promise<void> => {
    for (const n of (await readdir(d)).sort()) {
      const st = await lstat(path.join(d, n));
      h.update(`${rel}/${n}\0${st.mode}\0${st.size}\0${st.mtimeMs}\n`);
      if (st.isDirectory()) await walk(path.join(d, n), `${rel}/${n}`);
    }
  };
  await walk(dir, '');
  return h.digest('hex').slice(0, 24);
}

export class DockerSandbox implements Sandbox {
  readonly id: string;
  private readonly lock = new Mutex();
  private disposed = false;
  private gone = false;
  /** Counters after the previous command: a limit was hit by this command when one grew. */
  private baseline: Counters = { oom: 0, pidsMax: 0 };

  constructor(
    private readonly provider: DockerSandboxProvider,
    private readonly container: Docker.Container,
    readonly workdir: string,
    private readonly base: string,
    readonly limits: SandboxLimits,
    readonly labels: Record<string, string>,
    private readonly diskRoot: string | null = null,
    /** The container's CPU time where the engine is local (./cpu.ts): CPU-time limits and `cpuMs` need it. */
    private readonly cpu: CpuReader | null = null,
  ) {
    this.id = container.id.slice(0, 12);
  }

  markGone(): void {
    this.gone = true;
  }

  private assertLive(): void {
    if (this.disposed) throw new SandboxError(`sandbox ${this.id} is disposed`);
    if (this.gone) throw new SandboxError(`sandbox ${this.id} was removed with its episode`);
  }

  async exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    const r = await this.run(['bash', '-c', command], {
      timeoutMs: options.timeoutMs ?? this.limits.timeoutMs, maxOutputBytes: this.limits.maxOutputBytes,
      env: options.env, stdin: options.stdin === undefined ? undefined : Buffer.from(options.stdin, 'utf8'), cwd: options.cwd,
      cpuTimeoutMs: options.cpuTimeoutMs,
    });
    return {
      exitCode: r.exitCode, signal: r.signal, stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8'), killed: r.killed, truncated: r.truncated, durationMs: r.durationMs,
      ...(r.cpuMs !== undefined ? { cpuMs: r.cpuMs } : {}),
    };
  }

  async readFile(relPath: string): Promise<Buffer> {
    const rel = normalizeRel(relPath, 'readFile', false, this.workdir);
    const r = await this.run(['/bin/sh', '-c', READ_SCRIPT, 'sh', this.workdir, rel], { timeoutMs: this.limits.timeoutMs, maxOutputBytes: READ_FILE_CAP });
    return readResult(rel, r);
  }

  async writeFile(relPath: string, data: string | Buffer): Promise<void> {
    const rel = normalizeRel(relPath, 'writeFile', false, this.workdir);
    const r = await this.run(['/bin/sh', '-c', WRITE_SCRIPT, 'sh', this.workdir, rel], {
      timeoutMs: this.limits.timeoutMs, maxOutputBytes: 64 * 1024, stdin: typeof data === 'string' ? Buffer.from(data, 'utf8') : data,
    });
    writeResult(rel, r);
  }

  async snapshot(): Promise<SnapshotRef> {
    this.assertLive();
    return this.lock.run(async () => {
      this.assertLive();
      const id = await this.provider.commit(this.container, this.workdir, this.labels);
      return { backend: 'docker', base: this.base, layers: [id] };
    });
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.provider.forget(this);
    await this.lock.run(async () => {
      await this.container.remove({ force: true }).catch((e: { statusCode?: number; message: string }) => {
        if (e.statusCode !== 404) throw new SandboxError(`could not remove container ${this.id}: ${e.message}`);
      });
    });
  }

  private async running(): Promise<boolean> {
    try {
      return (await this.container.inspect()).State.Running;
    } catch (e) {
      throw new SandboxError(`container ${this.id} is gone: ${(e as Error).message}`);
    }
  }

  private async restart(): Promise<void> {
    await this.container.kill({ signal: 'SIGKILL' }).catch(() => undefined);
    await this.container.start().catch((e: Error) => { throw new SandboxError(`container ${this.id} could not be restarted: ${e.message}`); });
    // Read, not assumed zero: a cgroup the engine has not yet removed is reused with the old command's counts.
    this.baseline = (await readCounters(this.container)) ?? { oom: 0, pidsMax: 0 };
  }

  private async fileAtLimit(): Promise<boolean> {
    const limit = fsizeLimit(this.limits.maxFileBytes);
    const r = await dockerExec(this.container, {
      argv: ['find', this.workdir, '/tmp', '-xdev', '-type', 'f', '-size', `+${limit - 1}c`, '-print', '-quit'],
      cwd: '/', env: {}, timeoutMs: 30_000, maxOutputBytes: 4096, disk: null,
    });
    // A check that cannot run (find missing, timed out) keeps the limit's reading.
    return r.exitCode !== 0 || r.killed !== null || r.stdout.length > 0;
  }

  private async run(argv: string[], o: { timeoutMs: number; maxOutputBytes: number; env?: Record<string, string>; stdin?: Buffer; cwd?: string; cpuTimeoutMs?: number }) {
    this.assertLive();
    return this.lock.run(async () => {
      this.assertLive();
      const rel = o.cwd === undefined ? '.' : normalizeRel(o.cwd, 'cwd', true, this.workdir);
      const cwd = rel === '.' ? this.workdir : path.posix.join(this.workdir, rel);
      const disk: DiskWatch | null = this.diskRoot ? { path: this.diskRoot, minFreeBytes: this.limits.minFreeDiskBytes } : null;
      const cpu = this.cpu ? { read: this.cpu, ...(o.cpuTimeoutMs !== undefined ? { limitMs: o.cpuTimeoutMs } : {}) } : null;
      const spec = { argv, cwd, env: { LANG: 'C.UTF-8', ...o.env }, stdin: o.stdin, timeoutMs: o.timeoutMs, maxOutputBytes: o.maxOutputBytes, disk, cpu };
      // A container found stopped (its keeper could not fork while a command filled the pids table) restarts with its files.
      if (!(await this.running())) await this.restart();
      const r = await dockerExec(this.container, spec);
      let killed = r.killed;
      const stopped = !r.containerKilled && r.counters === null && !(await this.running());
      if (r.containerKilled || stopped) {
        // Only a full pids table keeps a kill from starting inside, or the keeper from forking its sleep.
        if (killed === 'timeout' || killed === 'cpu' || (stopped && killed === null)) killed = 'pids';
        await this.restart();
      } else {
        // Without them, this command's limit would go unnamed and the next command would be blamed for it (seen
        // under load: a fork bomb reported as a timeout, then the next command's memory kill as pids).
        const counters = r.counters ?? (await readCounters(this.container));
        if (counters) {
          if (killed !== 'output' && killed !== 'disk') {
            if (counters.oom > this.baseline.oom) killed = 'memory';
            else if (counters.pidsMax > this.baseline.pidsMax) killed = 'pids';
          }
          this.baseline = counters;
          // A command stopped at the pids limit leaves its forks running (`cmd &`); they would hold the table full and
          // keep the next command's timeout kill from starting (seen under load: that timeout reported as pids).
          if (killed === 'pids') await this.restart();
        }
      }
      // 128+SIGXFSZ is also an exit status a script may choose (`exit 153`): without the signal itself, only a file
      // at the limit in what the command could write makes it the limit's.
      if (killed === null && fileSizeKill(r.exitCode, r.signal) === 'disk') killed = r.signal !== null || (await this.fileAtLimit()) ? 'disk' : null;
      return { ...r, killed };
    });
  }
}

