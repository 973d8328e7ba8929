import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Directories that hold dependencies, build output or tool state rather than the project's own code. */
export const SKIPPED_DIRS: ReadonlySet<string> = new Set([
  'node_modules',
  'bower_components',
  'vendor',
  '.venv',
  'venv',
  'site-packages',
  'target',
  'dist',
  'build',
  '.git',
  '__pycache__',
]);

/** Big repositories must not stall detection; past this many files the listing is cut. */
const MAX_FILES = 200_000;
/** Generated or data files can be huge; content heuristics only need the start of a file. */
const MAX_READ_BYTES = 1024 * 1024;

/** A read-only view of a repository's files, listed once; file contents are read lazily and cached. */
export class RepoTree {
  private readonly cache = new Map<string, Promise<string>>();

  private constructor(
    readonly root: string,
    /** Posix relative paths, sorted. */
    readonly files: readonly string[],
    private readonly fileSet: ReadonlySet<string>,
  ) {}

  static async scan(root: string): Promise<RepoTree> {
    const files: string[] = [];
    await walk(root, '', files);
    files.sort();
    return new RepoTree(root, files, new Set(files));
  }

  has(relPath: string): boolean {
    return this.fileSet.has(relPath);
  }

  /** File text (up to 1 MiB), or '' when unreadable. */
  read(relPath: string): Promise<string> {
    let text = this.cache.get(relPath);
    if (!text) {
      text = readFile(join(this.root, relPath))
        .then((buf) => buf.subarray(0, MAX_READ_BYTES).toString('utf8'))
        .catch(() => '');
      this.cache.set(relPath, text);
    }
    return text;
  }
}

async function walk(root: string, rel: string, out: string[]): Promise<void> {
  if (out.length >= MAX_FILES) return;
  let entries;
  try {
    entries = await readdir(join(root, rel), { withFileTypes: true });
  } catch {
    return;
  }
  // A virtualenv may have any name (env/, .tox/py311/); pyvenv.cfg marks it whatever it is called.
  if (rel !== '' && entries.some((e) => e.isFile() && e.name === 'pyvenv.cfg')) return;
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const childRel = rel === '' ? entry.name : `${rel}/${entry.name}`;
    if (entry.isDirectory()) {
      // Hidden directories hold tool state (.tox, .mypy_cache, .github), not project tests or code.
      if (SKIPPED_DIRS.has(entry.name) || entry.name.startsWith('.')) continue;
      await walk(root, childRel, out);
    } else if (entry.isFile()) {
      out.push(childRel);
      if (out.length >= MAX_FILES) return;
    }
    // Symlinks are not followed: they can loop or point outside the repository.
  }
}
