import { shQuote as shq } from './shell.js';
import { existsSync } from 'node:fs';
/**
 * The local sandbox backend.
 *
 * isolation 'bwrap' (the default): a sandbox is an overlayfs over a read-only stack (snapshot layers, then the
 * base tree) with its own upper directory, so creating one costs a few directory creations, never a copy. Each
 * command runs as: its own cgroup (pids, memory, freezer) → `unshare --mount` (a private mount namespace that dies
 * with the command, so no mount outlives it on the host) → the overlay mounted at `merged` → bubblewrap with a
 * new read-only root holding only the toolchains, no network, its own pid namespace, no capabilities (see
 * bwrap.ts). Commands of one sandbox run one at a time, because the overlay's upper directory may be mounted
 * only once at a time.
 *
 * isolation 'none' (`--no-isolation`): a full copy of the tree, commands run with `bash -c` on the host; the
 * same limits apply where cgroups are available. Only for machines without bubblewrap and trusted code.
 */
import { warmTmpDir } from './warm.js';
import { BaseWarmCache, type BaseWarmCacheOptions, type BaseWarmer } from './base-warm.js';
import { mkdir, readdir, readFile, rename, rm, realpath, stat, writeFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import os from 'node:os';
import { DEFAULT_LIMITS } from './types.js';
import type { ExecOptions, ExecResult, KillReason, Sandbox, SandboxLimits, SandboxProvider, SnapshotRef } from './types.js';
import { Cgroups, type CgroupStats, type ExecCgroup } from './cgroup.js';
import { withHostTools } from './hosttools.js';
import { bwrapArgs, defaultSandboxEnv, DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS, WORKDIR, HOST_PATH, findExecutable, isExecutable } from './bwrap.js';
import { LayerStore, newLayerId, type LayerMeta } from './layers.js';
import { runWrapped, type RawResult } from './run.js';
import { fileAtLimit, fileSizeKill, fsizeLimit } from './disk.js';
import { SandboxError, SandboxPathError, SandboxUnavailableError } from './errors.js';
import { CD_SCRIPT, Mutex, normalizeRel, READ_SCRIPT, readResult, WRITE_SCRIPT, writeResult } from './common.js';

export { SandboxError, SandboxPathError, SandboxUnavailableError } from './errors.js';
export { WORKDIR as LOCAL_WORKDIR, findExecutable } from './bwrap.js';

export type Isolation = 'bwrap' | 'none';

export interface LocalSandboxProviderOptions {
  /** Where sandboxes (`sandboxes/<id>`) and snapshot layers (`layers/<id>`) live. */
  stateDir: string;
  isolation: Isolation;
  defaults?: Partial<SandboxLimits>;
  /** Host paths visible read-only inside (default: system dirs and toolchains, DEFAULT_READONLY_PATHS). */
  readOnlyPaths?: readonly string[];
  /** Added to readOnlyPaths (a toolchain installed elsewhere). */
  extraReadOnlyPaths?: readonly string[];
  /** Laid over the fixed environment of every command (before ExecOptions.env). */
  env?: Record<string, string>;
  /** Path of the bwrap binary (default: found on PATH or /usr/bin/bwrap). */
  bwrapPath?: string;
  /** Caches built once per base tree and stacked under the /tmp of its sandboxes (base-warm.ts); 'bwrap' only. */
  baseWarmers?: readonly BaseWarmer[];
  /** How many base caches stay on disk (base-warm.ts's defaults otherwise). */
  baseWarmLimits?: Pick<BaseWarmCacheOptions, 'keepPerBase' | 'keepTotal'>;
}

/** Largest file readFile returns; the tree is the repository, not a place for multi-GB blobs. */
const READ_FILE_CAP = 256 * 1024 * 1024;
/** Limit for the trusted host tools the backend runs itself (copying or merging trees). */
const HOST_TOOL_TIMEOUT_MS = 30 * 60 * 1000;


/** Characters overlayfs' mount options cannot carry safely (separators and escapes of the option string). */
const UNSAFE_OVERLAY_PATH = /[,:\\"'\n\r\t]/;

function newSandboxId(): string {
  return `s-${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`;
}

/** Runs a trusted host tool (cp, a materializing mount) and throws with its stderr when it fails. */
async function hostTool(argv: string[], cwd?: string): Promise<void> {
  const [file, ...args] = argv;
  if (!file) throw new SandboxError('empty host command');
  await new Promise<void>((resolve, reject) => {
    const child = spawn(file, args, { cwd, env: { PATH: HOST_PATH, LANG: 'C.UTF-8' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c: Buffer) => {
      if (err.length < 8192) err += c.toString('utf8');
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), HOST_TOOL_TIMEOUT_MS);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(new SandboxError(`${file}: ${e.message}`));
    });
    child.once('close', (code, sig) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new SandboxError(`${argv.slice(0, 3).join(' ')} ... failed (${code ?? sig}): ${err.trim()}`));
    });
  });
}

