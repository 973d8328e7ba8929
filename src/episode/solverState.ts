import type { Artifact } from '../artifact/artifact.js';
import type { SandboxProvider, SnapshotRef } from '../sandbox/types.js';
import { applyDiff } from '../repo/testrun.js';

/**
 * The solver's starting state: original + bug_inject.diff + test_weaken.diff, then .git deleted and replaced by
 * one fresh commit, so no history and no original code is reachable. Frozen as a snapshot that the N attempts
 * start from without re-applying anything.
 */
export async function buildSolverState(provider: SandboxProvider, repoDir: string, a: Artifact, extraPatch?: string, labels?: Record<string, string>): Promise<SnapshotRef> {
  const sb = await provider.create({ base: repoDir }, undefined, labels);
  try {
    await applyDiff(sb, a.bugInject, 'bug_inject.diff');
    await applyDiff(sb, a.testWeaken, 'test_weaken.diff');
    if (extraPatch) await applyDiff(sb, extraPatch, 'the higher-order patch');
    const r = await sb.exec(
      'rm -rf .git && git init -q -b main && git add -A && git -c user.name=ssr -c user.email=ssr@localhost commit -qm "initial commit" --no-verify',
      { timeoutMs: 120_000 },
    );
    if (r.exitCode !== 0) throw new Error(`could not reset the history of the solver state: ${r.stderr.trim()}`);
    return await sb.snapshot();
  } finally {
    await sb.dispose();
  }
}
