/** What the LLM agent tests share: the tallybook example in a real local sandbox, a client on the scripted server. */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createChatModel } from '../../src/agents/llm/client.js';
import { llmPolicyConfig, type LlmPolicyConfig } from '../../src/agents/llm/config.js';
import { createRuntime, type Runtime } from '../../src/runtime.js';
import { exampleRepos } from '../helpers/examples.js';
import type { Reply, ScriptedServer } from './scripted-server.js';

export function tallybook(): string {
  const r = exampleRepos().find((e) => e.name === 'tallybook');
  if (!r) throw new Error('examples/tallybook/repo is missing after examples/build.sh');
  return r.path;
}

export function runtime(tag: string): Runtime {
  return createRuntime({ home: mkdtempSync(path.join(tmpdir(), `ssr-llm-${tag}-`)) });
}

/** Short backoffs so retry tests take milliseconds; everything else as configured by default. */
export function testConfig(server: ScriptedServer, over: Parameters<typeof llmPolicyConfig>[0] = {}): LlmPolicyConfig {
  return llmPolicyConfig({ baseUrl: server.url, model: 'scripted', retryBaseMs: 20, retryMaxMs: 200, commandTimeoutSec: 60, requestTimeoutSec: 30, ...over });
}

export function client(cfg: LlmPolicyConfig, log?: string[]) {
  return createChatModel(cfg, { env: {}, random: () => 0.5, log: log ? (l) => log.push(l) : undefined });
}

/** The assistant turns of a recorded conversation (test/llm/fixtures/<name>.json). */
export function fixture(name: string): Reply[] {
  const p = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', `${name}.json`);
  return (JSON.parse(readFileSync(p, 'utf8')) as { steps: Reply[] }).steps;
}
