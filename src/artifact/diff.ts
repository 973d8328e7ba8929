/**
 * A small, strict reader of git's unified diffs: enough to know which files a diff touches, to reject
 * malformed or binary diffs with a clear reason, and to reverse a diff (the solver's task is the reverse
 * of test_weaken.diff).
 */

export class DiffError extends Error {
  constructor(readonly code: 'malformed' | 'binary' | 'empty', message: string) {
    super(message);
    this.name = 'DiffError';
  }
}

export interface Hunk {
  oldStart: number; oldLines: number; newStart: number; newLines: number;
  header: string; // text after the second @@
  lines: string[]; // each begins with ' ', '+', '-' or '\'
}

export interface FileDiff {
  oldPath: string | null; // null for a new file
  newPath: string | null; // null for a deleted file
  headerLines: string[]; // extended header lines (index, mode) kept verbatim
  hunks: Hunk[];
}

const HUNK_RE = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@(.*)$/;

function stripPrefix(p: string): string | null {
  if (p === '/dev/null') return null;
  const unq = p.startsWith('"') ? JSON.parse(p) as string : p;
  return unq.replace(/^[ab]\//, '').replace(/\t.*$/, '');
}

export function parseDiff(text: string): FileDiff[] {
  if (text.includes('\0')) throw new DiffError('binary', 'diff contains NUL bytes (binary content)');
  const lines = text.split('\n');
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  const files: FileDiff[] = [];
  let cur: FileDiff | null = null;
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (line.startsWith('diff --git ')) {
      cur = { oldPath: null, newPath: null, headerLines: [], hunks: [] };
      const m = /^diff --git (?:"?a\/)(.+?)"? (?:"?b\/)(.+?)"?$/.exec(line);
      if (m) { cur.oldPath = m[1]; cur.newPath = m[2]; }
      files.push(cur);
      i++;
      continue;
    }
    if (line.startsWith('GIT binary patch') || /^Binary files .* differ$/.test(line)) {
      throw new DiffError('binary', `binary diff for ${cur?.newPath ?? cur?.oldPath ?? 'a file'}: only text diffs are accepted`);
    }
    if (line.startsWith('--- ')) {
      if (!cur || cur.hunks.length) { cur = { oldPath: null, newPath: null, headerLines: [], hunks: [] }; files.push(cur); }
      const next = lines[i + 1];
      if (next === undefined || !next.startsWith('+++ ')) throw new DiffError('malformed', `line ${i + 1}: '---' not followed by '+++'`);
      cur.oldPath = stripPrefix(line.slice(4));
      cur.newPath = stripPrefix(next.slice(4));
      i += 2;
      continue;
    }
    if (line.startsWith('@@')) {
      if (!cur) throw new DiffError('malformed', `line ${i + 1}: hunk before any file header`);
      const m = HUNK_RE.exec(line);
      if (!m) throw new DiffError('malformed', `line ${i + 1}: bad hunk header '${line}'`);
      const h: Hunk = {
        oldStart: +m[1], oldLines: m[2] === undefined ? 1 : +m[2],
        newStart: +m[3], newLines: m[4] === undefined ? 1 : +m[4],
        header: m[5], lines: [],
      };
      i++;
      let o = 0, n = 0;
      while (i < lines.length && (o < h.oldLines || n < h.newLines || lines[i].startsWith('\\'))) {
        const l = lines[i];
        const c = l[0];
        if (c === ' ' || l === '') { o++; n++; } else if (c === '-') o++; else if (c === '+') n++;
        else if (c !== '\\') break;
        h.lines.push(l === '' ? ' ' : l);
        i++;
      }
      if (o !== h.oldLines || n !== h.newLines) {
        throw new DiffError('malformed', `hunk at line ${i} of ${cur.newPath ?? cur.oldPath}: counts say -${h.oldLines} +${h.newLines}, body has -${o} +${n}`);
      }
      cur.hunks.push(h);
      continue;
    }
    if (cur && !cur.hunks.length) {
      if (line.startsWith('new file mode')) cur.oldPath = null;
      if (line.startsWith('deleted file mode')) cur.newPath = null;
      if (/^(rename|copy) (from|to) /.test(line)) {
        const p = line.replace(/^(rename|copy) (from|to) /, '');
        if (/ from /.test(line)) cur.oldPath = p; else cur.newPath = p;
      }
      cur.headerLines.push(line);
      i++;
      continue;
    }
    if (line.trim() === '') { i++; continue; }
    throw new DiffError('malformed', `line ${i + 1}: unexpected '${line.slice(0, 80)}'`);
  }
  return files;
}

/** Every path a diff reads or writes (old and new names), deduplicated. */
export function touchedPaths(text: string): string[] {
  const s = new Set<string>();
  for (const f of parseDiff(text)) {
    if (f.oldPath) s.add(f.oldPath);
    if (f.newPath) s.add(f.newPath);
  }
  return [...s].sort();
}

/** A path that is absolute or climbs out of the repository. */
export function escapesRepo(p: string): boolean {
  if (p.startsWith('/') || p.includes('\0')) return true;
  const parts = p.split('/');
  let depth = 0;
  for (const part of parts) {
    if (part === '..') depth--; else if (part !== '.' && part !== '') depth++;
    if (depth < 0) return true;
  }
  return false;
}

export function renderDiff(files: FileDiff[]): string {
  const out: string[] = [];
  for (const f of files) {
    const a = f.oldPath ?? f.newPath, b = f.newPath ?? f.oldPath;
    out.push(`diff --git a/${a} b/${b}`);
    out.push(...f.headerLines);
    if (f.hunks.length) {
      out.push(f.oldPath ? `--- a/${f.oldPath}` : '--- /dev/null');
      out.push(f.newPath ? `+++ b/${f.newPath}` : '+++ /dev/null');
    }
    for (const h of f.hunks) {
      out.push(`@@ -${h.oldStart},${h.oldLines} +${h.newStart},${h.newLines} @@${h.header}`);
      out.push(...h.lines);
    }
  }
  return out.length ? out.join('\n') + '\n' : '';
}

/** The diff that undoes `text`: what the solver receives as its specification. */
export function reverseDiff(text: string): string {
  const files = parseDiff(text).map<FileDiff>((f) => ({
    oldPath: f.newPath,
    newPath: f.oldPath,
    headerLines: f.headerLines.map((l) =>
      l.startsWith('new file mode') ? l.replace('new file', 'deleted file')
        : l.startsWith('deleted file mode') ? l.replace('deleted file', 'new file')
          : l.startsWith('index ') ? l.replace(/^index (\w+)\.\.(\w+)/, 'index $2..$1')
            : l.startsWith('old mode') ? l.replace('old mode', 'new mode')
              : l.startsWith('new mode') ? l.replace('new mode', 'old mode') : l),
    hunks: f.hunks.map((h) => ({
      oldStart: h.newStart, oldLines: h.newLines, newStart: h.oldStart, newLines: h.oldLines, header: h.header,
      lines: h.lines.map((l) => (l[0] === '+' ? '-' + l.slice(1) : l[0] === '-' ? '+' + l.slice(1) : l)),
    })),
  }));
  return renderDiff(files);
}

/** Keeps only the file diffs whose path passes `keep` (used to drop test-file edits from a solver patch). */
export function filterDiff(text: string, keep: (p: string) => boolean): string {
  return renderDiff(parseDiff(text).filter((f) => keep((f.newPath ?? f.oldPath)!) && (!f.oldPath || keep(f.oldPath))));
}
