/**
 * The bubblewrap command line and the fixed environment of the local sandbox.
 *
 * The sandbox does not see the host's root: it sees a new, read-only root holding only the toolchain paths
 * below (bound read-only), a private /tmp, a fresh /dev and /proc, and the attempt's tree at WORKDIR. That keeps
 * out the project's state directory (other attempts' trees, the clean base the solver must not see), the
 * artifact store, credentials under /root, and host sockets (/run, /var/run).
 */
import { accessSync, constants, lstatSync, readlinkSync, existsSync, statSync } from 'node:fs';
import path from 'node:path';

/** Where commands see their tree. */
export const WORKDIR = '/sandbox/repo';

/**
 * Host paths bound read-only at the same place when they exist: system directories and the toolchains
 * (python via pyenv, go, rust via rustup/cargo, node and Maven/JDK from /usr). A path that is a symlink on the host
 * (merged /usr layouts: /bin -> usr/bin) becomes the same symlink inside.
 */
export const DEFAULT_READONLY_PATHS: readonly string[] = [
  '/usr',
  '/bin',
  '/sbin',
  '/lib',
  '/lib32',
  '/lib64',
  '/libx32',
  '/etc',
  '/opt',
  '/root/.pyenv',
  '/root/.cargo',
  '/root/.rustup',
  '/root/go',
  // Maven's local repository, filled on the host (mvn test / dependency:go-offline) as pip install fills
  // site-packages. Only repository/ is bound, not ~/.m2: settings.xml and settings-security.xml beside it hold
  // server passwords. Offline Maven only reads it (measured with it read-only: no _remote.repositories,
  // resolver-status.properties or *.lastUpdated writes), so no writable copy is needed.
  '/root/.m2/repository',
];

/** Secrets that live under the read-only paths and are hidden (an empty tmpfs or /dev/null over them). */
export const DEFAULT_MASKED_PATHS: readonly string[] = [
  '/etc/shadow',
  '/etc/gshadow',
  '/etc/shadow-',
  '/etc/gshadow-',
  '/etc/ssh',
  '/etc/sudoers',
  '/etc/sudoers.d',
  '/root/.cargo/credentials',
  '/root/.cargo/credentials.toml',
  // Not reachable today (only ~/.m2/repository is bound), masked in case a wider ~/.m2 is ever bound.
  '/root/.m2/settings.xml',
  '/root/.m2/settings-security.xml',
];

/**
 * The fixed environment every command starts from (options.env is laid over it). Caches that tools write
 * (go build cache, cargo target dir, pip, python bytecode) go to /tmp, which is private to the sandbox and
 * kept across its commands, so the repository's tree stays clean and repeated test runs stay fast.
 */
export function defaultSandboxEnv(home: string): Record<string, string> {
  const env: Record<string, string> = {
    PATH: [
      '/usr/local/go/bin',
      '/root/.cargo/bin',
      '/root/.pyenv/shims',
      '/root/.pyenv/bin',
      '/usr/local/sbin',
      '/usr/local/bin',
      '/usr/sbin',
      '/usr/bin',
      '/sbin',
      '/bin',
    ].join(':'),
    HOME: home,
    TMPDIR: home,
    LANG: 'C.UTF-8',
    TERM: 'dumb',
    PYENV_ROOT: '/root/.pyenv',
    // Not PYTHONPYCACHEPREFIX: with a prefix Python ignores every precompiled .pyc beside its sources (the stdlib's,
    // site-packages') and compiles each import afresh in every process, 0.5 s a python start (measured).
    PYTHONDONTWRITEBYTECODE: '1',
    PIP_NO_INDEX: '1',
    PIP_DISABLE_PIP_VERSION_CHECK: '1',
    GOPATH: `${home}/go`,
    GOCACHE: `${home}/.cache/go-build`,
    GOFLAGS: '-mod=mod -buildvcs=false',
    GOPROXY: 'off',
    GOTOOLCHAIN: 'local',
    GOTELEMETRY: 'off',
    CARGO_HOME: '/root/.cargo',
    RUSTUP_HOME: '/root/.rustup',
    // As GOTOOLCHAIN=local for go: a rust-toolchain.toml naming components the host lacks (rust-src, llvm-tools)
    // made rustup try to download them, offline into a read-only ~/.rustup, so cargo never started; the
    // installed toolchain runs instead.
    RUSTUP_AUTO_INSTALL: '0',
    CARGO_TARGET_DIR: `${home}/cargo-target`,
    CARGO_NET_OFFLINE: 'true',
    npm_config_offline: 'true',
    npm_config_cache: `${home}/.npm`,
  };
  // A module cache the host already filled is offered read-only, so offline builds of modules with
  // dependencies can work; go never writes to it with GOPROXY=off and -mod=mod.
  if (existsSync('/root/go/pkg/mod')) env.GOMODCACHE = '/root/go/pkg/mod';
  return env;
}

