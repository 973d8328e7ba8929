/**
 * The maven runner end to end in the real local sandbox: detection on the fixture project, the generated script and
 * parser run the way the checks run them (runTestScript), offline, with only ~/.m2/repository readable. The fixture's
 * dependencies are put into ~/.m2 by `npm run setup`; without Maven or them the tests fail and say how to get them.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LocalSandboxProvider } from '../../src/sandbox/local.js';
import type { Sandbox } from '../../src/sandbox/types.js';
import { findExecutable } from '../../src/sandbox/bwrap.js';
import { detectRunners, type Runner } from '../../src/repo/runners/index.js';
import { runTestScript } from '../../src/repo/testrun.js';
import { PROJECTS } from '../fixtures/runners/projects.js';
import { cleanup, makeBase, tempDir, treeChecksum } from './helpers.js';

const HOW = 'install Maven and a JDK (`apt-get install maven openjdk-17-jdk-headless`), then run `npm run setup` to fetch the fixture\'s dependencies into ~/.m2';
/** Resolved last by `mvn test` (surefire's JUnit Platform provider), so its presence means setup's run finished. */
const LAST_DEP = path.join(os.homedir(), '.m2/repository/org/apache/maven/surefire/surefire-junit-platform/3.2.5');

let stateDir = '';
let base = '';
let sb: Sandbox;
let runner: Runner;

function need(): void {
  if (!findExecutable('mvn') || !findExecutable('javac')) assert.fail(`Maven or a JDK is missing: ${HOW}`);
  if (!existsSync(LAST_DEP)) assert.fail(`the Maven fixture's dependencies are not in ~/.m2: ${HOW}`);
}

before(async () => {
  stateDir = await tempDir('state');
  base = await makeBase(PROJECTS.maven.files);
  const git = (...args: string[]): void => void execFileSync('git', args, { cwd: base, stdio: 'ignore' });
  git('init', '-q');
  git('add', '-A');
  git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'fixture');
  const found = await detectRunners(base);
  assert.equal(found[0]?.name, 'maven');
  runner = found[0]!;
  sb = await new LocalSandboxProvider({ stateDir, isolation: 'bwrap', defaults: { timeoutMs: 240_000 } }).create({ base });
});
after(async () => {
  await sb?.dispose();
  await cleanup(stateDir, path.dirname(base));
});

test('maven: per-test results from the sandbox, and the tree is left as it was', async () => {
  need();
  const before = await treeChecksum(base);
  const run = await runTestScript(sb, runner.script(runner.testFiles), runner.parser(), 240_000);
  assert.equal(run.parserError, null, run.log);
  assert.deepEqual(run.results, {
    'src/test/java/fx/CalcTest.java::Inner.deep': 'passed',
    'src/test/java/fx/CalcTest.java::adds': 'passed',
    'src/test/java/fx/CalcTest.java::subIsWrong': 'failed',
    'src/test/java/fx/CalcTest.java::table(int, int, int)[1]': 'passed',
    'src/test/java/fx/CalcTest.java::table(int, int, int)[2]': 'passed',
    'src/test/java/fx/text/WordsTest.java::joins': 'passed',
    'src/test/java/fx/text/WordsTest.java::usesCalc': 'passed',
  }, run.log);
  // Maven built in the sandbox's /tmp: no target/ in the work dir, nothing for git to see, the base untouched.
  assert.equal((await sb.exec('git status --porcelain --ignored')).stdout, '');
  assert.equal(await treeChecksum(base), before);
  // Only the selected file's tests run.
  const one = await runTestScript(sb, runner.script(['src/test/java/fx/text/WordsTest.java']), runner.parser(), 240_000);
  assert.deepEqual(Object.keys(one.results).sort(), ['src/test/java/fx/text/WordsTest.java::joins', 'src/test/java/fx/text/WordsTest.java::usesCalc'], one.log);
});

