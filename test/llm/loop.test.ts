/**
 * The agent loop's edges against the scripted server over a real socket and a real sandbox: malformed tool calls,
 * models that never submit, retried faults, a server that dies, and the solver's patch extraction.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runLoop } from '../../src/agents/llm/loop.js';
import { workTreePatch } from '../../src/agents/llm/solver.js';
import type { WaitInfo } from '../../src/agents/llm/client.js';
import { ScriptedServer, textOf, type Step } from './scripted-server.js';
import { client, runtime, tallybook, testConfig } from './helpers.js';

const repo = tallybook();
const rt = runtime('loop');
const servers: ScriptedServer[] = [];
after(async () => { for (const s of servers) await s.close(); });

async function play(script: Step[], over: Parameters<typeof testConfig>[1] = {}, fallback?: Step) {
  const server = await ScriptedServer.start(script, { fallback });
  servers.push(server);
  const cfg = testConfig(server, over);
  const log: string[] = [];
  const waits: WaitInfo[] = [];
  const sb = await rt.provider.create({ base: repo });
  try {
    const r = await runLoop({ model: client(cfg, log), sandbox: sb, cfg, system: 'system prompt', task: 'task', onWait: (w) => waits.push(w) });
    const tools = r.messages.filter((m) => m.role === 'tool').map(textOf);
    return { r, server, log, waits, tools, sb };
  } finally {
    await sb.dispose();
  }
}

test('(c) malformed tool calls are answered with what was wrong, each costs a turn, and the loop goes on', async () => {
  const { r, tools, server } = await play([
    { tool_calls: [{ name: 'rm_everything', arguments: {} }] },
    { tool_calls: [{ name: 'bash', arguments: '{"command": "ls"' }] },
    { tool_calls: [{ name: 'view', arguments: { view_range: [1, 2] } }] },
    { tool_calls: [{ name: 'edit', arguments: { path: 'tallybook/currency.py', old_str: 'return', new_str: 'yield' } }] },
    { tool_calls: [{ name: 'edit', arguments: { path: 'tallybook/currency.py', old_str: 'no such text', new_str: 'x' } }] },
    { tool_calls: [{ name: 'view', arguments: { path: '../../etc/passwd' } }] },
    { tool_calls: [{ name: 'bash', arguments: { command: 'echo still here' } }] },
    { tool_calls: [{ name: 'submit', arguments: {} }] },
  ]);
  assert.equal(r.stop, 'submit');
  assert.equal(r.turns, 8);
  assert.match(tools[0], /^ERROR: unknown tool "rm_everything"; the tools are bash, view, edit, submit/);
  assert.match(tools[1], /^ERROR: the arguments of bash are not valid JSON/);
  assert.match(tools[2], /^ERROR: view needs the string field path/);
  assert.match(tools[3], /old_str occurs \d+ times in tallybook\/currency.py; it must occur exactly once/);
  assert.match(tools[4], /old_str does not occur in tallybook\/currency.py/);
  assert.match(tools[5], /^ERROR: .*escapes the work directory/);
  assert.match(tools[6], /still here\n\[exit code 0\]/);
  // The model saw each error before its next turn.
  assert.match(textOf(server.requests[1].body.messages.at(-1)!), /unknown tool/);
});

test('(d) a model that never calls a tool stops with no-submit after reminders; one that never submits stops at max-turns or max-tokens', async () => {
  const chatty = await play([], {}, { content: 'I believe the work is done.' });
  assert.equal(chatty.r.stop, 'no-submit');
  assert.equal(chatty.r.turns, 3);
  const reminders = chatty.r.messages.filter((m) => m.role === 'user' && /without calling a tool/.test(textOf(m)));
  assert.equal(reminders.length, 2, 'a reminder between answers, none after the last');

  const busy = await play([], { maxTurns: 4 }, { tool_calls: [{ name: 'bash', arguments: { command: 'true' } }] });
  assert.equal(busy.r.stop, 'max-turns');
  assert.equal(busy.server.requests.length, 4);

  const costly = await play([], { maxTokensPerEpisode: 2500 }, { tool_calls: [{ name: 'bash', arguments: { command: 'true' } }], usage: { prompt_tokens: 900, completion_tokens: 100 } });
  assert.equal(costly.r.stop, 'max-tokens');
  assert.equal(costly.r.tokens, 3000);
  assert.equal(costly.r.turns, 3);

  const long = await play([], { maxTurns: 2, toolOutputChars: 500 }, { tool_calls: [{ name: 'bash', arguments: { command: 'seq 1 5000' } }] });
  assert.match(long.tools[0], /\[\.\.\. output truncated: \d+ of \d+ characters omitted \.\.\.\]/);
  assert.ok(long.tools[0].length < 700);
  assert.match(long.tools[0], /5000\n\[exit code 0\]$/, 'the tail (with the exit code) is kept');
});

test('(e) 500, 429, a timeout and a dropped connection are retried with backoff, visibly, and the episode still succeeds', async () => {
  const { r, server, log, waits } = await play([
    { tool_calls: [{ name: 'bash', arguments: { command: 'echo one' } }] },
    { status: 500 },
    { status: 429, retryAfterSec: 0 },
    { delayMs: 2500 },
    { destroy: true },
    { tool_calls: [{ name: 'submit', arguments: {} }] },
  ], { requestTimeoutSec: 1, heartbeatMs: 100 });
  assert.equal(r.stop, 'submit', r.reason);
  assert.equal(r.turns, 2);
  assert.deepEqual(server.outcomes, ['reply', 'status 500', 'status 429', 'delay', 'destroy', 'reply']);
  assert.deepEqual(r.retries.map((x) => x.reason), ['http 500', 'http 429', 'timeout', 'connection']);
  assert.deepEqual(r.retries.map((x) => x.attempt), [1, 2, 3, 4]);
  assert.deepEqual(r.retries.map((x) => x.delayMs), [20, 40, 80, 160], 'exponential backoff');
  assert.equal(log.filter((l) => /retry \d\/5/.test(l)).length, 4, 'each retry is logged');
  assert.ok(waits.some((w) => w.phase === 'request' && w.elapsedMs >= 100), 'onWait fired while the slow request was pending');
  // Retries resend the same conversation: no turn is lost or doubled.
  const sizes = server.requests.map((q) => q.body.messages.length);
  assert.deepEqual(sizes, [2, 4, 4, 4, 4, 4]);
});

test('(f) a server that dies mid-episode ends it with model-error and a clear reason, keeping the turns done', async () => {
  const { r, server } = await play([
    { tool_calls: [{ name: 'bash', arguments: { command: 'echo before' } }] },
    { die: true },
  ], { retries: 2 });
  assert.equal(r.stop, 'model-error');
  assert.match(r.reason, /model request failed 3 times, last: connection/);
  assert.deepEqual(r.retries.map((x) => x.reason), ['connection', 'connection']);
  assert.equal(r.turns, 1);
  assert.equal(server.requests.length, 2);
  assert.match(textOf(r.messages.at(-1)!), /before/);
});

test('a non-retryable error (400) is not retried', async () => {
  const { r } = await play([{ status: 400, message: 'context length exceeded' }]);
  assert.equal(r.stop, 'model-error');
  assert.match(r.reason, /not retryable.*context length exceeded/);
  assert.equal(r.retries.length, 0);
});

test("the solver's patch includes new files and modifications and leaves out test by-products, even without a .gitignore", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ssr-llm-patch-'));
  writeFileSync(path.join(dir, 'a.py'), 'x = 1\n');
  execFileSync('git', ['init', '-q', dir]);
  execFileSync('git', ['-C', dir, 'add', '-A']);
  execFileSync('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'init']);
  const sb = await rt.provider.create({ base: dir });
  try {
    await sb.exec("echo 'x = 2' > a.py && echo 'y = 3' > b.py && mkdir -p pkg/__pycache__ .pytest_cache && printf '\\0\\1' > pkg/__pycache__/a.cpython-311.pyc && echo z > .pytest_cache/x && printf '\\0' > c.pyc");
    const patch = await workTreePatch(sb);
    assert.match(patch, /^\+x = 2$/m);
    assert.match(patch, /^diff --git a\/b.py b\/b.py\nnew file mode/m);
    assert.doesNotMatch(patch, /__pycache__|pytest_cache|c\.pyc/);
  } finally {
    await sb.dispose();
  }
});

test('wall time stops a model request in flight with wall-time; an outside cancellation throws instead of stopping', async () => {
  const slow = await play([{ tool_calls: [{ name: 'bash', arguments: { command: 'echo ok' } }] }, { delayMs: 5000 }], { wallTimeSec: 1 });
  assert.equal(slow.r.stop, 'wall-time');
  assert.match(slow.r.reason, /while waiting for the model/);
  assert.ok(slow.r.elapsedMs < 4000, 'the pending request was abandoned at the deadline');

  const server = await ScriptedServer.start([{ delayMs: 5000 }]);
  servers.push(server);
  const cfg = testConfig(server);
  const sb = await rt.provider.create({ base: repo });
  try {
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('activity cancelled')), 300);
    await assert.rejects(runLoop({ model: client(cfg), sandbox: sb, cfg, system: 's', task: 't', signal: ac.signal }), /activity cancelled/);
  } finally {
    await sb.dispose();
  }
});
