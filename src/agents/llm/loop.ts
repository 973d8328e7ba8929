/**
 * The agent loop (after mini-swe-agent): messages in OpenAI chat format; each turn asks the model with the tools,
 * runs its tool calls in the sandbox and appends their results; it ends on `submit` or on a limit, each a stop
 * reason. A malformed tool call is answered with an error result and costs a turn, so the model can correct itself.
 *
 * Resuming. `onTurn` gets a checkpoint after every completed turn; a retried activity passes the last one as
 * `resume` and the loop continues from there without asking the model again for turns it already answered. What
 * a dead worker loses is the sandbox: its files went with it. So a resume first replays, in a fresh sandbox over the
 * same starting state, every earlier `bash` and `edit` call in order, without the model and discarding their
 * output (view and submit change nothing). That restores the tree exactly when the commands are deterministic
 * (edits, file writes, git diff > file, test runs); a command whose effect depends on time or randomness is
 * restored only approximately, which is the price of not re-running the model.
 */
import type { ChatCompletionMessage, ChatCompletionMessageToolCall } from 'openai/resources/chat/completions';
import { SandboxPathError } from '../../sandbox/errors.js';
import type { Sandbox } from '../../sandbox/types.js';
import { ModelAborted, ModelError, type ChatMessage, type ChatModel, type RetryRecord, type WaitInfo } from './client.js';
import type { LlmPolicyConfig } from './config.js';
import { parseToolCall, runTool, STATEFUL_TOOLS, TOOLS, truncate, type ToolContext, type ToolResult } from './tools.js';

export type StopReason = 'submit' | 'max-turns' | 'max-tokens' | 'wall-time' | 'no-submit' | 'model-error';

/** Everything a resumed loop needs; `messages` alone is enough (the counters then restart from the messages). */
export interface Checkpoint {
  messages: ChatMessage[];
  turns?: number;
  tokens?: number;
  elapsedMs?: number;
  noSubmitStreak?: number;
}

export interface LoopOptions {
  model: ChatModel;
  sandbox: Sandbox;
  cfg: LlmPolicyConfig;
  /** The first two messages of a fresh conversation (ignored when resuming). */
  system: string;
  task: string;
  resume?: Checkpoint;
  /** After every completed turn; the activity stores it (and may stop the loop by throwing). */
  onTurn?: (c: Required<Checkpoint>) => void | Promise<void>;
  onWait?: (w: WaitInfo) => void;
  /** Cancellation from outside (the activity's cancellation signal): the loop throws its reason, it is no stop. */
  signal?: AbortSignal;
  log?: (line: string) => void;
}

export interface LoopResult {
  stop: StopReason;
  reason: string;
  messages: ChatMessage[];
  turns: number;
  tokens: number;
  elapsedMs: number;
  /** Every retried model request of this run, in order. */
  retries: RetryRecord[];
  /** Tool calls re-run to restore the sandbox on resume. */
  replayed: number;
}

interface Call { id: string; name: string; args: string }

function callsOf(m: { tool_calls?: ChatCompletionMessageToolCall[] | null }): Call[] {
  return (m.tool_calls ?? []).map((c) => c.type === 'function'
    ? { id: c.id, name: c.function.name, args: c.function.arguments }
    : { id: c.id, name: c.custom.name, args: c.custom.input });
}

const answered = (messages: ChatMessage[], id: string) => messages.some((m) => m.role === 'tool' && m.tool_call_id === id);

async function execute(c: Call, ctx: ToolContext): Promise<ToolResult> {
  const p = parseToolCall(c.name, c.args);
  if (!p.ok) return { output: `ERROR: ${p.error}`, error: true, submit: false };
  try {
    return await runTool(p.call, ctx);
  } catch (e) {
    // A path outside the work directory is the model's mistake; any other sandbox failure is infrastructure.
    if (e instanceof SandboxPathError) return { output: `ERROR: ${e.message}`, error: true, submit: false };
    throw e;
  }
}

/** Re-runs the state-changing tool calls of a checkpoint in order; returns how many ran and whether it submitted. */
export async function replay(messages: ChatMessage[], ctx: ToolContext): Promise<{ replayed: number; submitted: boolean }> {
  let replayed = 0, submitted = false;
  for (const m of messages) {
    if (m.role !== 'assistant') continue;
    for (const c of callsOf(m)) {
      if (!answered(messages, c.id)) continue;
      const p = parseToolCall(c.name, c.args);
      if (!p.ok) continue;
      if (p.call.tool === 'submit') submitted = true;
      if (!STATEFUL_TOOLS.has(p.call.tool)) continue;
      await execute(c, ctx);
      replayed++;
    }
  }
  return { replayed, submitted };
}

