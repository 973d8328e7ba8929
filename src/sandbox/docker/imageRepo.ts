/**
 * A repository given as a Docker image: the method's only input (source plus installed dependencies, no test
 * command, no language label). Its work directory is found inside the image when the config does not name it,
 * and copied out once into a read-only host mirror that the embedded agents parse (tree-sitter, runner discovery):
 * parsing is not running. Everything that runs (tests, git, agent commands) runs in containers of the image.
 *
 * Mirror layout: <home>/images/<image id 12>-<workdir hash>/tree, beside it ssr-image.json, written last.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type Docker from 'dockerode';
import { SandboxError } from '../errors.js';
import { docker, LABEL, managedLabels, requireEngine } from './engine.js';

export const MARKER = 'ssr-image.json';

export interface ImageMarker {
  image: string;
  imageId: string;
  workdir: string;
  /** How the workdir was chosen: the config, the git top-level, or the largest source tree. */
  workdirFrom: 'config' | 'git' | 'largest-source-tree';
}

export class ImageRepoError extends SandboxError {
  override readonly name: string = 'ImageRepoError';
}

const markers = new Map<string, ImageMarker | null>();

/** The image a base directory mirrors, or null for an ordinary directory. */
export async function readImageMarker(base: string): Promise<ImageMarker | null> {
  if (path.basename(base) !== 'tree') return null;
  if (markers.has(base)) return markers.get(base)!;
  let m: ImageMarker | null = null;
  try {
    m = JSON.parse(await readFile(path.join(path.dirname(base), MARKER), 'utf8')) as ImageMarker;
  } catch {
    m = null;
  }
  markers.set(base, m);
  return m;
}

/** Files counted when no git top-level names the repository. */
const SOURCE_EXT = ['py', 'js', 'mjs', 'cjs', 'ts', 'tsx', 'jsx', 'go', 'rs', 'java', 'kt', 'c', 'h', 'cc', 'cpp', 'hpp', 'rb', 'php', 'cs', 'scala', 'swift'];

/**
 * Prints the git top-levels (one per line, prefixed "git ") near the image's WorkingDir and elsewhere, then every
 * source file outside system and dependency directories (prefixed "src "). Runs in a container with no network.
 */
const PRUNE_SYSTEM = '-path /proc -o -path /sys -o -path /dev -o -path /usr -o -path /lib -o -path /lib64 -o -path /bin -o -path /sbin -o -path /etc -o -path /var -o -path /run -o -path /tmp -o -path /boot';
const PRUNE_DEPS = '-name node_modules -o -name site-packages -o -name .git -o -name .venv -o -name target -o -name vendor';
const MANIFESTS = ['pyproject.toml', 'setup.py', 'setup.cfg', 'package.json', 'go.mod', 'Cargo.toml', 'pom.xml', 'build.gradle', 'build.gradle.kts', 'CMakeLists.txt', 'Makefile', 'Gemfile', 'composer.json'];

/**
 * Prints the git top-level of the image's WorkingDir ("wdgit "), every .git outside system directories ("git "),
 * project manifests ("manifest ") and source files ("src ") outside system and dependency directories. Runs in a
 * container with no network.
 */
const PROBE = `wd=$(pwd)
t=$(git -c safe.directory='*' -C "$wd" rev-parse --show-toplevel 2>/dev/null) && echo "wdgit $t"
find / -xdev \\( ${PRUNE_SYSTEM} \\) -prune -o -maxdepth 5 -name .git -print 2>/dev/null | sed 's/^/git /'
find / -xdev \\( ${PRUNE_SYSTEM} -o ${PRUNE_DEPS} \\) -prune -o -maxdepth 6 -type f \\( ${MANIFESTS.map((m) => `-name '${m}'`).join(' -o ')} \\) -print 2>/dev/null | sed 's/^/manifest /'
find / -xdev \\( ${PRUNE_SYSTEM} -o ${PRUNE_DEPS} \\) -prune -o -type f \\( ${SOURCE_EXT.map((e) => `-name '*.${e}'`).join(' -o ')} \\) -print 2>/dev/null | head -n 200000 | sed 's/^/src /'`;

