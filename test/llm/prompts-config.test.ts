/** Prompts fill completely for every strategy, the config fragment is whole with defaults, and the client finds its key. */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createChatModel } from '../../src/agents/llm/client.js';
import { llmPolicyConfig, llmPolicySchema } from '../../src/agents/llm/config.js';
import { fill, injectorPrompt, INJECT_STRATEGIES, solverPrompt, systemPrompt } from '../../src/agents/llm/prompts.js';
import { TOOLS } from '../../src/agents/llm/tools.js';
import { ScriptedServer } from './scripted-server.js';

const servers: ScriptedServer[] = [];
after(async () => { for (const s of servers) await s.close(); });
const limits = { minPassingTests: 7, minChangedFiles: 2, minFailingTests: 3 };

test('every injector strategy names the five files, where they go, and the limits; removal-history carries its draw', () => {
  for (const s of INJECT_STRATEGIES) {
    const p = s === 'removal-history' ? injectorPrompt(s, limits, 'history') : injectorPrompt(s, limits);
    assert.doesNotMatch(p, /\{\{\w+\}\}/, s);
    for (const f of ['bug_inject.diff', 'test_weaken.diff', 'test_script.sh', 'test_parser.py', 'test_files.txt']) assert.ok(p.includes(`.ssr_artifact/${f}`), `${s}: ${f}`);
    assert.match(p, /at least 7 tests/);
    assert.match(p, /at least 2 of them/);
  }
  assert.match(injectorPrompt('removal', limits), /Removal-oriented/);
  assert.match(injectorPrompt('history', limits), /git log/);
  assert.match(injectorPrompt('removal-history', limits, 'history'), /History-aware/);
  assert.doesNotMatch(injectorPrompt('removal-history', limits, 'history'), /Removal-oriented/);
  assert.throws(() => injectorPrompt('removal-history', limits), /drawn strategy/);
  assert.match(systemPrompt('/sandbox/repo'), /\/sandbox\/repo/);
});

test('a task whose diff contains braces is sent as is; a template placeholder without a value is an error', () => {
  const task = 'I am improving...\n```diff\n+ x = "{{not_a_placeholder}}"\n```\n';
  assert.ok(solverPrompt(task, '/w').startsWith(task));
  assert.throws(() => fill('hello {{who}}', {}), /\{\{who\}\} has no value/);
});

test('the config fragment has a default and a description for every field, and rejects unknown ones', () => {
  const cfg = llmPolicySchema.parse({});
  assert.equal(cfg.apiKeyEnv, 'OPENAI_API_KEY');
  assert.equal(cfg.maxTurns, 128);
  for (const [k, f] of Object.entries(llmPolicySchema.shape)) assert.ok(f.description, `${k} has a description`);
  assert.throws(() => llmPolicySchema.parse({ maxTurn: 3 }));
  assert.throws(() => llmPolicySchema.parse({ baseUrl: 'not a url' }));
  assert.deepEqual(TOOLS.map((t) => t.function.name), ['bash', 'view', 'edit', 'submit']);
});

test('the client sends the key from the named variable, a placeholder when it is unset, and the scripted server lists its model', async () => {
  const server = await ScriptedServer.start([{ content: 'a' }, { content: 'b' }]);
  servers.push(server);
  const cfg = llmPolicyConfig({ baseUrl: server.url, apiKeyEnv: 'SSR_TEST_KEY' });
  await createChatModel(cfg, { env: { SSR_TEST_KEY: 'sk-from-env' } }).complete([{ role: 'user', content: 'hi' }], TOOLS);
  await createChatModel(cfg, { env: {} }).complete([{ role: 'user', content: 'hi' }], TOOLS);
  assert.equal(server.requests[0].authorization, 'Bearer sk-from-env');
  assert.match(server.requests[1].authorization ?? '', /^Bearer \S+/);
  const models = await createChatModel(cfg, { env: {} }).client.models.list();
  assert.deepEqual(models.data.map((m) => m.id), ['scripted']);
});
