/** History-aware injection: real past changes of the repository, found with git log and reverted. */
import { shQuote } from '../sandbox/shell.js';
import type { SandboxProvider } from '../sandbox/types.js';

export interface HistoryCommit {
  sha: string;
  subject: string;
  /** Code files (that still exist) the commit changed. */
  files: string[];
  isFix: boolean;
  /** 0 = newest. */
  age: number;
}

const FIX_RE = /\b(fix(es|ed)?|bug|issue|crash|error|regression|wrong|incorrect)\b/i;
const q = shQuote;

/** Git runs inside the sandbox: a repository's own git config (hooks, fsmonitor) must never run on the host. */
export async function historyCandidates(provider: SandboxProvider, repoDir: string, sources: string[]): Promise<HistoryCommit[]> {
  const sb = await provider.create({ base: repoDir });
  try {
    const r = await sb.exec(`git log --no-merges --format='@@%H%x09%P%x09%s' --name-only -n 300 2>/dev/null`, { timeoutMs: 30_000 });
    if (r.exitCode !== 0) return [];
    const code = new Set(sources);
    const out: HistoryCommit[] = [];
    let age = 0;
    for (const block of r.stdout.split('@@').slice(1)) {
      const [head, ...names] = block.split('\n');
      const [sha, parents, subject = ''] = head.split('\t');
      if (!parents) continue; // the root commit has nothing to revert to
      const files = names.map((n) => n.trim()).filter((n) => code.has(n));
      if (files.length) out.push({ sha, subject, files, isFix: FIX_RE.test(subject), age });
      age++;
    }
    return out;
  } finally {
    await sb.dispose();
  }
}

/**
 * Reverts the commit's changes to code files on top of the current tree: the reverse patch when it still applies,
 * else the files as they were before the commit (whole-file revert). Returns the new contents, or null.
 */
export async function revertCommit(provider: SandboxProvider, repoDir: string, c: HistoryCommit, sources: string[]): Promise<Map<string, string | null> | null> {
  const sb = await provider.create({ base: repoDir });
  try {
    const files = c.files.filter((f) => sources.includes(f)).map(q).join(' ');
    // The commit's own change, as closely as the code has moved since: exactly; with one line of context (the lines
    // around a hunk are what later commits touch most); the hunks that still apply. Only where none does, the files
    // as they were before it, which also undoes every later change to them: so only a file whose later changes are
    // at most twice the commit's own (in changed lines: the commit is a third of the revert or more), else the
    // "revert" of a two-line commit to a file rewritten since is that file as it was years ago, a removal of
    // everything added after, named after a commit it is not.
    const lines = (range: string) => `$(git diff --numstat ${range} -- "$f" | awk '{ n += $1 + $2 } END { print n + 0 }')`;
    const steps = [
      `git show --format= --binary ${c.sha} -- ${files} > /tmp/p.diff && git apply -R --whitespace=nowarn /tmp/p.diff`,
      'git apply -R -C1 --whitespace=nowarn /tmp/p.diff',
      'git apply -R -C1 --reject --whitespace=nowarn /tmp/p.diff 2>/dev/null; git diff --quiet -- . ":(exclude)*.rej" && exit 1; find . -name "*.rej" -newer /tmp/p.diff -delete; exit 0',
      // A commit made while the files had CRLF line endings, converted to LF since: none of its lines matches the
      // files as they are. Its change, its lines' CRs dropped, where the files now have none.
      `cr=$(printf '\\r'); grep -q "$cr" /tmp/p.diff && ! grep -qs "$cr" -- ${files} && sed "s/$cr\\$//" /tmp/p.diff > /tmp/p-lf.diff && { git apply -R -C1 --whitespace=nowarn /tmp/p-lf.diff || { git apply -R -C1 --reject --whitespace=nowarn /tmp/p-lf.diff 2>/dev/null; git diff --quiet -- . ":(exclude)*.rej" && exit 1; find . -name "*.rej" -newer /tmp/p-lf.diff -delete; exit 0; }; }`,
      `for f in ${files}; do git cat-file -e ${c.sha}^:"$f" 2>/dev/null && [ ${lines(c.sha)} -le $((2 * ${lines(`${c.sha}^ ${c.sha}`)})) ] && git show ${c.sha}^:"$f" > "$f"; done; true`,
    ];
    for (const step of steps) {
      if ((await sb.exec(step, { timeoutMs: 30_000 })).exitCode === 0) break;
    }
    const out = new Map<string, string | null>();
    for (const f of c.files) {
      const before = await sb.exec(`cat -- ${q(f)}`);
      if (before.exitCode === 0) out.set(f, before.stdout);
    }
    // Only files that changed count.
    const orig = await provider.create({ base: repoDir });
    try {
      for (const [f, text] of [...out]) {
        const o = await orig.exec(`cat -- ${q(f)}`);
        if (o.exitCode === 0 && o.stdout === text) out.delete(f);
      }
    } finally { await orig.dispose(); }
    return out.size ? out : null;
  } finally {
    await sb.dispose();
  }
}
