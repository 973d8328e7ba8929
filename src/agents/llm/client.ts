/**
 * The model behind the agent: the official `openai` client against any OpenAI-compatible endpoint. The client's
 * own retries are off (maxRetries 0) and done here instead, so every retry is visible (logged and returned to the
 * caller for the episode record), each request gets its own timeout, and `onWait` fires while we wait (the
 * activity heartbeats from it, so Temporal does not mistake a slow model for a dead worker).
 */
import OpenAI from 'openai';
import type { ChatCompletionMessage, ChatCompletionMessageParam, ChatCompletionTool } from 'openai/resources/chat/completions';
import type { LlmPolicyConfig } from './config.js';

export type ChatMessage = ChatCompletionMessageParam;

export interface Usage { prompt_tokens: number; completion_tokens: number; total_tokens: number }

export interface RetryRecord {
  /** 1 for the first retry. */
  attempt: number;
  /** What failed: `http 500`, `http 429`, `timeout`, `connection`. */
  reason: string;
  delayMs: number;
  at: string;
}

export interface WaitInfo { phase: 'request' | 'backoff'; attempt: number; elapsedMs: number }

export interface CompleteOptions {
  /** Called every cfg.heartbeatMs while a request or a backoff is pending. */
  onWait?: (w: WaitInfo) => void;
  onRetry?: (r: RetryRecord) => void;
  /** Aborts the request and any backoff (the episode's wall-time limit). */
  signal?: AbortSignal;
}

export interface Completion { message: ChatCompletionMessage; usage: Usage | null; retries: RetryRecord[] }

/** What the loop needs of a model: one chat completion with tools. The scripted test server speaks the same wire. */
export interface ChatModel {
  complete(messages: ChatMessage[], tools: ChatCompletionTool[], o?: CompleteOptions): Promise<Completion>;
}

/** The model could not answer: a non-retryable error, or retries ran out. `retries` says what was tried. */
export class ModelError extends Error {
  constructor(message: string, readonly retries: RetryRecord[], readonly status: number | null) {
    super(message);
    this.name = 'ModelError';
  }
}

/** The caller's signal fired (wall time); not a model failure. */
export class ModelAborted extends Error {
  constructor() { super('model request aborted'); this.name = 'ModelAborted'; }
}

/** Why a failed request may be retried, or null when it may not (400, 401, 404: retrying cannot help). */
export function retryable(e: unknown): string | null {
  if (e instanceof OpenAI.APIConnectionTimeoutError) return 'timeout';
  if (e instanceof OpenAI.APIUserAbortError) return null;
  if (e instanceof OpenAI.APIConnectionError) return 'connection';
  if (e instanceof OpenAI.APIError && typeof e.status === 'number') {
    if (e.status === 408 || e.status === 409 || e.status === 429 || e.status >= 500) return `http ${e.status}`;
  }
  return null;
}

function retryAfterMs(e: unknown): number | null {
  if (!(e instanceof OpenAI.APIError) || !e.headers) return null;
  const v = e.headers.get('retry-after');
  if (!v) return null;
  const s = Number(v);
  if (Number.isFinite(s)) return s * 1000;
  const t = Date.parse(v);
  return Number.isNaN(t) ? null : Math.max(0, t - Date.now());
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new ModelAborted());
    const t = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(); }, ms);
    const onAbort = () => { clearTimeout(t); reject(new ModelAborted()); };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export interface ClientOptions {
  /** Where the API key is looked up (default process.env). */
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
  /** Jitter source in [0, 1) (default Math.random); tests pass a constant to get exact delays. */
  random?: () => number;
}

export class OpenAIChatModel implements ChatModel {
  readonly client: OpenAI;

  constructor(readonly cfg: LlmPolicyConfig, private readonly o: ClientOptions = {}) {
    const env = o.env ?? process.env;
    this.client = new OpenAI({
      baseURL: cfg.baseUrl,
      // Local servers (vLLM, SGLang) ignore the key, but the client refuses to start without one.
      apiKey: env[cfg.apiKeyEnv] || 'sk-local-placeholder',
      maxRetries: 0,
      timeout: cfg.requestTimeoutSec * 1000,
    });
  }

  async complete(messages: ChatMessage[], tools: ChatCompletionTool[], co: CompleteOptions = {}): Promise<Completion> {
    const cfg = this.cfg;
    const retries: RetryRecord[] = [];
    // A throwing callback must not become an uncaught exception in a timer; heartbeats are best effort.
    const wait = (w: WaitInfo) => { try { co.onWait?.(w); } catch { /* ignored */ } };
    for (let attempt = 0; ; attempt++) {
      const t0 = Date.now();
      const beat = co.onWait ? setInterval(() => wait({ phase: 'request', attempt, elapsedMs: Date.now() - t0 }), cfg.heartbeatMs) : null;
      try {
        const r = await this.client.chat.completions.create({
          model: cfg.model, messages, tools, tool_choice: 'auto',
          temperature: cfg.temperature, top_p: cfg.topP, max_tokens: cfg.maxTokensPerTurn,
        }, { timeout: cfg.requestTimeoutSec * 1000, maxRetries: 0, signal: co.signal });
        const choice = r.choices?.[0];
        if (!choice?.message) throw new ModelError(`the server answered without a choice: ${JSON.stringify(r).slice(0, 300)}`, retries, null);
        return { message: choice.message, usage: r.usage ?? null, retries };
      } catch (e) {
        if (beat) clearInterval(beat);
        if (co.signal?.aborted) throw new ModelAborted();
        if (e instanceof ModelError) throw e;
        const why = retryable(e);
        const status = e instanceof OpenAI.APIError && typeof e.status === 'number' ? e.status : null;
        const msg = e instanceof Error ? e.message : String(e);
        if (!why) throw new ModelError(`model request failed (not retryable): ${msg}`, retries, status);
        if (attempt >= cfg.retries) throw new ModelError(`model request failed ${attempt + 1} times, last: ${why}: ${msg}`, retries, status);
        const backoff = Math.min(cfg.retryMaxMs, cfg.retryBaseMs * 2 ** attempt * (0.5 + (this.o.random ?? Math.random)()));
        const delayMs = Math.round(Math.min(cfg.retryMaxMs, Math.max(backoff, retryAfterMs(e) ?? 0)));
        const rec: RetryRecord = { attempt: attempt + 1, reason: why, delayMs, at: new Date().toISOString() };
        retries.push(rec);
        this.o.log?.(`model: ${why} (${msg}); retry ${attempt + 1}/${cfg.retries} in ${delayMs} ms`);
        co.onRetry?.(rec);
        const b0 = Date.now();
        const backoffBeat = co.onWait ? setInterval(() => wait({ phase: 'backoff', attempt: attempt + 1, elapsedMs: Date.now() - b0 }), cfg.heartbeatMs) : null;
        try { await sleep(delayMs, co.signal); } finally { if (backoffBeat) clearInterval(backoffBeat); }
      } finally {
        if (beat) clearInterval(beat);
      }
    }
  }
}

export function createChatModel(cfg: LlmPolicyConfig, o?: ClientOptions): OpenAIChatModel {
  return new OpenAIChatModel(cfg, o);
}
