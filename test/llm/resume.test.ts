/**
 * Resume: an injector episode killed after turn k (its sandbox lost with the worker) continues from the last
 * checkpoint in a fresh sandbox. The model is never asked again for a turn it answered, and the sandbox state is
 * rebuilt by replaying the earlier bash/edit calls, so the artifact comes out whole.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { llmInject } from '../../src/agents/llm/injector.js';
import { runLoop, type Checkpoint } from '../../src/agents/llm/loop.js';
import { ScriptedServer, textOf } from './scripted-server.js';
import { client, fixture, runtime, tallybook, testConfig } from './helpers.js';

const repo = tallybook();
const rt = runtime('resume');
const servers: ScriptedServer[] = [];
after(async () => { for (const s of servers) await s.close(); });

test('(g) killed after turn 8 and resumed from the checkpoint: no answered turn is resent and the sandbox is restored', async () => {
  const steps = fixture('inject-tallybook');
  const server = await ScriptedServer.start(steps);
  servers.push(server);
  const cfg = testConfig(server);
  const K = 8;
  let saved: Required<Checkpoint> | null = null;

  const first = await rt.provider.create({ base: repo });
  try {
    await assert.rejects(llmInject({
      sandbox: first, client: client(cfg), cfg, strategy: 'direct',
      onTurn: (c) => {
        saved = c;
        if (c.turns === K) throw new Error('worker killed');
      },
    }), /worker killed/);
  } finally {
    await first.dispose();
  }
  assert.ok(saved, 'a checkpoint was taken');
  const cp: Required<Checkpoint> = saved;
  assert.equal(cp.turns, K);
  assert.equal(server.requests.length, K);

  const fresh = await rt.provider.create({ base: repo });
  try {
    const before = await fresh.exec('git status --porcelain; ls -a');
    assert.doesNotMatch(before.stdout, /currency|ssr_artifact/, 'the fresh sandbox starts from the clean repository');
    const log: string[] = [];
    const r = await llmInject({ sandbox: fresh, client: client(cfg), cfg, strategy: 'direct', resume: cp, log: (l) => log.push(l) });
    assert.ok(r.ok, r.ok ? '' : `${r.code}: ${r.reason}`);
    assert.equal(r.loop.stop, 'submit');
    assert.equal(r.loop.turns, steps.length);
    // Turns 1..8: bash, bash, view, edit, bash, view, edit, edit: the two views change nothing and are not replayed.
    assert.equal(r.loop.replayed, 6);
    assert.ok(log.some((l) => /resumed at turn 8, replayed 6 tool calls/.test(l)));

    assert.equal(server.requests.length, steps.length, 'every script step answered exactly once');
    const resumedFirst = server.requests[K].body.messages;
    assert.deepEqual(resumedFirst, cp.messages, 'the resumed run continues from the checkpoint, not from the start');
    for (const q of server.requests.slice(K)) {
      assert.ok(q.body.messages.length >= cp.messages.length, 'no request of the resumed run repeats an answered turn');
    }
    assert.match(r.artifact.bugInject, /^-        return _REGISTRY\[code.upper\(\)\]$/m, 'the edit made before the kill is back');
    assert.match(r.artifact.testWeaken, /^-        self.assertIs\(get_currency\("usd"\)/m, 'so is the weakening');
    assert.equal(r.artifact.testScript, '#!/bin/bash\npython3 -m pytest -rA -p no:cacheprovider tests/test_currency.py\n', 'and the artifact file written before the kill');
    // The tool results the model sees after the resume come from the restored tree.
    const afterResume = server.requests.at(-1)!.body.messages.filter((m) => m.role === 'tool').map(textOf);
    assert.match(afterResume.at(-1)!, /test_lookup_is_case_insensitive": "passed"/);
  } finally {
    await fresh.dispose();
  }
});

test('a checkpoint taken between the model\'s answer and its tool results runs those calls instead of asking again', async () => {
  const server = await ScriptedServer.start([{ tool_calls: [{ name: 'submit', arguments: {} }] }]);
  servers.push(server);
  const cfg = testConfig(server);
  const sb = await rt.provider.create({ base: repo });
  try {
    const r = await runLoop({
      model: client(cfg), sandbox: sb, cfg, system: 's', task: 't',
      resume: { messages: [
        { role: 'system', content: 's' }, { role: 'user', content: 't' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_x', type: 'function', function: { name: 'bash', arguments: '{"command":"echo pending > note.txt"}' } }] },
      ] },
    });
    assert.equal(r.stop, 'submit');
    assert.equal(r.turns, 2);
    assert.equal(server.requests.length, 1);
    assert.equal(server.requests[0].body.messages.at(-1)!.role, 'tool');
    assert.equal((await sb.readFile('note.txt')).toString(), 'pending\n');
  } finally {
    await sb.dispose();
  }
});