export interface BwrapPlan {
  /** Host path of the overlay's merged directory (mounted by the wrapper before bwrap starts). */
  merged: string;
  /** Host directory that becomes /tmp. */
  tmp: string;
  /** Absolute path inside the sandbox to start in. */
  cwd: string;
  env: Record<string, string>;
  readOnlyPaths: readonly string[];
  /** Hidden inside the sandbox if they exist and fall under a read-only path. */
  maskedPaths: readonly string[];
}

function isUnder(p: string, dir: string): boolean {
  const rel = path.relative(dir, p);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** bwrap arguments up to and including `--`; the command's argv follows. Status JSON goes to fd 3. */
export function bwrapArgs(plan: BwrapPlan): string[] {
  const a: string[] = [
    // A user namespace mapping only root to root, then no capabilities at all: root inside can neither mount,
    // nor remount the read-only binds, nor reach the host's cgroups, and may not nest further namespaces.
    '--unshare-user', '--uid', '0', '--gid', '0', '--disable-userns', '--cap-drop', 'ALL',
    '--unshare-pid', '--unshare-net', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup-try',
    '--hostname', 'sandbox',
    '--die-with-parent', '--new-session',
  ];
  const bound: string[] = [];
  for (const p of plan.readOnlyPaths) {
    let st;
    try {
      st = lstatSync(p);
    } catch {
      continue;
    }
    if (st.isSymbolicLink()) {
      a.push('--symlink', readlinkSync(p), p);
    } else if (st.isDirectory() || st.isFile()) {
      a.push('--ro-bind', p, p);
      bound.push(p);
    }
  }
  a.push('--dev', '/dev', '--proc', '/proc', '--tmpfs', '/dev/shm');
  a.push('--bind', plan.tmp, '/tmp', '--symlink', '/tmp', '/var/tmp');
  a.push('--bind', plan.merged, WORKDIR);
  for (const m of plan.maskedPaths) {
    if (!bound.some((b) => isUnder(m, b))) continue;
    let st;
    try {
      st = statSync(m);
    } catch {
      continue;
    }
    if (st.isDirectory()) a.push('--tmpfs', m, '--remount-ro', m);
    else a.push('--ro-bind', '/dev/null', m);
  }
  a.push('--remount-ro', '/', '--chdir', plan.cwd, '--clearenv');
  for (const [k, v] of Object.entries(plan.env)) a.push('--setenv', k, v);
  a.push('--json-status-fd', '3', '--');
  return a;
}

/** PATH for the trusted host tools the backend starts itself (unshare, mount, cp), independent of the caller's PATH. */
export const HOST_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export function isExecutable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function findExecutable(name: string): string | null {
  const dirs = [...(process.env.PATH ?? '').split(':'), ...HOST_PATH.split(':')].filter((d) => path.isAbsolute(d));
  for (const dir of dirs) {
    const p = path.join(dir, name);
    if (isExecutable(p)) return p;
  }
  return null;
}
