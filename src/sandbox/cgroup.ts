/**
 * Per-command cgroups for the local sandbox: the only way to bound processes for root (`ulimit -u` does not bind
 * root), to bound memory for a whole process tree, and to find and kill every descendant of a command, including
 * ones that double-forked or started a new session.
 *
 * Both layouts are supported: cgroup v1 (separate pids, memory and freezer hierarchies, as on the machine this
 * was built on) and cgroup v2 (one unified hierarchy, as on most current distributions). Groups are created
 * under `<hierarchy>/ssr/<name>`.
 */
import { mkdir, readFile, readdir, rmdir, writeFile, access } from 'node:fs/promises';
import { constants, readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SandboxError } from './errors.js';

export interface CgroupLimits {
  memoryBytes: number;
  maxPids: number;
}

/** What the limits did during one command. */
export interface CgroupStats {
  /** A fork or clone failed because pids.max was reached. */
  pidsLimitHit: boolean;
  /** The kernel OOM killer killed a process of the group. */
  oomKilled: boolean;
}

type Dirs = { pids: string; memory: string; freezer: string | null; cpuacct: string | null };

type Layout =
  | { version: 1; pids: string; memory: string; freezer: string | null; cpuacct: string | null }
  | { version: 2; root: string };

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Finds the cgroup hierarchies from /proc/self/mountinfo, so nothing assumes they sit at /sys/fs/cgroup/<ctrl>. */
function detectLayout(): Layout | null {
  let info: string;
  try {
    info = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return null;
  }
  const v1: Record<string, string> = {};
  let v2: string | null = null;
  for (const line of info.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const pre = line.slice(0, sep).split(' ');
    const post = line.slice(sep + 3).split(' ');
    const mountPoint = pre[4];
    const fstype = post[0];
    const superOpts = (post[2] ?? '').split(',');
    if (!mountPoint) continue;
    if (fstype === 'cgroup') {
      for (const ctrl of ['pids', 'memory', 'freezer', 'cpuacct']) {
        if (superOpts.includes(ctrl) && !v1[ctrl]) v1[ctrl] = mountPoint;
      }
    } else if (fstype === 'cgroup2' && v2 === null) {
      v2 = mountPoint;
    }
  }
  // v1 wins when it owns pids and memory: a v2 mount beside it (hybrid mode) then has no such controllers.
  if (v1.pids && v1.memory) return { version: 1, pids: v1.pids, memory: v1.memory, freezer: v1.freezer ?? null, cpuacct: v1.cpuacct ?? null };
  if (v2) {
    try {
      const ctrls = readFileSync(path.join(v2, 'cgroup.controllers'), 'utf8').split(/\s+/);
      if (ctrls.includes('pids') && ctrls.includes('memory')) return { version: 2, root: v2 };
    } catch {
      return null;
    }
  }
  return null;
}

