/**
 * The agent's tools, acting only inside the episode's Sandbox: bash, view, edit (exact string replacement), submit.
 * The paper's scaffold is the same: a shell, a search-replace editor and submit.
 */
import type { ChatCompletionFunctionTool } from 'openai/resources/chat/completions';
import type { Sandbox } from '../../sandbox/types.js';
import { shQuote } from '../../sandbox/shell.js';

export const TOOLS: ChatCompletionFunctionTool[] = [
  {
    type: 'function',
    function: {
      name: 'bash',
      description: 'Run a bash command in the repository (the working directory). No network. Output is stdout and stderr; long output is cut.',
      parameters: {
        type: 'object',
        properties: {
          command: { type: 'string', description: 'The command line, run with bash -c' },
          timeout_sec: { type: 'integer', description: 'Time limit in seconds (at most the configured command limit)' },
        },
        required: ['command'],
      },
    },
  },
  {
    type: 'function',
    function: {
      name: 'view',
      description: 'Show a file with line numbers (optionally only a range of lines), or list a directory.',
      parameters: {
        type: 'object',
        properties: {
          path: { type: 'string', description: 'Path relative to the repository' },
          view_range: { type: 'array', items: { type: 'integer' }, description: '[first, last] line numbers, 1-based, inclusive; last -1 means to the end' },
        },
        required: ['path'],
      },
    },
  },
  {
    type: 'function',
    function: {
      name: 'edit',
      description: 'Replace old_str by new_str in a file. old_str must occur exactly once (include enough surrounding lines). With old_str empty, creates a file that does not exist yet.',
      parameters: {
        type: 'object',
        properties: {
          path: { type: 'string', description: 'Path relative to the repository' },
          old_str: { type: 'string', description: 'Exact text to replace, whitespace included' },
          new_str: { type: 'string', description: 'Replacement text' },
        },
        required: ['path', 'old_str', 'new_str'],
      },
    },
  },
  {
    type: 'function',
    function: {
      name: 'submit',
      description: 'End the episode: your work in the repository is final.',
      parameters: { type: 'object', properties: { summary: { type: 'string', description: 'One line about what you did' } }, required: [] },
    },
  },
];

export type ToolCall =
  | { tool: 'bash'; command: string; timeoutSec?: number }
  | { tool: 'view'; path: string; range?: [number, number] }
  | { tool: 'edit'; path: string; oldStr: string; newStr: string }
  | { tool: 'submit'; summary?: string };

/** Tools whose effect on the sandbox a resume must redo (view and submit change nothing). */
export const STATEFUL_TOOLS: ReadonlySet<string> = new Set(['bash', 'edit']);

/** A tool call the model got wrong; the message goes back to it as the tool result. */
export type Parsed = { ok: true; call: ToolCall } | { ok: false; error: string };

export function parseToolCall(name: string, rawArgs: string): Parsed {
  const known = TOOLS.map((t) => t.function.name);
  if (!known.includes(name)) return { ok: false, error: `unknown tool ${JSON.stringify(name)}; the tools are ${known.join(', ')}` };
  let a: unknown;
  try {
    a = rawArgs.trim() === '' ? {} : JSON.parse(rawArgs);
  } catch (e) {
    return { ok: false, error: `the arguments of ${name} are not valid JSON (${(e as Error).message}); send a JSON object` };
  }
  if (a === null || typeof a !== 'object' || Array.isArray(a)) return { ok: false, error: `the arguments of ${name} must be a JSON object` };
  const o = a as Record<string, unknown>;
  const str = (k: string): string | null => (typeof o[k] === 'string' ? (o[k] as string) : null);
  const need = (...ks: string[]): string | null => {
    const bad = ks.filter((k) => str(k) === null);
    return bad.length ? `${name} needs the string field${bad.length > 1 ? 's' : ''} ${bad.join(', ')}` : null;
  };
  switch (name) {
    case 'bash': {
      const err = need('command');
      if (err) return { ok: false, error: err };
      const t = o.timeout_sec;
      if (t !== undefined && (typeof t !== 'number' || !(t > 0))) return { ok: false, error: 'bash: timeout_sec must be a positive number' };
      return { ok: true, call: { tool: 'bash', command: str('command')!, timeoutSec: t as number | undefined } };
    }
    case 'view': {
      const err = need('path');
      if (err) return { ok: false, error: err };
      const r = o.view_range;
      if (r === undefined) return { ok: true, call: { tool: 'view', path: str('path')! } };
      if (!Array.isArray(r) || r.length !== 2 || !r.every((x) => Number.isInteger(x))) return { ok: false, error: 'view: view_range must be [first, last], two integers' };
      return { ok: true, call: { tool: 'view', path: str('path')!, range: [r[0] as number, r[1] as number] } };
    }
    case 'edit': {
      const err = need('path', 'old_str', 'new_str');
      if (err) return { ok: false, error: err };
      return { ok: true, call: { tool: 'edit', path: str('path')!, oldStr: str('old_str')!, newStr: str('new_str')! } };
    }
    default:
      return { ok: true, call: { tool: 'submit', summary: str('summary') ?? undefined } };
  }
}

