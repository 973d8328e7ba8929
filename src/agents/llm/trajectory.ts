/**
 * A trajectory as one JSON line in OpenAI chat format: `messages` and `tools` exactly as they went to the model, so
 * TRL, verl and OpenRLHF read it as a tool-calling conversation; the rest is the episode's bookkeeping.
 */
import type { ChatCompletionTool } from 'openai/resources/chat/completions';
import type { ChatMessage } from './client.js';
import type { StopReason } from './loop.js';

export interface TrajectoryRecord {
  messages: ChatMessage[];
  tools: ChatCompletionTool[];
  role: 'injector' | 'solver';
  policy_version: string;
  episode_id: string;
  /** Filled once the episode is scored (the injector's reward waits for the solver attempts). */
  reward: number | null;
  stop: StopReason;
  /** Anything else worth keeping (attempt, strategy, token count). */
  meta?: Record<string, unknown>;
}

export function trajectoryLine(r: TrajectoryRecord): string {
  return JSON.stringify(r) + '\n';
}

/** Parses JSONL; a line that is not a trajectory is an error naming its line number. */
export function parseTrajectories(text: string): TrajectoryRecord[] {
  return text.split('\n').map((l, i) => [l, i + 1] as const).filter(([l]) => l.trim()).map(([l, n]) => {
    const v = JSON.parse(l) as Partial<TrajectoryRecord>;
    if (!Array.isArray(v.messages) || !Array.isArray(v.tools) || (v.role !== 'injector' && v.role !== 'solver')) {
      throw new Error(`trajectory line ${n} lacks messages, tools or role`);
    }
    return v as TrajectoryRecord;
  });
}

/** The same record with its reward set (rewards are known only after grading). */
export function withReward(r: TrajectoryRecord, reward: number): TrajectoryRecord {
  return { ...r, reward };
}
