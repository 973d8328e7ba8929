/**
 * Sends each sandbox to its backend: an image repository's mirror and every Docker snapshot to Docker, a local
 * snapshot to the local backend, and any other directory to the backend this worker was started with
 * (`--sandbox local|docker`). One campaign can so mix image repos and directory repos.
 */
import type { Sandbox, SandboxLimits, SandboxProvider, SnapshotRef } from './types.js';
import { readImageMarker } from './docker/imageRepo.js';
import type { LocalSandboxProvider } from './local.js';

export type Backend = 'local' | 'docker';

export interface ReleasingProvider extends SandboxProvider {
  /** Removes what an episode left (containers, snapshot images) once it ends; a no-op where nothing outlives dispose. */
  release?(labels: Record<string, string>): Promise<unknown>;
  /** Disposes its live sandboxes and removes the images it made. */
  close?(): Promise<void>;
}

export class RoutingSandboxProvider implements SandboxProvider {
  readonly name = 'router';
  private dockerP: ReleasingProvider | null = null;

  constructor(
    readonly local: LocalSandboxProvider,
    /** Made on first use: a worker that never meets an image needs no Docker engine. */
    private readonly makeDocker: () => ReleasingProvider,
    readonly directoryBackend: Backend,
  ) {}

  get docker(): ReleasingProvider {
    this.dockerP ??= this.makeDocker();
    return this.dockerP;
  }

  async backendFor(from: { base: string } | SnapshotRef): Promise<Backend> {
    if ('layers' in from) return from.backend === 'docker' ? 'docker' : 'local';
    if (await readImageMarker(from.base)) return 'docker';
    return this.directoryBackend;
  }

  async create(from: { base: string } | SnapshotRef, limits?: Partial<SandboxLimits>, labels?: Record<string, string>): Promise<Sandbox> {
    const b = await this.backendFor(from);
    return (b === 'docker' ? this.docker : this.local).create(from, limits, labels);
  }

  async release(labels: Record<string, string>): Promise<void> {
    if (this.dockerP) await this.dockerP.release?.(labels);
  }
}
