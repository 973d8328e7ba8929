import type { Sandbox, SandboxLimits, SandboxProvider, SnapshotRef } from './types.js';

/**
 * A provider whose sandboxes get `limits` over the worker's own defaults (a campaign's `sandbox:` settings), while
 * limits a caller passes for one sandbox still win. Only the fields given are overridden.
 */
export function withLimits(provider: SandboxProvider, limits: Partial<SandboxLimits>): SandboxProvider {
  if (Object.keys(limits).length === 0) return provider;
  return {
    name: provider.name,
    create(from: { base: string } | SnapshotRef, own?: Partial<SandboxLimits>, labels?: Record<string, string>): Promise<Sandbox> {
      return provider.create(from, { ...limits, ...own }, labels);
    },
  };
}
