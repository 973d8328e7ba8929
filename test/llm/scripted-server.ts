/**
 * A scripted OpenAI-compatible model server over a real socket: POST /v1/chat/completions plays one step of its
 * script per request (an assistant reply, or a fault: an HTTP error, a response slower than the client's timeout,
 * a dropped connection, the server dying), and records every request so tests can assert what the agent sent.
 * The only stand-in in these tests: the sandbox, git, the openai client and the HTTP stack are all real.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { ChatMessage } from '../../src/agents/llm/client.js';

export interface ScriptedToolCall { name: string; arguments: string | Record<string, unknown>; id?: string }
export interface Reply { content?: string | null; tool_calls?: ScriptedToolCall[]; usage?: { prompt_tokens?: number; completion_tokens?: number; total_tokens?: number } }
export type Fault =
  | { status: number; message?: string; retryAfterSec?: number }
  | { delayMs: number; then?: Reply }
  | { destroy: true }
  | { die: true };
export interface RecordedRequest {
  /** The parsed body as the client sent it. */
  body: { model: string; messages: ChatMessage[]; tools?: unknown[]; temperature?: number; top_p?: number; max_tokens?: number; [k: string]: unknown };
  /** Index of the script step that answered it (-1: the fallback). */
  step: number;
  /** The Authorization header, to check which API key the client sent. */
  authorization: string | null;
}
export type Step = Reply | Fault | ((req: RecordedRequest) => Reply | Fault);

const isFault = (s: Reply | Fault): s is Fault => 'status' in s || 'delayMs' in s || 'destroy' in s || 'die' in s;

export class ScriptedServer {
  readonly requests: RecordedRequest[] = [];
  /** What each request got: `reply`, `status 500`, `delay`, `destroy`, `die`, `exhausted`. */
  readonly outcomes: string[] = [];
  /** Adapters loaded through vLLM's POST /v1/load_lora_adapter, in order. */
  readonly loads: { lora_name: string; lora_path: string }[] = [];
  private next = 0;
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;

  private constructor(private readonly server: http.Server, private readonly script: Step[], private readonly fallback: Step | null) {}

  /** Starts on 127.0.0.1 at a free port. `fallback` answers every request after the script (else a 400 saying so). */
  static async start(script: Step[], o: { fallback?: Step } = {}): Promise<ScriptedServer> {
    let self: ScriptedServer | null = null;
    const server = http.createServer((req, res) => { void self!.handle(req, res); });
    self = new ScriptedServer(server, script, o.fallback ?? null);
    server.on('connection', (s: Socket) => { self!.sockets.add(s); s.on('close', () => self!.sockets.delete(s)); });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return self;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
  }

  /** Steps not yet played. */
  get remaining(): number { return this.script.length - this.next; }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    if (this.closed) return;
    this.closed = true;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const json = (status: number, v: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(v));
    };
    if (req.method === 'GET' && req.url === '/v1/models') {
      return json(200, { object: 'list', data: [{ id: 'scripted', object: 'model', created: 0, owned_by: 'test' }] });
    }
    if (req.method === 'POST' && req.url === '/v1/load_lora_adapter') {
      const b = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { lora_name: string; lora_path: string };
      // vLLM refuses a second load under the same name.
      if (this.loads.some((l) => l.lora_name === b.lora_name)) { res.writeHead(400); res.end(`The lora adapter '${b.lora_name}' has already been loaded.`); return; }
      this.loads.push(b);
      res.writeHead(200); res.end(`Success: LoRA adapter '${b.lora_name}' added successfully.`);
      return;
    }
    if (req.method !== 'POST' || req.url !== '/v1/chat/completions') return json(404, { error: { message: `no route ${req.method} ${req.url}` } });

    const rec: RecordedRequest = { body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as RecordedRequest['body'], step: this.next < this.script.length ? this.next : -1, authorization: req.headers.authorization ?? null };
    this.requests.push(rec);
    const raw = this.next < this.script.length ? this.script[this.next++] : this.fallback;
    if (!raw) {
      this.outcomes.push('exhausted');
      return json(400, { error: { message: `scripted server: script exhausted after ${this.script.length} steps`, type: 'invalid_request_error' } });
    }
    const step = typeof raw === 'function' ? raw(rec) : raw;
    if (!isFault(step)) {
      this.outcomes.push('reply');
      return json(200, this.completion(step, rec));
    }
    if ('status' in step) {
      this.outcomes.push(`status ${step.status}`);
      return json(step.status, { error: { message: step.message ?? `scripted fault ${step.status}`, type: 'server_error' } },
        step.retryAfterSec !== undefined ? { 'retry-after': String(step.retryAfterSec) } : {});
    }
    if ('delayMs' in step) {
      this.outcomes.push('delay');
      const t = setTimeout(() => {
        this.timers.delete(t);
        if (!res.destroyed) json(200, this.completion(step.then ?? { content: 'late' }, rec));
      }, step.delayMs);
      this.timers.add(t);
      return;
    }
    if ('destroy' in step) {
      this.outcomes.push('destroy');
      req.socket.destroy();
      return;
    }
    this.outcomes.push('die');
    req.socket.destroy();
    await this.close();
  }

  private completion(r: Reply, rec: RecordedRequest) {
    const n = this.requests.indexOf(rec);
    const calls = (r.tool_calls ?? []).map((c, i) => ({
      id: c.id ?? `call_${n}_${i}`, type: 'function' as const,
      function: { name: c.name, arguments: typeof c.arguments === 'string' ? c.arguments : JSON.stringify(c.arguments) },
    }));
    const prompt = r.usage?.prompt_tokens ?? Math.ceil(JSON.stringify(rec.body.messages).length / 4);
    const completion = r.usage?.completion_tokens ?? 20;
    return {
      id: `chatcmpl-${n}`, object: 'chat.completion', created: Math.floor(Date.now() / 1000), model: rec.body.model,
      choices: [{
        index: 0, finish_reason: calls.length ? 'tool_calls' : 'stop', logprobs: null,
        message: { role: 'assistant', content: r.content ?? null, refusal: null, ...(calls.length ? { tool_calls: calls } : {}) },
      }],
      usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: r.usage?.total_tokens ?? prompt + completion },
    };
  }
}

/** The text of a message's content (string, or the text parts of an array). */
export function textOf(m: ChatMessage): string {
  const c = m.content;
  if (typeof c === 'string') return c;
  if (!c) return '';
  return c.map((p) => ('text' in p ? p.text : '')).join('');
}