function assistantParam(m: ChatCompletionMessage): ChatMessage {
  const calls = m.tool_calls?.length ? m.tool_calls : undefined;
  // Some servers reject an assistant message with neither content nor tool calls.
  return { role: 'assistant', content: m.content ?? (calls ? null : ''), ...(calls ? { tool_calls: calls } : {}) };
}

export async function runLoop(o: LoopOptions): Promise<LoopResult> {
  const { cfg, sandbox } = o;
  const t0 = Date.now() - (o.resume?.elapsedMs ?? 0);
  const deadline = t0 + cfg.wallTimeSec * 1000;
  const messages: ChatMessage[] = o.resume ? [...o.resume.messages] : [{ role: 'system', content: o.system }, { role: 'user', content: o.task }];
  let turns = o.resume?.turns ?? messages.filter((m) => m.role === 'assistant').length;
  let tokens = o.resume?.tokens ?? 0;
  let streak = o.resume?.noSubmitStreak ?? 0;
  const retries: RetryRecord[] = [];
  const ctx = (): ToolContext => ({ sandbox, commandTimeoutMs: Math.max(1000, Math.min(cfg.commandTimeoutSec * 1000, deadline - Date.now())) });
  const checkpoint = (): Required<Checkpoint> => ({ messages: [...messages], turns, tokens, elapsedMs: Date.now() - t0, noSubmitStreak: streak });
  const finish = (stop: StopReason, reason: string): LoopResult => {
    o.log?.(`agent: ${stop} after ${turns} turns, ${tokens} tokens: ${reason}`);
    return { stop, reason, messages, turns, tokens, elapsedMs: Date.now() - t0, retries, replayed };
  };

  // Runs the tool calls of the last assistant message that have no result yet; true when one was submit.
  const answer = async (): Promise<boolean> => {
    const last = messages.at(-1);
    if (!last || last.role !== 'assistant') return false;
    let submitted = false;
    for (const c of callsOf(last)) {
      const r: ToolResult = submitted
        ? { output: 'ERROR: not run: submit ended the episode', error: true, submit: false }
        : await execute(c, ctx());
      submitted ||= r.submit;
      messages.push({ role: 'tool', tool_call_id: c.id, content: truncate(r.output, cfg.toolOutputChars) });
    }
    return submitted;
  };

  let replayed = 0;
  let submitted = false;
  if (o.resume) {
    const pending = messages.at(-1);
    const head = pending?.role === 'assistant' ? messages.slice(0, -1) : messages;
    const r = await replay(head, ctx());
    replayed = r.replayed;
    submitted = r.submitted;
    o.log?.(`agent: resumed at turn ${turns}, replayed ${replayed} tool calls`);
    // A checkpoint taken between the model's answer and its tool results: run them now rather than ask again.
    if (!submitted && pending?.role === 'assistant' && callsOf(pending).length) {
      submitted = await answer();
      await o.onTurn?.(checkpoint());
    }
  }

  const cancelled = () => o.signal?.reason ?? new Error('agent loop cancelled');
  for (;;) {
    if (o.signal?.aborted) throw cancelled();
    if (submitted) return finish('submit', 'the model called submit');
    if (streak >= cfg.noSubmitLimit) return finish('no-submit', `the model answered ${streak} times in a row without a tool call`);
    if (turns >= cfg.maxTurns) return finish('max-turns', `${turns} turns used (limit ${cfg.maxTurns})`);
    if (tokens >= cfg.maxTokensPerEpisode) return finish('max-tokens', `${tokens} tokens used (limit ${cfg.maxTokensPerEpisode})`);
    if (Date.now() >= deadline) return finish('wall-time', `ran past ${cfg.wallTimeSec} s`);

    let reply;
    try {
      reply = await o.model.complete(messages, TOOLS, {
        signal: AbortSignal.any([AbortSignal.timeout(Math.max(1, deadline - Date.now())), ...(o.signal ? [o.signal] : [])]), onWait: o.onWait,
      });
      retries.push(...reply.retries);
    } catch (e) {
      if (e instanceof ModelAborted && o.signal?.aborted) throw cancelled();
      if (e instanceof ModelAborted) return finish('wall-time', `ran past ${cfg.wallTimeSec} s while waiting for the model`);
      if (e instanceof ModelError) {
        retries.push(...e.retries);
        return finish('model-error', e.message);
      }
      throw e;
    }
    turns++;
    tokens += reply.usage?.total_tokens ?? 0;
    messages.push(assistantParam(reply.message));
    if (callsOf(reply.message).length === 0) {
      streak++;
      if (streak < cfg.noSubmitLimit) {
        messages.push({ role: 'user', content: `You answered without calling a tool (${streak} of ${cfg.noSubmitLimit} allowed in a row). Act through the tools; when you are done, call submit.` });
      }
    } else {
      streak = 0;
      submitted = await answer();
    }
    await o.onTurn?.(checkpoint());
  }
}
