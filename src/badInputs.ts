/**
 * Bad inputs, derived from good ones, for the tests and the soak: every way an injector's artifact or a solver's
 * patch can be broken that the system must survive, each with the typed outcome it must be recorded as. The
 * episode service swaps them in under the `bad-artifact` / `bad-patch` faults (see faults.ts), so a campaign meets
 * them exactly where a policy's real output would enter.
 */
import type { Artifact } from './artifact/artifact.js';
import { parseDiff, renderDiff } from './artifact/diff.js';
import type { CheckFailureCode, CheckName } from './checks/consistency.js';
import type { GradeFailure, RejectedEditCode } from './episode/grade.js';
import { Rng } from './policy/rng.js';

export const BAD_ARTIFACT_KINDS = [
  'malformed-diff', 'binary-diff', 'diff-does-not-apply', 'script-hangs', 'script-forks', 'script-fills-disk',
  'script-uses-network', 'parser-garbage', 'parser-silent', 'test-files-outside-repo',
] as const;
export type BadArtifactKind = (typeof BAD_ARTIFACT_KINDS)[number];

export const BAD_PATCH_KINDS = ['edits-test-files', 'deletes-tests', 'malformed', 'binary'] as const;
export type BadPatchKind = (typeof BAD_PATCH_KINDS)[number];

export function isBadArtifactKind(s: string): s is BadArtifactKind {
  return (BAD_ARTIFACT_KINDS as readonly string[]).includes(s);
}
export function isBadPatchKind(s: string): s is BadPatchKind {
  return (BAD_PATCH_KINDS as readonly string[]).includes(s);
}

export interface BadArtifact {
  kind: BadArtifactKind;
  artifact: Artifact;
  /** The first check that must fail, with its code: the episode's outcome is `invalid:<check>:<code>`. */
  expect: { check: CheckName; code: CheckFailureCode };
}

export interface BadPatch {
  kind: BadPatchKind;
  patch: string;
  /**
   * What grading must record. Test-file edits are dropped before grading (the method restores those files), so
   * whether the rest of the patch solves the bug is the patch's own business: only the rejection is certain.
   */
  expect: { failure?: GradeFailure; rejectedEdits?: RejectedEditCode };
}

export interface BadArtifactOptions {
  /**
   * Where the network-using script tries to connect: a public address by default; a test adds a server of its
   * own on the host's loopback, to see that nothing reached it.
   */
  networkTargets?: { host: string; port: number }[];
}

/** A tiny PNG-like blob, in git's binary patch form: what a bug that adds a binary file looks like. */
const BINARY_SECTION = [
  'diff --git a/assets/ssr-blob.bin b/assets/ssr-blob.bin',
  'new file mode 100644',
  'index 0000000..4f1e2b3',
  'GIT binary patch',
  'literal 8',
  'PcmZ?wbhEHbRA2x901E&H',
  '',
  'literal 0',
  'HcmV?d00001',
  '',
].join('\n');

const MARK = '# ssr bad input:';

/** A prelude runs before the script's own lines, so whatever it does happens before any test runs. */
function prelude(script: string, lines: string[]): string {
  const [first, ...rest] = script.split('\n');
  // Keep a shebang first, where the kernel looks for it.
  return first.startsWith('#!') ? [first, ...lines, ...rest].join('\n') : [...lines, script].join('\n');
}

/** The first '-' line of the first hunk (else its first context line), changed so the file no longer matches. */
function mismatch(diff: string): string {
  const files = parseDiff(diff);
  for (const f of files) {
    for (const h of f.hunks) {
      const i = h.lines.findIndex((l) => l.startsWith('-'));
      const j = i >= 0 ? i : h.lines.findIndex((l) => l.startsWith(' '));
      if (j >= 0) {
        h.lines[j] = `${h.lines[j]}  ssr-line-that-is-not-in-the-file`;
        return renderDiff(files);
      }
    }
  }
  // A diff that only adds whole files: adding one that already exists does not apply either.
  return diff;
}

/** A hunk whose header promises more lines than its body has: git and our reader both refuse it. */
function malformed(diff: string): string {
  const re = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/m;
  if (re.test(diff)) return diff.replace(re, (_m, a: string, b: string | undefined, c: string, d: string | undefined) => `@@ -${a},${Number(b ?? 1) + 7} +${c},${Number(d ?? 1) + 7} @@`);
  return `--- a/${MARK.replace(/\W+/g, '-')}\n@@ -1 +1 @@\n-x\n`;
}

/**
 * Derives a bad artifact from a good one (valid on its repository). `rng` only varies details that do not change
 * the expected outcome (the fill file's name), so any seed gives the same `expect`.
 */
