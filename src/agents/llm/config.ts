/**
 * Configuration of the LLM policy: where the model is served, how it samples, and the limits of one agent episode.
 * A zod fragment the campaign schema embeds; every field has a default, so `{}` is a whole config.
 */
import { z } from 'zod';

export const llmPolicySchema = z.object({
  baseUrl: z.string().url().default('http://127.0.0.1:8000/v1').describe('OpenAI-compatible endpoint (vLLM, SGLang, any server), up to and including /v1'),
  model: z.string().min(1).default('default').describe('Model name sent with every request'),
  apiKeyEnv: z.string().min(1).default('OPENAI_API_KEY').describe('Environment variable holding the API key (local servers ignore it: a placeholder is sent when unset)'),
  temperature: z.number().min(0).max(2).default(1.0).describe('Sampling temperature (RL rollouts sample at 1.0)'),
  topP: z.number().gt(0).max(1).default(1.0).describe('Nucleus sampling mass'),
  maxTokensPerTurn: z.number().int().min(1).default(4096).describe('max_tokens of one model response'),
  maxTurns: z.number().int().min(1).default(128).describe('Model calls per episode before it stops with max-turns (paper: 128)'),
  maxTokensPerEpisode: z.number().int().min(1).default(2_000_000).describe('Sum of usage.total_tokens over the turns of an episode before it stops with max-tokens'),
  wallTimeSec: z.number().int().min(1).default(2400).describe('Wall-clock limit of one episode, model and tools together (paper: 2,400 s per sandbox)'),
  toolOutputChars: z.number().int().min(100).default(10_000).describe('Characters of one tool result shown to the model; longer results are cut and say so'),
  commandTimeoutSec: z.number().int().min(1).default(120).describe('Time limit of one bash tool call (paper: 120 s)'),
  requestTimeoutSec: z.number().int().min(1).default(600).describe('Time limit of one model request; a request past it is retried'),
  retries: z.number().int().min(0).default(5).describe('Retries of one model request on 429, 5xx, connection errors and timeouts, with exponential backoff'),
  retryBaseMs: z.number().int().min(1).default(1000).describe('First backoff delay; doubled on each retry (with jitter), capped by retryMaxMs'),
  retryMaxMs: z.number().int().min(1).default(60_000).describe('Longest backoff delay (a Retry-After header is honoured up to this)'),
  noSubmitLimit: z.number().int().min(1).default(3).describe('Answers in a row without a tool call before the episode stops with no-submit (a reminder is sent in between)'),
  heartbeatMs: z.number().int().min(50).default(5000).describe('How often onWait is called while a model request or a backoff is pending'),
}).strict();

export type LlmPolicyConfig = z.output<typeof llmPolicySchema>;

/** A whole config from a partial one (tests, scripts). */
export function llmPolicyConfig(partial: z.input<typeof llmPolicySchema> = {}): LlmPolicyConfig {
  return llmPolicySchema.parse(partial);
}
