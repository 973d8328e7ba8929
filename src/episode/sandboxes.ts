import type { CampaignConfig } from '../config/schema.js';
import type { Runtime } from '../runtime.js';
import { withLimits } from '../sandbox/limited.js';
import type { SandboxProvider } from '../sandbox/types.js';

/** Every sandbox of an episode: the campaign's `sandbox:` limits where it sets them, else the worker's. */
export function sandboxes(rt: Runtime, cfg: CampaignConfig): SandboxProvider {
  const { memoryMb, maxPids, maxOutputKb } = cfg.sandbox;
  return withLimits(rt.provider, {
    ...(memoryMb !== undefined ? { memoryBytes: memoryMb * 1024 ** 2 } : {}),
    ...(maxPids !== undefined ? { maxPids } : {}),
    ...(maxOutputKb !== undefined ? { maxOutputBytes: maxOutputKb * 1024 } : {}),
  });
}