export function badArtifact(a: Artifact, kind: BadArtifactKind, rng: Rng = new Rng(kind), opts: BadArtifactOptions = {}): BadArtifact {
  const tag = rng.int(1 << 30).toString(36);
  const make = (artifact: Artifact, check: CheckName, code: CheckFailureCode): BadArtifact => ({ kind, artifact, expect: { check, code } });
  switch (kind) {
    case 'malformed-diff':
      return make({ ...a, bugInject: malformed(a.bugInject) }, 'test-files', 'malformed-diff');
    case 'binary-diff':
      return make({ ...a, bugInject: a.bugInject + BINARY_SECTION }, 'test-files', 'binary-diff');
    case 'diff-does-not-apply':
      // Well-formed and scoped to code files, so it passes checks 1-4 and fails only when git applies it.
      return make({ ...a, bugInject: mismatch(a.bugInject) }, 'bug-validity', 'patch-does-not-apply');
    case 'script-hangs':
      return make({ ...a, testScript: prelude(a.testScript, [`${MARK} hangs`, 'sleep 2147483647']) }, 'test-script', 'script-timeout');
    case 'script-forks':
      // Forks until the process table is full, then lets its children end and runs the tests as if nothing
      // happened: the limit was still hit, which the sandbox reports whatever the exit status.
      return make({
        ...a,
        testScript: prelude(a.testScript, [
          `${MARK} forks without end`,
          "python3 - <<'SSR_FORKS'",
          'import os, time',
          'kids = []',
          'try:',
          '    for _ in range(100000):',
          '        pid = os.fork()',
          '        if pid == 0:',
          '            time.sleep(1)',
          '            os._exit(0)',
          '        kids.append(pid)',
          'except OSError:',
          '    pass',
          'for k in kids:',
          '    os.waitpid(k, 0)',
          'SSR_FORKS',
        ]),
      }, 'test-script', 'script-forks');
    case 'script-fills-disk':
      // Writes until something stops it; without the sandbox's limits that is the host's disk.
      return make({
        ...a,
        testScript: prelude(a.testScript, [`${MARK} fills the disk`, `cat /dev/zero > "\${TMPDIR:-/tmp}/ssr-fill-${tag}.bin" || exit $?`]),
      }, 'test-script', 'script-disk-limit');
    case 'script-uses-network': {
      const targets = opts.networkTargets ?? [{ host: '1.1.1.1', port: 80 }];
      const tries = targets.map((t) => `(${JSON.stringify(t.host)}, ${t.port})`).join(', ');
      return make({
        ...a,
        testScript: prelude(a.testScript, [
          `${MARK} needs the network`,
          "python3 - <<'SSR_NET' || exit 1",
          'import socket, sys',
          'ok = True',
          `for host, port in [${tries}]:`,
          '    try:',
          '        socket.create_connection((host, port), timeout=5).close()',
          '    except OSError as e:',
          "        print(f'fetching test data from {host}:{port} failed: {e}')",
          '        ok = False',
          'try:',
          "    socket.getaddrinfo('pypi.org', 443)",
          'except OSError as e:',
          "    print(f'resolving pypi.org failed: {e}')",
          '    ok = False',
          'sys.exit(0 if ok else 1)',
          'SSR_NET',
        ]),
      }, 'test-script', 'script-needs-network');
    }
    case 'parser-garbage':
      return make({ ...a, testParser: `${MARK} garbage\nimport sys\nsys.stdin.read()\nprint("<html>\\x00 %s tests ok {not: json]" % 42)\n` }, 'parser', 'parser-invalid');
    case 'parser-silent':
      return make({ ...a, testParser: `${MARK} silent\nimport sys\nsys.stdin.read()\n` }, 'parser', 'parser-silent');
    case 'test-files-outside-repo':
      return make({ ...a, testFiles: [...a.testFiles, '../../etc/passwd'] }, 'test-files', 'path-outside-repo');
  }
}

/**
 * Derives a bad solver patch from a real one (possibly empty). Test-file edits are built from the artifact's own
 * weakening, so they name exactly the oracle files the method restores before grading.
 */
export function badPatch(patch: string, a: Artifact, kind: BadPatchKind): BadPatch {
  const oracle = a.testFiles[0] ?? 'tests/test_ssr_oracle.py';
  switch (kind) {
    case 'edits-test-files':
      // Weakens the oracle tests once more: were it kept, the tests would pass without any fix.
      return { kind, patch: patch + a.testWeaken, expect: { rejectedEdits: 'edits-test-files' } };
    case 'deletes-tests': {
      // Header-only: the method drops it before anything is applied, so the content it would delete never matters.
      const del = `diff --git a/${oracle} b/${oracle}\ndeleted file mode 100644\n`;
      return { kind, patch: patch + del, expect: { rejectedEdits: 'deletes-test-files' } };
    }
    case 'malformed':
      return { kind, patch: patch.trim() ? malformed(patch) : malformed(a.bugInject), expect: { failure: 'malformed-patch' } };
    case 'binary':
      return { kind, patch: patch + BINARY_SECTION, expect: { failure: 'binary-patch' } };
  }
}