/** Copies a tree preserving everything (owners, modes, links, xattrs), sharing extents where the filesystem can. */
function copyTree(src: string, dst: string): Promise<void> {
  return hostTool(['cp', '-a', '--reflink=auto', '-T', '--', src, dst]);
}

interface ProviderContext {
  stateDir: string;
  sandboxesDir: string;
  layers: LayerStore;
  isolation: Isolation;
  defaults: SandboxLimits;
  readOnlyPaths: string[];
  env: Record<string, string>;
  bwrap: string | null;
  unshare: string | null;
  /** Sets RLIMIT_FSIZE in bytes on the command (dash's `ulimit -f` counts 512-byte blocks, bash's 1024). */
  prlimit: string | null;
  cgroups: Promise<Cgroups | null>;
  live: Set<LocalSandbox>;
}

/**
 * Live sandboxes per state directory, shared by every provider of this process, so deleteSnapshot sees a
 * sandbox reading the layer even when another provider instance created it.
 */
const liveByStateDir = new Map<string, Set<LocalSandbox>>();
function liveSet(stateDir: string): Set<LocalSandbox> {
  let set = liveByStateDir.get(stateDir);
  if (!set) liveByStateDir.set(stateDir, (set = new Set()));
  return set;
}

/** bwrap's own processes inside a command's cgroup (the outer bwrap and the pid-1 reaper), not the command's. */
const BWRAP_OWN_PIDS = 2;

export class LocalSandboxProvider implements SandboxProvider {
  readonly name = 'local';
  private readonly ctx: ProviderContext;
  private readonly baseWarm: BaseWarmCache | null;

  constructor(options: LocalSandboxProviderOptions) {
    const stateDir = path.resolve(options.stateDir);
    const bwrap = options.bwrapPath ?? findExecutable('bwrap');
    this.ctx = {
      stateDir,
      sandboxesDir: path.join(stateDir, 'sandboxes'),
      layers: new LayerStore(path.join(stateDir, 'layers')),
      isolation: options.isolation,
      defaults: { ...DEFAULT_LIMITS, ...options.defaults },
      readOnlyPaths: [...(options.readOnlyPaths ?? DEFAULT_READONLY_PATHS), ...(options.extraReadOnlyPaths ?? [])],
      env: options.env ?? {},
      bwrap: bwrap && isExecutable(bwrap) ? bwrap : null,
      unshare: findExecutable('unshare'),
      prlimit: findExecutable('prlimit'),
      cgroups: Cgroups.detect(),
      live: liveSet(stateDir),
    };
    this.baseWarm = options.baseWarmers?.length && options.isolation === 'bwrap'
      ? new BaseWarmCache(stateDir, options.baseWarmers, async (base) => {
        // The build runs under the provider's default limits, over the pristine base, without base caches.
        const sandbox = await this.open({ base }, undefined, { purpose: 'base-warm' }, []);
        return { sandbox, tmpDir: sandbox.tmpUpperDir };
      }, undefined, { ...options.baseWarmLimits, inUse: () => cachesInUse(this.ctx.sandboxesDir) })
      : null;
  }

  get isolation(): Isolation {
    return this.ctx.isolation;
  }

  /** Whether commands get pids/memory limits and whole-tree kills through cgroups on this machine. */
  async hasCgroups(): Promise<boolean> {
    return (await this.ctx.cgroups) !== null;
  }

