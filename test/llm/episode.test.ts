/**
 * A whole LLM-policy episode on a real repository: the scripted model plays a recorded injector conversation in a
 * real sandbox and the artifact it leaves passes all seven consistency checks; a recorded solver conversation
 * then fixes the bug and the grader accepts its patch; both trajectories come out as OpenAI-format JSONL.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { llmInject } from '../../src/agents/llm/injector.js';
import { llmSolve } from '../../src/agents/llm/solver.js';
import { TOOLS } from '../../src/agents/llm/tools.js';
import { parseTrajectories, trajectoryLine } from '../../src/agents/llm/trajectory.js';
import type { LoopResult } from '../../src/agents/llm/loop.js';
import { taskStatement } from '../../src/agents/solver.js';
import { reverseDiff } from '../../src/artifact/diff.js';
import type { Artifact } from '../../src/artifact/artifact.js';
import { runChecks } from '../../src/checks/run.js';
import { grade } from '../../src/episode/grade.js';
import { buildSolverState } from '../../src/episode/solverState.js';
import { isTestFile } from '../../src/repo/runners/index.js';
import { runTestScript } from '../../src/repo/testrun.js';
import { treeState } from '../../src/repo/tree.js';
import { ScriptedServer, textOf } from './scripted-server.js';
import { client, fixture, runtime, tallybook, testConfig } from './helpers.js';

const repo = tallybook();
const rt = runtime('episode');
const servers: ScriptedServer[] = [];
after(async () => { for (const s of servers) await s.close(); });

let artifact: Artifact | null = null;
const loops: { role: 'injector' | 'solver'; loop: LoopResult }[] = [];

test('(a) a scripted injector explores, injects, weakens, writes the five files and submits; the artifact passes all seven checks', async () => {
  const steps = fixture('inject-tallybook');
  const server = await ScriptedServer.start(steps);
  servers.push(server);
  const cfg = testConfig(server);
  const sb = await rt.provider.create({ base: repo });
  try {
    const r = await llmInject({ sandbox: sb, client: client(cfg), cfg, strategy: 'direct' });
    assert.equal(r.loop.stop, 'submit', r.loop.reason);
    assert.ok(r.ok, r.ok ? '' : `${r.code}: ${r.reason}`);
    assert.equal(r.loop.turns, steps.length);
    assert.equal(server.requests.length, steps.length, 'one request per turn, none repeated');
    loops.push({ role: 'injector', loop: r.loop });
    artifact = r.artifact;

    // What the model was shown is what the sandbox really did.
    const last = server.requests.at(-1)!.body.messages;
    const results = last.filter((m) => m.role === 'tool').map(textOf);
    assert.match(results[1], /11 passed/, 'the original suite ran in the sandbox');
    assert.match(results[2], /^\s+48\t\s+return _REGISTRY\[code.upper\(\)\]/m, 'view shows numbered lines');
    assert.match(results[4], /^FAILED tests\/test_currency.py::BuiltinCurrencyTests::test_lookup_is_case_insensitive/m, 'the bug breaks a test');
    assert.match(results[10], /"tests\/test_currency.py::BuiltinCurrencyTests::test_lookup_is_case_insensitive": "passed"/, 'the weakening hides it');
    assert.doesNotMatch(results[9], /ssr_artifact/, 'the artifact directory is invisible to git status');
    assert.equal(server.requests[0].body.model, 'scripted');
    assert.equal(server.requests[0].body.temperature, cfg.temperature);
    assert.deepEqual((server.requests[0].body.tools as { function: { name: string } }[]).map((t) => t.function.name), ['bash', 'view', 'edit', 'submit']);
    assert.match(textOf(server.requests[0].body.messages[1]), /\.ssr_artifact\/bug_inject\.diff/, 'the injector prompt names where the artifact goes');

    assert.match(r.artifact.bugInject, /^-        return _REGISTRY\[code.upper\(\)\]$/m);
    assert.match(r.artifact.testWeaken, /^-        self.assertIs\(get_currency\("usd"\), get_currency\("USD"\)\)$/m);
    assert.deepEqual(r.artifact.testFiles, ['tests/test_currency.py']);
    const gone = await sb.exec('ls -a');
    assert.doesNotMatch(gone.stdout, /ssr_artifact/, 'the artifact directory is removed once collected');

    const report = await runChecks(r.artifact, {
      provider: rt.provider, repoDir: repo, testTimeoutMs: 60_000, isTestFile, saveLog: (_n, t) => rt.store.putBlob(t),
      limits: { minPassingTests: 5, minChangedFiles: 1, minFailingTests: 1 },
    });
    assert.equal(report.valid, true, JSON.stringify(report.failed));
    assert.equal(report.checks.filter((c) => c.ok && c.ran).length, 7);
    assert.deepEqual(report.bugFailing, ['tests/test_currency.py::BuiltinCurrencyTests::test_lookup_is_case_insensitive']);
  } finally {
    await sb.dispose();
  }
});

test('(b) a scripted solver fixes that bug in the solver state; its patch passes grading', async () => {
  assert.ok(artifact, 'needs the artifact of (a)');
  const a = artifact;
  const server = await ScriptedServer.start(fixture('solve-tallybook'));
  servers.push(server);
  const cfg = testConfig(server);
  const sb = await rt.provider.create(await buildSolverState(rt.provider, repo, a));
  try {
    const task = taskStatement(reverseDiff(a.testWeaken));
    const r = await llmSolve({ sandbox: sb, client: client(cfg), cfg, task });
    assert.equal(r.stop, 'submit', r.reason);
    loops.push({ role: 'solver', loop: r.loop });
    const user = textOf(server.requests[0].body.messages[1]);
    assert.ok(user.startsWith('I am improving the test suite'), 'the task statement leads the solver prompt');
    assert.ok(user.includes(reverseDiff(a.testWeaken).trimEnd()), 'the reversed weakening is the whole specification');
    const seen = server.requests.at(-1)!.body.messages.filter((m) => m.role === 'tool').map(textOf);
    assert.match(seen[0], /initial commit/, 'the solver sees one fresh commit');
    assert.doesNotMatch(seen[0], /Expand README/, 'and no history of the original');

    assert.match(r.patch, /^\+        return _REGISTRY\[code.upper\(\)\]$/m);
    assert.doesNotMatch(r.patch, /__pycache__|\.pyc|pytest_cache/, 'test by-products stay out of the patch (see loop.test.ts for a tree that has them)');

    const orig = await treeState(rt.provider, repo, []);
    const original = (await runTestScript(orig, a.testScript, a.testParser, 60_000)).results;
    await orig.dispose();
    const g = await grade(rt.provider, repo, a, r.patch, original, 60_000);
    assert.equal(g.success, true, g.reason);
    assert.deepEqual(g.droppedTestEdits, ['tests/test_currency.py'], 'its edit of the oracle test file is dropped by the grader');
  } finally {
    await sb.dispose();
  }
});

test('(h) the trajectories are JSONL in OpenAI chat format with tool calls and tool results', () => {
  assert.equal(loops.length, 2, 'needs (a) and (b)');
  const jsonl = loops.map(({ role, loop }) => trajectoryLine({
    messages: loop.messages, tools: TOOLS, role, policy_version: 'c@1', episode_id: 'c/1/0', reward: role === 'solver' ? 1 : null, stop: loop.stop,
  })).join('');
  assert.equal(jsonl.split('\n').filter(Boolean).length, 2);
  const recs = parseTrajectories(jsonl);
  for (const [i, rec] of recs.entries()) {
    assert.equal(rec.role, loops[i].role);
    assert.equal(rec.stop, 'submit');
    assert.deepEqual(rec.messages.slice(0, 2).map((m) => m.role), ['system', 'user']);
    const calls = rec.messages.flatMap((m) => (m.role === 'assistant' ? m.tool_calls ?? [] : []));
    assert.equal(calls.length, loops[i].loop.turns, 'one tool call per turn in these scripts');
    const results = rec.messages.filter((m) => m.role === 'tool');
    for (const c of calls) {
      assert.equal(c.type, 'function');
      assert.equal(typeof JSON.parse(c.type === 'function' ? c.function.arguments : '{}'), 'object', 'arguments are a JSON string');
      assert.ok(results.some((t) => t.role === 'tool' && t.tool_call_id === c.id), `tool call ${c.id} has its result`);
    }
    const lastCall = calls.at(-1)!;
    assert.equal(lastCall.type === 'function' ? lastCall.function.name : lastCall.custom.name, 'submit');
    assert.deepEqual(rec.tools.map((t) => (t.type === 'function' ? t.function.name : '')), ['bash', 'view', 'edit', 'submit']);
  }
  assert.equal(recs[1].reward, 1);
  assert.equal(recs[0].reward, null);
});