test('maven: a compile error fails every selected file, and a missing dependency says so in Maven\'s words', async () => {
  need();
  const calc = (await sb.readFile('src/main/java/fx/Calc.java')).toString();
  await sb.writeFile('src/main/java/fx/Calc.java', calc.replace('return a - b;', 'return a - ;'));
  const broken = await runTestScript(sb, runner.script(runner.testFiles), runner.parser(), 240_000);
  assert.deepEqual(broken.results, {
    'src/test/java/fx/CalcTest.java': 'failed',
    'src/test/java/fx/text/WordsTest.java': 'failed',
  }, broken.log);
  assert.match(broken.log, /src\/main\/java\/fx\/Calc\.java:\[\d+,\d+\]/);
  await sb.writeFile('src/main/java/fx/Calc.java', calc);

  const pom = (await sb.readFile('pom.xml')).toString();
  const dep = '<dependency><groupId>org.example.ssr</groupId><artifactId>not-in-m2</artifactId><version>1.0</version></dependency>';
  await sb.writeFile('pom.xml', pom.replace('<dependencies>', `<dependencies>${dep}`));
  const offline = await runTestScript(sb, runner.script(['src/test/java/fx/CalcTest.java']), runner.parser(), 240_000);
  assert.deepEqual(offline.results, { 'src/test/java/fx/CalcTest.java': 'failed' }, offline.log);
  assert.match(offline.log, /offline mode and the artifact org\.example\.ssr:not-in-m2:jar:1\.0 has not been downloaded/);
  await sb.writeFile('pom.xml', pom);
});

test('maven: runs on a Maven that refuses the options 3.9.1 removed (-llr), as current Mavens do', async () => {
  need();
  // A Maven newer than the system's, first on the host's PATH: it stands in for Maven 3.9.1 and later, which stop at
  // once on -llr ("Unsupported options"), the real Maven doing the rest. Outside /tmp: the sandbox's own /tmp covers it.
  const real = findExecutable('mvn')!;
  const tools = await mkdtemp(path.join(os.homedir(), '.ssr-sbtest-maven-'));
  const saved = process.env.PATH;
  let own: Sandbox | null = null;
  try {
    await mkdir(path.join(tools, 'bin'));
    await writeFile(path.join(tools, 'bin', 'mvn'), [
      '#!/bin/sh',
      'for a in "$@"; do case "$a" in -llr|--legacy-local-repository) echo "Unsupported options: Option \'-llr\' is not supported starting with Maven 3.9.1"; exit 1;; esac; done',
      `exec ${real} "$@"`,
      '',
    ].join('\n'), { mode: 0o755 });
    process.env.PATH = `${path.join(tools, 'bin')}:${saved}`;
    own = await new LocalSandboxProvider({ stateDir, isolation: 'bwrap', defaults: { timeoutMs: 240_000 }, extraReadOnlyPaths: [tools] }).create({ base });
    assert.equal((await own.exec('command -v mvn')).stdout.trim(), path.join(tools, 'bin', 'mvn'));
    const run = await runTestScript(own, runner.script(['src/test/java/fx/text/WordsTest.java']), runner.parser(), 240_000);
    assert.deepEqual(run.results, {
      'src/test/java/fx/text/WordsTest.java::joins': 'passed',
      'src/test/java/fx/text/WordsTest.java::usesCalc': 'passed',
    }, run.log);
  } finally {
    process.env.PATH = saved;
    await own?.dispose();
    await rm(tools, { recursive: true, force: true });
  }
});

test('maven: a suite whose tests print megabytes still reports every test, past the sandbox\'s output cap', async () => {
  need();
  // 2 MB printed by one test (to the console and into its report's <system-out>), under a cap of 1 MiB: the reports,
  // printed after Maven's output, had been cut off with it.
  const loud = await makeBase({
    ...PROJECTS.maven.files,
    'src/test/java/fx/LoudTest.java': `package fx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import org.junit.jupiter.api.Test;

class LoudTest {
  @Test
  void prints() {
    String line = "x".repeat(99);
    for (int i = 0; i < 20000; i++) System.out.println(line);
    assertEquals(2, Calc.add(1, 1));
  }
}
`,
  });
  let own: Sandbox | null = null;
  try {
    const found = await detectRunners(loud);
    own = await new LocalSandboxProvider({ stateDir, isolation: 'bwrap', defaults: { timeoutMs: 240_000, maxOutputBytes: 1024 * 1024 } }).create({ base: loud });
    const run = await runTestScript(own, found[0]!.script(['src/test/java/fx/LoudTest.java', 'src/test/java/fx/text/WordsTest.java']), found[0]!.parser(), 240_000);
    assert.equal(run.killed, null, run.log.slice(-2000));
    assert.deepEqual(run.results, {
      'src/test/java/fx/LoudTest.java::prints': 'passed',
      'src/test/java/fx/text/WordsTest.java::joins': 'passed',
      'src/test/java/fx/text/WordsTest.java::usesCalc': 'passed',
    }, run.log.slice(-2000));
  } finally {
    await own?.dispose();
    await cleanup(path.dirname(loud));
  }
});