/** Chooses the work directory from the probe's output: the WorkingDir's git top-level, else the one git repo with most sources, else the largest source tree. */
export function chooseWorkdir(probe: string): { workdir: string; from: ImageMarker['workdirFrom'] } | null {
  const lines = probe.split('\n');
  const wdgit = lines.find((l) => l.startsWith('wdgit '))?.slice(6).trim();
  if (wdgit) return { workdir: wdgit, from: 'git' };
  const srcs = lines.filter((l) => l.startsWith('src ')).map((l) => l.slice(4));
  const gits = lines.filter((l) => l.startsWith('git ')).map((l) => path.posix.dirname(l.slice(4).trim()));
  const under = (dir: string) => srcs.filter((s) => s.startsWith(dir === '/' ? '/' : `${dir}/`)).length;
  if (gits.length) {
    const best = [...gits].sort((a, b) => under(b) - under(a) || a.length - b.length)[0]!;
    return { workdir: best, from: 'git' };
  }
  if (!srcs.length) return null;
  // A project manifest marks a repository root: the one with most sources under it (the shallowest on a tie).
  const manifests = [...new Set(lines.filter((l) => l.startsWith('manifest ')).map((l) => path.posix.dirname(l.slice(9).trim())))];
  if (manifests.length) {
    const best = manifests.sort((a, b) => under(b) - under(a) || a.length - b.length)[0]!;
    if (under(best) > 0) return { workdir: best, from: 'largest-source-tree' };
  }
  // Count sources per ancestor directory; the deepest one holding at least 90% of all sources is the tree.
  const counts = new Map<string, number>();
  for (const s of srcs) {
    const parts = s.split('/').filter(Boolean);
    for (let i = 1; i < parts.length; i++) {
      const d = '/' + parts.slice(0, i).join('/');
      counts.set(d, (counts.get(d) ?? 0) + 1);
    }
  }
  const total = srcs.length;
  const candidates = [...counts.entries()].filter(([, n]) => n >= 0.9 * total).sort((a, b) => b[0].split('/').length - a[0].split('/').length);
  return { workdir: candidates[0]?.[0] ?? '/', from: 'largest-source-tree' };
}

/** The stdout frames of a non-TTY container log (8-byte headers: stream, 0, 0, 0, length). */
function demuxStdout(buf: Buffer): string {
  let out = '';
  while (buf.length >= 8) {
    const len = buf.readUInt32BE(4);
    if (buf[0] === 1) out += buf.subarray(8, 8 + len).toString('utf8');
    buf = buf.subarray(8 + len);
  }
  return out;
}

async function probeWorkdir(d: Docker, imageId: string, ref: string): Promise<{ workdir: string; from: ImageMarker['workdirFrom'] }> {
  const c = await d.createContainer({
    Image: imageId, Entrypoint: [], Cmd: ['/bin/sh', '-c', PROBE], NetworkDisabled: true, User: '0:0',
    Labels: managedLabels('probe', { [LABEL.source]: ref }),
    HostConfig: { NetworkMode: 'none', Memory: 512 * 1024 ** 2, PidsLimit: 64, CapDrop: ['ALL'], SecurityOpt: ['no-new-privileges'] },
  });
  try {
    await c.start();
    const timer = setTimeout(() => { c.kill().catch(() => undefined); }, 120_000);
    await c.wait();
    clearTimeout(timer);
    // Read from the container's log once it has exited: an attach made before start can miss the output of a
    // probe that finishes before the attach is established (seen under load).
    const chosen = chooseWorkdir(demuxStdout(await c.logs({ stdout: true, stderr: false, follow: false }) as unknown as Buffer));
    if (!chosen) throw new ImageRepoError(`image ${ref} holds no git repository and no source files outside system directories; name its workdir in the config`);
    return chosen;
  } finally {
    await c.remove({ force: true }).catch(() => undefined);
  }
}

/** The probe's answer, kept per image so it runs once. */
async function discoveredWorkdir(home: string, d: Docker, imageId: string, idShort: string, ref: string): Promise<{ workdir: string; from: ImageMarker['workdirFrom'] }> {
  const file = path.join(home, 'images', `${idShort}.workdir.json`);
  try {
    return JSON.parse(await readFile(file, 'utf8')) as { workdir: string; from: ImageMarker['workdirFrom'] };
  } catch {
    const chosen = await probeWorkdir(d, imageId, ref);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(`${file}.${process.pid}`, JSON.stringify(chosen));
    await rename(`${file}.${process.pid}`, file);
    return chosen;
  }
}