  private assertAvailable(): void {
    if (this.ctx.isolation !== 'bwrap') return;
    if (!this.ctx.bwrap) {
      throw new SandboxUnavailableError(
        'bubblewrap (bwrap) is not installed, so untrusted code cannot be isolated: install it (`apt-get install bubblewrap`) or pass --no-isolation to run commands unisolated on this machine',
      );
    }
    if (!this.ctx.unshare) throw new SandboxUnavailableError('`unshare` (util-linux) is not installed; install util-linux or pass --no-isolation');
    if (!this.ctx.prlimit) throw new SandboxUnavailableError('`prlimit` (util-linux) is not installed, so file sizes cannot be limited; install util-linux or pass --no-isolation');
    if (process.getuid?.() !== 0) {
      throw new SandboxUnavailableError(
        'the local sandbox mounts an overlay per attempt and needs root; run ssr as root, use the docker sandbox, or pass --no-isolation',
      );
    }
  }

  async create(from: { base: string } | SnapshotRef, limits?: Partial<SandboxLimits>, labels: Record<string, string> = {}): Promise<LocalSandbox> {
    this.assertAvailable();
    const base = await realBase(from.base);
    // Fixed for the sandbox's lifetime: its /tmp never changes under it between commands.
    const tmpLayers = this.baseWarm ? await this.baseWarm.layersFor(base) : [];
    return this.open(from, limits, labels, tmpLayers);
  }

  private async open(from: { base: string } | SnapshotRef, limits: Partial<SandboxLimits> | undefined, labels: Record<string, string>, tmpLayers: string[]): Promise<LocalSandbox> {
    this.assertAvailable();
    const ctx = this.ctx;
    const ref: SnapshotRef = 'layers' in from ? from : { backend: 'local', base: from.base, layers: [] };
    const base = await realBase(ref.base);
    const stack = await ctx.layers.resolve({ ...ref, base });

    const id = newSandboxId();
    const dir = path.join(ctx.sandboxesDir, id);
    const sandbox = new LocalSandbox(ctx, id, dir, base, stack.used, stack.full, { ...ctx.defaults, ...limits }, tmpLayers);
    await mkdir(path.join(dir, 'tmp'), { recursive: true });
    try {
      if (ctx.isolation === 'bwrap') {
        if (!stack.full && UNSAFE_OVERLAY_PATH.test(base)) {
          throw new SandboxError(`base path ${JSON.stringify(base)} contains a character overlayfs options cannot carry (one of , : \\ quotes, tabs, newlines)`);
        }
        await Promise.all(['upper', 'work', 'merged', 'tmpwork', 'tmpmerged'].map((d) => mkdir(path.join(dir, d))));
      } else {
        await materialize(ctx, stack, path.join(dir, 'tree'));
      }
      await writeFile(
        path.join(dir, 'sandbox.json'),
        // tmpLayers: what pruning the base caches must leave alone while this sandbox lives (base-warm.ts).
        JSON.stringify({ id, base, layers: stack.used, tmpLayers, isolation: ctx.isolation, labels, createdAt: new Date().toISOString() }, null, 2) + '\n',
      );
      await sandbox.init();
    } catch (e) {
      await rm(dir, { recursive: true, force: true });
      throw e;
    }
    ctx.live.add(sandbox);
    return sandbox;
  }

  /**
   * Deletes the layer a snapshot added (its topmost); the layers under it belong to earlier snapshots. Refuses
   * while a live sandbox of this process reads it or a later snapshot is stacked on it (delete that one first).
   */
  async deleteSnapshot(ref: SnapshotRef): Promise<void> {
    if (ref.backend !== 'local') throw new SandboxError(`not a local snapshot: ${ref.backend}`);
    const top = ref.layers[0];
    if (top === undefined) return;
    this.ctx.layers.layerDir(top);
    for (const sb of this.ctx.live) {
      if (sb.usesLayer(top)) throw new SandboxError(`snapshot layer ${top} is in use by sandbox ${sb.id}`);
    }
    const children = await this.ctx.layers.children(top);
    if (children.length > 0) throw new SandboxError(`snapshot layer ${top} is in use by the later snapshot(s) ${children.join(', ')}`);
    await this.ctx.layers.remove(top);
  }
}

/**
 * The base caches mounted by the sandboxes of every process of this state directory, from their sandbox.json; a
 * sandbox whose record names none (written by a version before tmpLayers was recorded) makes the answer unknown.
 * A directory without a record yet is a sandbox being made: it takes the newest caches, which pruning keeps.
 */