export interface ToolResult { output: string; error: boolean; submit: boolean }

export interface ToolContext { sandbox: Sandbox; commandTimeoutMs: number }

const ok = (output: string): ToolResult => ({ output, error: false, submit: false });
const fail = (output: string): ToolResult => ({ output, error: true, submit: false });

function count(hay: string, needle: string): number {
  let n = 0;
  for (let i = hay.indexOf(needle); i !== -1; i = hay.indexOf(needle, i + needle.length)) n++;
  return n;
}

async function readText(sb: Sandbox, p: string): Promise<string | { missing: true } | { dir: true }> {
  try {
    return (await sb.readFile(p)).toString('utf8');
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ENOENT') return { missing: true };
    if (code === 'EISDIR') return { dir: true };
    throw e;
  }
}

export async function runTool(call: ToolCall, ctx: ToolContext): Promise<ToolResult> {
  const sb = ctx.sandbox;
  switch (call.tool) {
    case 'bash': {
      const timeoutMs = Math.min(ctx.commandTimeoutMs, (call.timeoutSec ?? Infinity) * 1000);
      const r = await sb.exec(call.command, { timeoutMs });
      const parts = [r.stdout, r.stderr ? `[stderr]\n${r.stderr}` : ''].filter(Boolean).join('\n');
      const status = r.killed === 'timeout' ? `killed: the command ran past its ${Math.round(timeoutMs / 1000)} s limit`
        : r.killed ? `killed by the sandbox (${r.killed} limit)` : `exit code ${r.exitCode ?? r.signal}`;
      return { output: `${parts}${parts && !parts.endsWith('\n') ? '\n' : ''}[${status}]`, error: r.exitCode !== 0, submit: false };
    }
    case 'view': {
      const t = await readText(sb, call.path);
      if (typeof t !== 'string') {
        if ('missing' in t) return fail(`view: ${call.path} does not exist`);
        const ls = await sb.exec(`find ${shQuote(call.path)} -maxdepth 2 -not -path '*/.git' -not -path '*/.git/*' | sort | head -500`, { timeoutMs: ctx.commandTimeoutMs });
        return ok(ls.stdout);
      }
      const lines = t.split('\n');
      if (lines.at(-1) === '') lines.pop();
      let [first, last] = call.range ?? [1, lines.length];
      if (last === -1) last = lines.length;
      if (first < 1 || first > Math.max(lines.length, 1) || last < first) return fail(`view: range [${first}, ${last}] is outside the file's ${lines.length} lines`);
      last = Math.min(last, lines.length);
      return ok(lines.slice(first - 1, last).map((l, i) => `${String(first + i).padStart(6)}\t${l}`).join('\n') + '\n');
    }
    case 'edit': {
      const t = await readText(sb, call.path);
      if (typeof t !== 'string') {
        if ('dir' in t) return fail(`edit: ${call.path} is a directory`);
        if (call.oldStr !== '') return fail(`edit: ${call.path} does not exist (to create it, send an empty old_str)`);
        await sb.writeFile(call.path, call.newStr);
        return ok(`created ${call.path}`);
      }
      if (call.oldStr === '') return fail(`edit: ${call.path} exists; old_str must not be empty`);
      const n = count(t, call.oldStr);
      if (n !== 1) {
        return fail(n === 0
          ? `edit: old_str does not occur in ${call.path}; it must match exactly, whitespace included (view the file first)`
          : `edit: old_str occurs ${n} times in ${call.path}; it must occur exactly once: include more surrounding lines`);
      }
      const i = t.indexOf(call.oldStr);
      await sb.writeFile(call.path, t.slice(0, i) + call.newStr + t.slice(i + call.oldStr.length));
      return ok(`edited ${call.path}`);
    }
    case 'submit':
      return { output: 'submitted', error: false, submit: true };
  }
}

/** Cuts a tool result to `max` characters, keeping its head and tail, and says so. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  const head = Math.floor(max * 0.6), tail = max - head;
  return `${text.slice(0, head)}\n[... output truncated: ${text.length - max} of ${text.length} characters omitted ...]\n${text.slice(text.length - tail)}`;
}