/** Untars an archive stream from the engine into `dest`, dropping its top directory. */
function untar(stream: NodeJS.ReadableStream, dest: string): Promise<void> {
  return new Promise((resolve, reject) => {
    // GNU tar refuses members with '..' and absolute names by default; ownership is ours, not the image's.
    const t = spawn('tar', ['-x', '-C', dest, '--strip-components=1', '--no-same-owner', '--delay-directory-restore'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    t.stderr.on('data', (b: Buffer) => { err += b.toString(); });
    t.once('close', (rc) => (rc === 0 ? resolve() : reject(new ImageRepoError(`extracting the image's work directory failed: ${err.trim().slice(-500)}`))));
    stream.pipe(t.stdin);
    stream.on('error', (e: Error) => { t.kill(); reject(e); });
  });
}

export interface PreparedImageRepo { mirror: string; marker: ImageMarker }

/**
 * Makes sure an image repository has a host mirror (idempotent and safe to race: the marker is written last,
 * by rename). Throws ImageRepoError when the image is not present (there is no registry to pull from).
 */
export async function prepareImageRepo(home: string, spec: { image: string; workdir?: string }, d: Docker = docker()): Promise<PreparedImageRepo> {
  await requireEngine(d);
  let imageId: string;
  try {
    imageId = (await d.getImage(spec.image).inspect()).Id;
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 404) {
      throw new ImageRepoError(`image ${spec.image} is not in the local Docker engine, and no registry is reachable: build it (\`npm run images\` builds the examples) or \`docker load\` it`);
    }
    throw e;
  }
  const idShort = imageId.replace(/^sha256:/, '').slice(0, 12);
  const chosen = spec.workdir ? { workdir: spec.workdir, from: 'config' as const } : await discoveredWorkdir(home, d, imageId, idShort, spec.image);
  if (!path.posix.isAbsolute(chosen.workdir)) throw new ImageRepoError(`workdir ${chosen.workdir} of image ${spec.image} must be an absolute path`);
  // Keyed by the resolved workdir: a worker that is told the workdir finds the mirror another one discovered.
  const dir = path.join(home, 'images', `${idShort}-${createHash('sha256').update(chosen.workdir).digest('hex').slice(0, 8)}`);
  const mirror = path.join(dir, 'tree');
  try {
    const marker = JSON.parse(await readFile(path.join(dir, MARKER), 'utf8')) as ImageMarker;
    if (marker.imageId === imageId) return { mirror, marker };
  } catch {
    // Not prepared yet.
  }
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  await mkdir(tmp, { recursive: true });
  const c = await d.createContainer({ Image: imageId, Entrypoint: [], Cmd: ['true'], NetworkDisabled: true, Labels: managedLabels('probe', { [LABEL.source]: spec.image }), HostConfig: { NetworkMode: 'none' } });
  try {
    let archive: NodeJS.ReadableStream;
    try {
      archive = await c.getArchive({ path: chosen.workdir });
    } catch (e) {
      throw new ImageRepoError(`workdir ${chosen.workdir} does not exist in image ${spec.image}: ${(e as Error).message}`);
    }
    await mkdir(path.join(tmp, 'tree'));
    await untar(archive, path.join(tmp, 'tree'));
    const marker: ImageMarker = { image: spec.image, imageId, workdir: chosen.workdir, workdirFrom: chosen.from };
    await writeFile(path.join(tmp, MARKER), JSON.stringify(marker, null, 2));
    await mkdir(path.dirname(dir), { recursive: true });
    try {
      await rename(tmp, dir);
    } catch {
      // Another process prepared it first: theirs is as good.
      await rm(tmp, { recursive: true, force: true });
    }
    markers.delete(mirror);
    return { mirror, marker: JSON.parse(await readFile(path.join(dir, MARKER), 'utf8')) as ImageMarker };
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  } finally {
    await c.remove({ force: true }).catch(() => undefined);
  }
}
