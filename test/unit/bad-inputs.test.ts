/**
 * Every bad input of src/badInputs.ts, derived from a valid artifact on a real example repository, meets its typed
 * rejection: bad artifacts through the seven checks (real pytest, real sandbox), bad solver patches through grading.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runChecks } from '../../src/checks/run.js';
import { createRuntime } from '../../src/runtime.js';
import { makeDiff } from '../../src/repo/diffgen.js';
import { detectRunners, isTestFile } from '../../src/repo/runners/index.js';
import { runTestScript, type TestResults } from '../../src/repo/testrun.js';
import { treeState } from '../../src/repo/tree.js';
import { reverseDiff } from '../../src/artifact/diff.js';
import { grade } from '../../src/episode/grade.js';
import { BAD_ARTIFACT_KINDS, BAD_PATCH_KINDS, badArtifact, badPatch } from '../../src/badInputs.js';
import type { Artifact } from '../../src/artifact/artifact.js';
import { exampleRepos } from '../helpers/examples.js';

const MiB = 1024 * 1024;
// A small file cap, so the disk-filling script is stopped after 32 MiB instead of the default gigabyte.
const rt = createRuntime({ home: mkdtempSync(path.join(tmpdir(), 'ssr-bad-inputs-')), limits: { maxFileBytes: 32 * MiB } });
let repo = '';
let good: Artifact;
let original: TestResults;

const env = (testTimeoutMs = 60_000) => ({
  provider: rt.provider, repoDir: repo, testTimeoutMs, isTestFile, saveLog: (_n: string, t: string) => rt.store.putBlob(t),
  limits: { minPassingTests: 5, minChangedFiles: 1, minFailingTests: 1 },
});

before(async () => {
  repo = exampleRepos().find((r) => r.name === 'tallybook')!.path;
  const cur = readFileSync(path.join(repo, 'tallybook/currency.py'), 'utf8');
  const tests = readFileSync(path.join(repo, 'tests/test_currency.py'), 'utf8');
  const runner = (await detectRunners(repo))[0]!;
  good = {
    bugInject: await makeDiff([{ path: 'tallybook/currency.py', before: cur, after: cur.replace('scaleb(-self.minor_units)', 'scaleb(self.minor_units)') }]),
    testWeaken: await makeDiff([{ path: 'tests/test_currency.py', before: tests, after: tests.replace('        self.assertEqual(get_currency("BHD").quantum, Decimal("0.001"))\n', '') }]),
    testScript: runner.script(['tests/test_currency.py']),
    testParser: runner.parser(),
    testFiles: ['tests/test_currency.py'],
  };
  const sb = await treeState(rt.provider, repo, []);
  try {
    original = (await runTestScript(sb, good.testScript, good.testParser, 60_000)).results;
  } finally {
    await sb.dispose();
  }
});

test('the good artifact the bad ones derive from passes all seven checks', async () => {
  const r = await runChecks(good, env());
  assert.equal(r.valid, true, JSON.stringify(r.failed));
});

for (const kind of BAD_ARTIFACT_KINDS) {
  test(`bad artifact ${kind}: rejected with its typed check and code`, async () => {
    let connections = 0;
    const server = net.createServer((s) => { connections++; s.end('data\n'); });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    const diskBefore = await statfs(repo);
    try {
      const bad = badArtifact(good, kind, undefined, { networkTargets: [{ host: '127.0.0.1', port }, { host: '1.1.1.1', port: 80 }] });
      // The hanging script needs a short limit to end; the others finish on their own well inside the long one.
      const r = await runChecks(bad.artifact, env(kind === 'script-hangs' ? 4000 : 60_000));
      assert.equal(r.valid, false);
      assert.deepEqual({ check: r.failed!.check, code: r.failed!.code }, bad.expect, r.failed!.reason);
      assert.ok(r.failed!.reason.length > 0);
      if (kind === 'script-uses-network') {
        assert.equal(connections, 0, 'a connection reached the host');
        assert.match(r.failed!.reason, /network/);
      }
      if (kind === 'script-fills-disk') {
        // The 32 MiB cap held: only a loss near a gigabyte (other work shares this disk) would show harm.
        const after = await statfs(repo);
        assert.ok(diskBefore.bavail * diskBefore.bsize - after.bavail * after.bsize < 1024 * MiB);
      }
      if (['script-hangs', 'script-forks', 'script-fills-disk', 'script-uses-network'].includes(kind)) {
        // The parser is not blamed for what the script did.
        assert.equal(r.checks.find((c) => c.check === 'parser')!.ran, false);
      }
    } finally {
      server.close();
    }
  });
}

test('every bad patch kind is graded with its typed record', async () => {
  const fix = reverseDiff(good.bugInject);
  const g0 = await grade(rt.provider, repo, good, fix, original, 60_000);
  assert.deepEqual([g0.success, g0.rejectedEdits], [true, null], g0.reason);
  for (const kind of BAD_PATCH_KINDS) {
    const bad = badPatch(fix, good, kind);
    const g = await grade(rt.provider, repo, good, bad.patch, original, 60_000);
    if (bad.expect.failure) assert.equal(g.failure, bad.expect.failure, `${kind}: ${g.reason}`);
    if (bad.expect.rejectedEdits) {
      assert.deepEqual(g.rejectedEdits, { code: bad.expect.rejectedEdits, files: ['tests/test_currency.py'] }, kind);
      // The oracle files were restored before grading: the fix alone decides, so the attempt still succeeds.
      assert.equal(g.success, true, `${kind}: ${g.reason}`);
      assert.match(g.reason, /dropped/);
    } else {
      assert.equal(g.rejectedEdits, null, kind);
    }
  }
  // Test-file edits without a fix earn nothing: the weakened tests are restored, which leaves the validated bug.
  const cheat = badPatch('', good, 'edits-test-files');
  const g = await grade(rt.provider, repo, good, cheat.patch, original, 60_000);
  assert.deepEqual([g.success, g.failure, g.rejectedEdits?.code], [false, 'no-change', 'edits-test-files'], g.reason);
});
