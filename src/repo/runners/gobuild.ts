/**
 * Which Go files `go test` compiles: build constraints (a `//go:build` line, or the older `// +build` lines, in the
 * file's header) and `_GOOS`/`_GOARCH` file-name suffixes, evaluated as the toolchain that runs the tests evaluates
 * them without `-tags`. A file they exclude (`//go:build ignore`, a pre-generics copy behind `!go1.18`, a
 * `_windows.go`) is not code the tests run: a bug injected there breaks nothing, a test declared there never reports.
 */
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface GoEnv { goos: string; goarch: string; /** The toolchain's minor version: go1.N tags up to it hold. */ minor: number; cgo: boolean }

const KNOWN_OS = new Set(['aix', 'android', 'darwin', 'dragonfly', 'freebsd', 'hurd', 'illumos', 'ios', 'js', 'linux', 'nacl', 'netbsd', 'openbsd', 'plan9', 'solaris', 'wasip1', 'windows', 'zos']);
const KNOWN_ARCH = new Set(['386', 'amd64', 'amd64p32', 'arm', 'armbe', 'arm64', 'arm64be', 'loong64', 'mips', 'mipsle', 'mips64', 'mips64le', 'mips64p32', 'mips64p32le', 'ppc', 'ppc64', 'ppc64le', 'riscv', 'riscv64', 's390', 's390x', 'sparc', 'sparc64', 'wasm']);
const UNIX = new Set(['aix', 'android', 'darwin', 'dragonfly', 'freebsd', 'hurd', 'illumos', 'ios', 'linux', 'netbsd', 'openbsd', 'solaris']);

let host: GoEnv | null | undefined;

/** The Go toolchain on this machine's PATH, as `go env` reports it; null where there is none (nothing is filtered). */
export function hostGoEnv(): GoEnv | null {
  if (host !== undefined) return host;
  const r = spawnSync('go', ['env', 'GOVERSION', 'GOOS', 'GOARCH', 'CGO_ENABLED'], {
    cwd: tmpdir(), encoding: 'utf8', timeout: 20_000, env: { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '' },
  });
  const [version, goos, goarch, cgo] = (r.status === 0 ? r.stdout : '').split('\n').map((s) => s.trim());
  const minor = /^go1\.(\d+)/.exec(version ?? '');
  host = minor && goos && goarch ? { goos, goarch, minor: Number(minor[1]), cgo: cgo === '1' } : null;
  return host;
}

function tagHolds(tag: string, env: GoEnv): boolean {
  if (tag === env.goos || tag === env.goarch || tag === 'gc') return true;
  if (tag === 'unix') return UNIX.has(env.goos);
  if (tag === 'cgo') return env.cgo;
  // android and illumos imply linux and solaris; ios implies darwin.
  if ((tag === 'linux' && env.goos === 'android') || (tag === 'solaris' && env.goos === 'illumos') || (tag === 'darwin' && env.goos === 'ios')) return true;
  const v = /^go1\.(\d+)$/.exec(tag);
  if (v) return Number(v[1]) <= env.minor;
  // Any other tag (ignore, integration, gccgo, ...) is set only by -tags, which the test script never passes.
  return false;
}

/** A `//go:build` expression; null where it does not parse (the file is then kept). */
function evalExpr(expr: string, env: GoEnv): boolean | null {
  const tokens = expr.match(/&&|\|\||[!()]|[A-Za-z0-9_.]+|\S/g) ?? [];
  let i = 0;
  const or = (): boolean | null => {
    let v = and();
    while (v !== null && tokens[i] === '||') { i++; const r = and(); v = r === null ? null : v || r; }
    return v;
  };
  const and = (): boolean | null => {
    let v = not();
    while (v !== null && tokens[i] === '&&') { i++; const r = not(); v = r === null ? null : v && r; }
    return v;
  };
  const not = (): boolean | null => {
    if (tokens[i] === '!') { i++; const v = not(); return v === null ? null : !v; }
    if (tokens[i] === '(') { i++; const v = or(); if (tokens[i] !== ')') return null; i++; return v; }
    const t = tokens[i];
    if (t === undefined || !/^[A-Za-z0-9_.]+$/.test(t)) return null;
    i++;
    return tagHolds(t, env);
  };
  const v = or();
  return i === tokens.length ? v : null;
}

/** The constraint lines of a file's header: the comments and blank lines before its package clause. */
function header(text: string): string[] {
  const out: string[] = [];
  let inBlock = false;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (inBlock) { if (line.includes('*/')) inBlock = false; continue; }
    if (line === '' || line.startsWith('//')) { out.push(line); continue; }
    if (line.startsWith('/*')) { inBlock = !line.includes('*/'); continue; }
    break;
  }
  return out;
}

/** Whether `go test` compiles the file at `file` (relative path) holding `text`, under `env`. */
export function goFileBuilds(file: string, text: string, env: GoEnv): boolean {
  // File name: everything after the first underscore, less a _test suffix, may end in _GOOS, _GOARCH or both.
  const base = path.posix.basename(file).replace(/\.go$/, '');
  const u = base.indexOf('_');
  if (u >= 0) {
    const parts = base.slice(u).split('_');
    if (parts[parts.length - 1] === 'test') parts.pop();
    const n = parts.length;
    if (n >= 2 && KNOWN_OS.has(parts[n - 2]!) && KNOWN_ARCH.has(parts[n - 1]!)) {
      if (!tagHolds(parts[n - 2]!, env) || !tagHolds(parts[n - 1]!, env)) return false;
    } else if (n >= 1 && (KNOWN_OS.has(parts[n - 1]!) || KNOWN_ARCH.has(parts[n - 1]!))) {
      if (!tagHolds(parts[n - 1]!, env)) return false;
    }
  }
  const lines = header(text);
  const goBuild = lines.find((l) => /^\/\/go:build\s/.test(l));
  if (goBuild) return evalExpr(goBuild.replace(/^\/\/go:build\s+/, ''), env) ?? true;
  // The older form: lines AND-ed, a line's space-separated options OR-ed, an option's comma-separated terms AND-ed.
  for (const l of lines) {
    const m = /^\/\/\s*\+build\s+(.*)$/.exec(l);
    if (!m) continue;
    const holds = m[1]!.trim().split(/\s+/).some((opt) => opt.split(',').every((term) => {
      const neg = term.startsWith('!');
      const t = neg ? term.slice(1) : term;
      return /^[A-Za-z0-9_.]+$/.test(t) ? tagHolds(t, env) !== neg : true;
    }));
    if (!holds) return false;
  }
  return true;
}