async function cachesInUse(sandboxesDir: string): Promise<{ dirs: Set<string>; unknown: boolean }> {
  const dirs = new Set<string>();
  let unknown = false;
  for (const id of await readdir(sandboxesDir).catch(() => [] as string[])) {
    let rec: { tmpLayers?: unknown };
    try {
      rec = JSON.parse(await readFile(path.join(sandboxesDir, id, 'sandbox.json'), 'utf8')) as { tmpLayers?: unknown };
    } catch {
      continue;
    }
    if (!Array.isArray(rec.tmpLayers)) unknown = true;
    else for (const l of rec.tmpLayers) if (typeof l === 'string') dirs.add(l);
  }
  return { dirs, unknown };
}

async function realBase(p: string): Promise<string> {
  const base = await realpath(path.resolve(p)).catch(() => {
    throw new SandboxError(`base tree ${p} does not exist`);
  });
  if (!(await stat(base)).isDirectory()) throw new SandboxError(`base tree ${base} is not a directory`);
  return base;
}

/** Builds a full copy of a stack for the unisolated backend. */
async function materialize(ctx: ProviderContext, stack: { lowers: string[]; full: boolean }, dst: string): Promise<void> {
  const top = stack.lowers[0];
  if (top === undefined) throw new SandboxError('empty layer stack');
  if (stack.lowers.length === 1) return copyTree(top, dst);
  // Diff layers hold whiteouts and opaque-dir xattrs whose meaning only overlayfs knows: let it merge them
  // (a read-only overlay of all lowers, mounted in a private namespace) and copy the merged view.
  if (!ctx.unshare) throw new SandboxError('materializing a layered snapshot needs `unshare` (util-linux)');
  const unsafe = stack.lowers.find((l) => UNSAFE_OVERLAY_PATH.test(l));
  if (unsafe) throw new SandboxError(`path ${JSON.stringify(unsafe)} contains a character overlayfs options cannot carry`);
  const mnt = `${dst}.merge`;
  await mkdir(mnt, { recursive: true });
  try {
    const script = `mount -t overlay overlay -o ${shq(`lowerdir=${stack.lowers.join(':')}`)} ${shq(mnt)} && exec cp -a --reflink=auto -T -- ${shq(mnt)} ${shq(dst)}`;
    await hostTool([ctx.unshare, '--mount', '--propagation', 'private', '--', '/bin/sh', '-c', script]);
  } finally {
    await rm(mnt, { recursive: true, force: true });
  }
}

interface RunOpts {
  timeoutMs: number;
  cpuTimeoutMs?: number;
  maxOutputBytes: number;
  env?: Record<string, string>;
  stdin?: Buffer;
  cwd?: string;
}

export class LocalSandbox implements Sandbox {
  readonly workdir: string;
  readonly hostPath?: string;
  private readonly lock = new Mutex();
  private readonly abort = new AbortController();
  private disposed = false;
  private execCount = 0;
  /** Host path of the tree commands see as the work directory, with symlinks resolved ('none' only). */
  private rootReal = '';

  constructor(
    private readonly ctx: ProviderContext,
    readonly id: string,
    private readonly dir: string,
    private readonly base: string,
    /** Layer ids under the upper directory, topmost first. */
    private layerIds: string[],
    /** The bottom layer is a whole tree, so the base is not stacked under it. */
    private readonly bottomIsFull: boolean,
    readonly limits: SandboxLimits,
    /** Host directories of the base's caches (base-warm.ts), stacked over the toolchain cache under /tmp, topmost first. */
    private readonly tmpLayers: string[] = [],
  ) {
    this.workdir = ctx.isolation === 'bwrap' ? WORKDIR : path.join(dir, 'tree');
    if (ctx.isolation === 'none') this.hostPath = this.workdir;
  }

  async init(): Promise<void> {
    this.rootReal = this.ctx.isolation === 'bwrap' ? WORKDIR : await realpath(this.workdir);
  }

  /** Host directory holding what commands wrote under /tmp (the upper layer of /tmp when it is an overlay). */
  get tmpUpperDir(): string {
    return path.join(this.dir, 'tmp');
  }

