import { shQuote } from '../sandbox/shell.js';
import type { Artifact } from '../artifact/artifact.js';
import { filterDiff, touchedPaths } from '../artifact/diff.js';
import type { SandboxProvider } from '../sandbox/types.js';
import { makeDiff } from '../repo/diffgen.js';
import { readOriginal, treeState } from '../repo/tree.js';

/**
 * A failed solver attempt makes a new, harder bug: original + bug + weakening + the failed patch. As an artifact
 * its bug_inject.diff is the composed change of the code files against the original; the specification
 * (weakening, script, parser, oracle files) is the parent's. Returns null when the patch changes no code.
 */
export async function composeHigherOrder(provider: SandboxProvider, repoDir: string, parent: Artifact, failedPatch: string): Promise<Artifact | null> {
  const oracle = new Set(parent.testFiles);
  const code = failedPatch.trim() ? filterDiff(failedPatch, (p) => !oracle.has(p)) : '';
  if (!code.trim()) return null;
  const files = [...new Set([...touchedPaths(parent.bugInject), ...touchedPaths(code)])];
  const sb = await treeState(provider, repoDir, [{ diff: parent.bugInject, what: 'bug_inject.diff' }, { diff: code, what: 'the failed patch' }]);
  try {
    const changes = [];
    for (const f of files) {
      const now = await sb.exec(`cat -- ${shQuote(f)} 2>/dev/null`);
      const before = await readOriginal(repoDir, f);
      changes.push({ path: f, before: before ? before.toString('utf8') : null, after: now.exitCode === 0 ? now.stdout : null });
    }
    const bugInject = await makeDiff(changes);
    if (!bugInject.trim() || bugInject === parent.bugInject) return null;
    return { ...parent, bugInject };
  } finally {
    await sb.dispose();
  }
}