async function writable(p: string): Promise<boolean> {
  try {
    await access(p, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

async function readCounter<T extends number | null = number>(file: string, key: string, missing: T = 0 as T): Promise<number | T> {
  try {
    const text = await readFile(file, 'utf8');
    for (const line of text.split('\n')) {
      const [k, v] = line.trim().split(/\s+/);
      if (k === key && v !== undefined) return Number(v) || 0;
    }
  } catch {
    // A kernel without the counter file: the limit may still have applied, we just cannot tell.
  }
  return missing;
}

async function readPids(file: string): Promise<number[]> {
  try {
    const text = await readFile(file, 'utf8');
    return text
      .split('\n')
      .filter((s) => s.trim() !== '')
      .map(Number)
      .filter((n) => Number.isInteger(n) && n > 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

function killPid(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone (ESRCH) is the common case when a tree collapses while we walk it.
  }
}

async function rmdirRetry(dir: string): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      await rmdir(dir);
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      // EBUSY lasts while the last killed tasks finish exiting.
      if (code !== 'EBUSY' || i >= 100) throw e;
      await sleep(10);
    }
  }
}

/** One cgroup (one directory per hierarchy) holding exactly one command's process tree. */
export class ExecCgroup {
  constructor(
    private readonly layout: Layout,
    private readonly dirs: Dirs,
  ) {}

  /** Files a wrapper shell writes its own pid into before it execs anything untrusted. */
  get procsFiles(): string[] {
    return [...new Set([this.dirs.pids, this.dirs.memory, this.dirs.freezer, this.dirs.cpuacct].filter((d): d is string => d !== null))]
      .map((d) => path.join(d, 'cgroup.procs'));
  }

  /** Whether `cpuMs` can be read: a v1 cpuacct hierarchy, or v2's cpu.stat (kept for every group). */
  get measuresCpu(): boolean {
    return this.layout.version === 2 || this.dirs.cpuacct !== null;
  }

  /**
   * CPU time used by the group's processes so far, user and system, in ms (null where it cannot be measured). Unlike
   * wall time it does not grow when other work on the machine slows the command down.
   */
  async cpuMs(): Promise<number | null> {
    try {
      if (this.layout.version === 2) {
        const us = await readCounter(path.join(this.dirs.pids, 'cpu.stat'), 'usage_usec', null);
        return us === null ? null : us / 1000;
      }
      if (!this.dirs.cpuacct) return null;
      const ns = Number((await readFile(path.join(this.dirs.cpuacct, 'cpuacct.usage'), 'utf8')).trim());
      return Number.isFinite(ns) ? ns / 1e6 : null;
    } catch {
      return null;
    }
  }

  pids(): Promise<number[]> {
    return readPids(path.join(this.dirs.pids, 'cgroup.procs'));
  }

  async stats(): Promise<CgroupStats> {
    const pidsMax = await readCounter(path.join(this.dirs.pids, 'pids.events'), 'max');
    const oom =
      this.layout.version === 1
        ? await readCounter(path.join(this.dirs.memory, 'memory.oom_control'), 'oom_kill')
        : await readCounter(path.join(this.dirs.memory, 'memory.events'), 'oom_kill');
    return { pidsLimitHit: pidsMax > 0, oomKilled: oom > 0 };
  }

  /**
   * SIGKILLs every process of the group until it is empty. Freezing first makes the listing and the kill atomic
   * with respect to forks (a fork bomb cannot outrun it); without a freezer, repeated rounds converge because
   * pids.max bounds how many new processes can appear per round. Returns false if the group would not empty.
   */
  async killAll(maxWaitMs = 10_000): Promise<boolean> {
    const deadline = Date.now() + maxWaitMs;
    if (this.layout.version === 2) {
      try {
        await writeFile(path.join(this.dirs.pids, 'cgroup.kill'), '1');
      } catch {
        // cgroup.kill needs Linux 5.14; the loop below does the same by hand.
      }
    }
    for (let round = 0; ; round++) {
      const pids = await this.pids();
      if (pids.length === 0) return true;
      if (Date.now() > deadline) return false;
      const frozen = await this.freeze();
      for (const pid of await this.pids()) killPid(pid);
      if (frozen) await this.thaw();
      await sleep(round < 20 ? 2 : 20);
    }
  }

  private async freeze(): Promise<boolean> {
    const file =
      this.layout.version === 1
        ? this.dirs.freezer && path.join(this.dirs.freezer, 'freezer.state')
        : path.join(this.dirs.pids, 'cgroup.freeze');
    if (!file) return false;
    try {
      await writeFile(file, this.layout.version === 1 ? 'FROZEN' : '1');
      // Freezing is asynchronous; a short bounded wait is enough, killing unfrozen tasks is still correct.
      for (let i = 0; i < 25; i++) {
        const state = await readFile(this.layout.version === 1 ? file : path.join(this.dirs.pids, 'cgroup.events'), 'utf8');
        if (this.layout.version === 1 ? state.trim() === 'FROZEN' : /frozen 1/.test(state)) break;
        await sleep(2);
      }
      return true;
    } catch {
      return false;
    }
  }

  private async thaw(): Promise<void> {
    const file =
      this.layout.version === 1
        ? this.dirs.freezer && path.join(this.dirs.freezer, 'freezer.state')
        : path.join(this.dirs.pids, 'cgroup.freeze');
    if (!file) return;
    try {
      await writeFile(file, this.layout.version === 1 ? 'THAWED' : '0');
    } catch {
      // The group may already be gone.
    }
  }

  /** Kills what is left and removes the group's directories. */
  async remove(): Promise<void> {
    await this.killAll();
    const seen = new Set<string>();
    for (const dir of [this.dirs.pids, this.dirs.memory, this.dirs.freezer, this.dirs.cpuacct]) {
      if (!dir || seen.has(dir)) continue;
      seen.add(dir);
      await rmdirRetry(dir);
    }
  }
}

/** The cgroup hierarchies of this machine, usable when we may create groups in them (normally: root). */
export class Cgroups {
  private prepared: Promise<void> | null = null;

  private constructor(private readonly layout: Layout) {}

  /** Returns null when no usable pids+memory cgroups exist or they are not writable. */
  static async detect(): Promise<Cgroups | null> {
    const layout = detectLayout();
    if (!layout) return null;
    const probe = layout.version === 1 ? [layout.pids, layout.memory] : [layout.root];
    for (const dir of probe) if (!(await writable(dir))) return null;
    const cg = new Cgroups(layout);
    cg.cpuacctWritable = layout.version === 1 && layout.cpuacct !== null && (await writable(layout.cpuacct));
    try {
      await cg.prepare();
    } catch {
      return null;
    }
    return cg;
  }

  get version(): 1 | 2 {
    return this.layout.version;
  }

  private parents(): Dirs {
    if (this.layout.version === 1) {
      return {
        pids: path.join(this.layout.pids, 'ssr'),
        memory: path.join(this.layout.memory, 'ssr'),
        freezer: this.layout.freezer ? path.join(this.layout.freezer, 'ssr') : null,
        // Only where we may create groups in it: without it commands still run, unmeasured.
        cpuacct: this.layout.cpuacct && this.cpuacctWritable ? path.join(this.layout.cpuacct, 'ssr') : null,
      };
    }
    const dir = path.join(this.layout.root, 'ssr');
    return { pids: dir, memory: dir, freezer: dir, cpuacct: null };
  }

  private cpuacctWritable = false;

  private prepare(): Promise<void> {
    this.prepared ??= (async () => {
      const p = this.parents();
      for (const dir of new Set([p.pids, p.memory, p.freezer, p.cpuacct].filter((d): d is string => d !== null))) {
        await mkdir(dir, { recursive: true });
      }
      if (this.layout.version === 1) {
        // Without use_hierarchy a child's usage would not count against the parent's limits (older kernels).
        await writeFile(path.join(p.memory, 'memory.use_hierarchy'), '1').catch(() => undefined);
      } else {
        // v2 only gives children the controllers their parent enables for its subtree.
        await writeFile(path.join(this.layout.root, 'cgroup.subtree_control'), '+pids +memory').catch(() => undefined);
        await writeFile(path.join(p.pids, 'cgroup.subtree_control'), '+pids +memory');
      }
    })();
    return this.prepared;
  }

  async create(name: string, limits: CgroupLimits): Promise<ExecCgroup> {
    if (!NAME_RE.test(name)) throw new SandboxError(`bad cgroup name: ${name}`);
    await this.prepare();
    const dirs = this.dirsOf(name);
    const cg = new ExecCgroup(this.layout, dirs);
    try {
      for (const dir of new Set([dirs.pids, dirs.memory, dirs.freezer, dirs.cpuacct].filter((d): d is string => d !== null))) {
        await mkdir(dir);
      }
      const pidsMax = String(Math.max(1, Math.floor(limits.maxPids)));
      const mem = String(Math.max(4 * 1024 * 1024, Math.floor(limits.memoryBytes)));
      await writeFile(path.join(dirs.pids, 'pids.max'), pidsMax);
      if (this.layout.version === 1) {
        await writeFile(path.join(dirs.memory, 'memory.limit_in_bytes'), mem);
        // memsw (memory+swap) exists only with swap accounting; without it swap cannot be used past the limit anyway.
        await writeFile(path.join(dirs.memory, 'memory.memsw.limit_in_bytes'), mem).catch(() => undefined);
      } else {
        await writeFile(path.join(dirs.memory, 'memory.max'), mem);
        await writeFile(path.join(dirs.memory, 'memory.swap.max'), '0').catch(() => undefined);
      }
    } catch (e) {
      await cg.remove().catch(() => undefined);
      throw new SandboxError(`cannot set up cgroup ${name}: ${(e as Error).message}`);
    }
    return cg;
  }

  private dirsOf(name: string): Dirs {
    const p = this.parents();
    return {
      pids: path.join(p.pids, name), memory: path.join(p.memory, name),
      freezer: p.freezer ? path.join(p.freezer, name) : null, cpuacct: p.cpuacct ? path.join(p.cpuacct, name) : null,
    };
  }

  /** Kills and removes every group whose name starts with `prefix` (left over by a crashed or aborted command). */
  async removeByPrefix(prefix: string): Promise<void> {
    const p = this.parents();
    let names: string[] = [];
    try {
      names = (await readdir(p.pids, { withFileTypes: true })).filter((d) => d.isDirectory() && d.name.startsWith(prefix)).map((d) => d.name);
    } catch {
      return;
    }
    for (const name of names) {
      await new ExecCgroup(this.layout, this.dirsOf(name)).remove().catch(() => undefined);
    }
    // v1 hierarchies are separate: a group may exist in memory, freezer or cpuacct but not pids (a half-finished create).
    for (const parent of [p.memory, p.freezer, p.cpuacct]) {
      if (!parent || parent === p.pids) continue;
      try {
        for (const d of await readdir(parent, { withFileTypes: true })) {
          if (d.isDirectory() && d.name.startsWith(prefix)) await rmdirRetry(path.join(parent, d.name)).catch(() => undefined);
        }
      } catch {
        // Parent missing: nothing left over there.
      }
    }
  }
}