  usesLayer(id: string): boolean {
    return this.layerIds.includes(id);
  }

  private assertLive(): void {
    if (this.disposed) throw new SandboxError(`sandbox ${this.id} is disposed`);
  }

  async exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    const r = await this.run(['bash', '-c', command], {
      timeoutMs: options.timeoutMs ?? this.limits.timeoutMs,
      ...(options.cpuTimeoutMs !== undefined ? { cpuTimeoutMs: options.cpuTimeoutMs } : {}),
      maxOutputBytes: this.limits.maxOutputBytes,
      env: options.env,
      stdin: options.stdin === undefined ? undefined : Buffer.from(options.stdin, 'utf8'),
      cwd: options.cwd,
    });
    return {
      exitCode: r.exitCode,
      signal: r.signal,
      stdout: r.stdout.toString('utf8'),
      stderr: r.stderr.toString('utf8'),
      killed: r.killed,
      truncated: r.truncated,
      durationMs: r.durationMs,
      ...(r.cpuMs !== null ? { cpuMs: r.cpuMs } : {}),
    };
  }

  async readFile(relPath: string): Promise<Buffer> {
    const rel = normalizeRel(relPath, 'readFile', false, this.workdir);
    const r = await this.run(['/bin/sh', '-c', READ_SCRIPT, 'sh', this.rootReal, rel], {
      timeoutMs: this.limits.timeoutMs,
      maxOutputBytes: READ_FILE_CAP,
    });
    return readResult(rel, r);
  }

  async writeFile(relPath: string, data: string | Buffer): Promise<void> {
    const rel = normalizeRel(relPath, 'writeFile', false, this.workdir);
    const r = await this.run(['/bin/sh', '-c', WRITE_SCRIPT, 'sh', this.rootReal, rel], {
      timeoutMs: this.limits.timeoutMs,
      maxOutputBytes: 64 * 1024,
      stdin: typeof data === 'string' ? Buffer.from(data, 'utf8') : data,
    });
    writeResult(rel, r);
  }

  async snapshot(): Promise<SnapshotRef> {
    this.assertLive();
    return this.lock.run(async () => {
      this.assertLive();
      const id = newLayerId();
      const meta: LayerMeta = {
        kind: this.ctx.isolation === 'bwrap' ? 'diff' : 'full',
        base: this.base,
        parents: this.ctx.isolation === 'bwrap' ? [...this.layerIds] : [],
        createdAt: new Date().toISOString(),
        fromSandbox: this.id,
        labels: {},
      };
      const tree = this.ctx.layers.treeDir(id);
      try {
        await this.ctx.layers.writeMeta(id, meta);
        if (this.ctx.isolation === 'bwrap') {
          // The upper directory holds exactly this sandbox's changes (whiteouts included): moving it is the
          // freeze, O(1) whatever the tree's size. The sandbox goes on over it with a fresh, empty upper.
          await rename(path.join(this.dir, 'upper'), tree);
          await mkdir(path.join(this.dir, 'upper'));
          this.layerIds = [id, ...this.layerIds];
        } else {
          await copyTree(this.workdir, tree);
        }
      } catch (e) {
        await this.ctx.layers.remove(id).catch(() => undefined);
        throw e;
      }
      return { backend: 'local', base: this.base, layers: this.ctx.isolation === 'bwrap' ? [...this.layerIds] : [id] };
    });
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.abort.abort();
    await this.lock.run(async () => {
      const cg = await this.ctx.cgroups;
      if (cg) await cg.removeByPrefix(`${this.id}.`);
      await rm(this.dir, { recursive: true, force: true });
    });
    this.ctx.live.delete(this);
  }

  private async run(argv: string[], o: RunOpts): Promise<RawResult> {
    this.assertLive();
    return this.lock.run(async () => {
      this.assertLive();
      const cwd = o.cwd === undefined ? '.' : normalizeRel(o.cwd, 'cwd', true, this.workdir);
      const full = cwd === '.' ? argv : ['/bin/sh', '-c', CD_SCRIPT, 'sh', cwd, ...argv];
      const cgroups = await this.ctx.cgroups;
      const overhead = this.ctx.isolation === 'bwrap' ? BWRAP_OWN_PIDS : 0;
      const cg = cgroups ? await cgroups.create(`${this.id}.${++this.execCount}`, { ...this.limits, maxPids: this.limits.maxPids + overhead }) : null;
      let result: RawResult | undefined;
      try {
        const raw = this.ctx.isolation === 'bwrap' ? await this.runBwrap(full, o, cg) : await this.runHost(full, o, cg);
        const stats: CgroupStats = cg ? await cg.stats() : { pidsLimitHit: false, oomKilled: false };
        let byExit = fileSizeKill(raw.exitCode, raw.signal);
        // bwrap's reaper reports a signal death as 128+n, which a script's own `exit 153` also is: the upper layers
        // (the tree's and /tmp's) must hold a file at the limit for it to be the limit's.
        if (byExit === 'disk' && raw.signal === null && this.ctx.isolation === 'bwrap'
          && !(await fileAtLimit([path.join(this.dir, 'upper'), path.join(this.dir, 'tmp')], fsizeLimit(this.limits.maxFileBytes)))) byExit = null;
        result = { ...raw, killed: killReason(raw.killed, stats, byExit) };
      } finally {
        // Removal fails only when processes survived SIGKILL for seconds; that outranks the command's result.
        // After a failed run the run's own error is the one worth seeing, so this one is dropped.
        await cg?.remove().catch((e: Error) => {
          if (result) throw new SandboxError(`command finished but its cgroup could not be emptied: ${e.message}`);
        });
      }
      return result;
    });
  }

  private joinCgroupScript(cg: ExecCgroup | null): string {
    // The wrapper shell puts itself into the group and then execs: every later process is a descendant.
    return (cg?.procsFiles ?? []).map((f) => `echo $$ > ${shq(f)} || exit 125`).join('\n');
  }

  /** Put after the setup (cgroup join, mounts), so only the command and its descendants carry the file-size limit. */
  private fsizePrefix(): string {
    if (!this.ctx.prlimit) return '';
    const n = fsizeLimit(this.limits.maxFileBytes);
    return `${shq(this.ctx.prlimit)} --fsize=${n}:${n} -- `;
  }

  private env(extra: Record<string, string> | undefined, home: string): Record<string, string> {
    const fixed = { ...defaultSandboxEnv(home), ...this.ctx.env };
    // A provider given its own PATH wants exactly that one.
    const base = this.ctx.env.PATH === undefined ? withHostTools(fixed, this.ctx.readOnlyPaths) : fixed;
    return { ...base, ...extra };
  }

  private async runBwrap(argv: string[], o: RunOpts, cg: ExecCgroup | null): Promise<RawResult> {
    const ctx = this.ctx;
    if (!ctx.bwrap || !ctx.unshare) throw new SandboxError('bwrap/unshare missing');
    // Paths relative to the sandbox directory (the wrapper's cwd) keep the option string short and free of the
    // state directory's own characters; layer trees are `../../layers/<id>/tree`.
    const lowers = this.layerIds.map((l) => path.relative(this.dir, ctx.layers.treeDir(l)));
    if (!this.bottomIsFull) lowers.push(this.base);
    const opts = `lowerdir=${lowers.join(':')},upperdir=upper,workdir=work`;
    const masked = [...DEFAULT_MASKED_PATHS, ctx.stateDir, this.base, ...this.layerIds.map((l) => ctx.layers.treeDir(l))];
    // A warm toolchain cache (see warm.ts) and the base's caches (base-warm.ts) are read-only lower layers of /tmp:
    // every sandbox starts with the standard library and its repository's dependencies already built, and what a
    // command writes there stays in the sandbox's own upper.
    const warm = warmTmpDir(ctx.stateDir);
    const tmpLowers = [...this.tmpLayers, ...(existsSync(warm) ? [warm] : [])].map((l) => path.relative(this.dir, l));
    const useWarm = tmpLowers.length > 0;
    const bw = bwrapArgs({
      merged: path.join(this.dir, 'merged'),
      tmp: path.join(this.dir, useWarm ? 'tmpmerged' : 'tmp'),
      cwd: WORKDIR,
      env: this.env(o.env, '/tmp'),
      readOnlyPaths: ctx.readOnlyPaths,
      maskedPaths: masked,
    });
    const script = [
      this.joinCgroupScript(cg),
      `mount -t overlay overlay -o ${shq(opts)} merged || { echo 'ssr-sandbox: overlay mount failed' >&2; exit 125; }`,
      useWarm ? `mount -t overlay overlay -o ${shq(`lowerdir=${tmpLowers.join(':')},upperdir=tmp,workdir=tmpwork`)} tmpmerged || { echo 'ssr-sandbox: tmp overlay mount failed' >&2; exit 125; }` : '',
      `exec ${this.fsizePrefix()}"$@"`,
    ].filter(Boolean).join('\n');
    const raw = await runWrapped({
      argv: [ctx.unshare, '--mount', '--propagation', 'private', '--', '/bin/sh', '-c', script, 'ssr-sandbox', ctx.bwrap, ...bw, ...argv],
      env: { PATH: HOST_PATH },
      cwd: this.dir,
      stdin: o.stdin,
      timeoutMs: o.timeoutMs,
      cpuTimeoutMs: o.cpuTimeoutMs,
      maxOutputBytes: o.maxOutputBytes,
      cgroup: cg,
      statusFd: true,
      signal: this.abort.signal,
      disk: { path: this.dir, minFreeBytes: this.limits.minFreeDiskBytes },
    });
    // bwrap reports the child's pid once the sandbox is set up; without it nothing untrusted ever ran and the
    // failure is ours (mount, namespaces, a bind), not the command's.
    if (!raw.status.includes('"child-pid"') && !this.abort.signal.aborted && raw.killed === null) {
      throw new SandboxError(`sandbox setup failed (exit ${raw.exitCode ?? raw.signal}): ${raw.stderr.toString('utf8').trim().slice(-2000)}`);
    }
    return raw;
  }

  private async runHost(argv: string[], o: RunOpts, cg: ExecCgroup | null): Promise<RawResult> {
    const home = path.join(this.dir, 'tmp');
    const script = [this.joinCgroupScript(cg), 'echo ready >&3', `exec ${this.fsizePrefix()}"$@" 3>&-`].filter(Boolean).join('\n');
    const raw = await runWrapped({
      argv: ['/bin/sh', '-c', script, 'ssr-sandbox', ...argv],
      env: this.env(o.env, home),
      cwd: this.workdir,
      stdin: o.stdin,
      timeoutMs: o.timeoutMs,
      cpuTimeoutMs: o.cpuTimeoutMs,
      maxOutputBytes: o.maxOutputBytes,
      cgroup: cg,
      statusFd: true,
      signal: this.abort.signal,
      disk: { path: this.dir, minFreeBytes: this.limits.minFreeDiskBytes },
    });
    if (!raw.status.includes('ready') && !this.abort.signal.aborted && raw.killed === null) {
      throw new SandboxError(`command setup failed (exit ${raw.exitCode ?? raw.signal}): ${raw.stderr.toString('utf8').trim().slice(-2000)}`);
    }
    // Reported like the isolated backend, whose pid-1 reaper turns a signal death into 128+n: a caller sees
    // the same result for the same command whichever backend ran it. Our own kills stay signals in both.
    if (raw.signal !== null && raw.killed === null && !this.abort.signal.aborted) {
      const n = os.constants.signals[raw.signal as NodeJS.Signals];
      if (n !== undefined) return { ...raw, exitCode: 128 + n, signal: null };
    }
    return raw;
  }
}

/**
 * Which limit stopped the command. `killed` reports a limit that fired even when the command then exited
 * normally (a parent surviving its OOM-killed child, a shell whose forks failed): the caller learns the run
 * met a limit instead of guessing from an exit code. Output and disk first (we stopped it for them), then memory
 * and pids (each means the time limit, if also reached, was a consequence), then the time limit, then a death by
 * SIGXFSZ (a file at maxFileBytes).
 */
function killReason(ours: KillReason | null, stats: CgroupStats, byExit: KillReason | null): KillReason | null {
  if (ours === 'output' || ours === 'disk') return ours;
  if (stats.oomKilled) return 'memory';
  if (stats.pidsLimitHit) return 'pids';
  return ours ?? byExit;
}

export { sandboxDoctor } from './doctor.js';
export { warmToolchains } from './warm.js';
export type { BaseWarmer } from './base-warm.js';
