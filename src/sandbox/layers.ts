/**
 * Frozen layers of the local backend, under `<stateDir>/layers/<id>/`: `tree/` and `layer.json`.
 *
 * A 'diff' layer is a former overlay upper directory: only the changed files, deletions as whiteouts
 * (character devices 0/0) and opaque directories as `trusted.overlay.opaque` xattrs; it means something only
 * stacked on its parents and base, which is how overlayfs reads it. A 'full' layer is a whole tree (what the
 * unisolated backend snapshots); everything under it in a stack is ignored.
 */
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { SnapshotRef } from './types.js';
import { SandboxError } from './errors.js';

export type LayerKind = 'diff' | 'full';

export interface LayerMeta {
  kind: LayerKind;
  base: string;
  /** Layers under this one, topmost first (as they were when it was frozen). */
  parents: string[];
  createdAt: string;
  fromSandbox: string;
  labels: Record<string, string>;
}

const LAYER_ID_RE = /^l-[a-z0-9]+-[0-9a-f]{12}$/;

export function newLayerId(): string {
  return `l-${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`;
}

export function isLayerId(id: string): boolean {
  return LAYER_ID_RE.test(id);
}

export class LayerStore {
  constructor(readonly dir: string) {}

  layerDir(id: string): string {
    if (!isLayerId(id)) throw new SandboxError(`not a layer id of the local backend: ${JSON.stringify(id)}`);
    return path.join(this.dir, id);
  }

  treeDir(id: string): string {
    return path.join(this.layerDir(id), 'tree');
  }

  async meta(id: string): Promise<LayerMeta> {
    const file = path.join(this.layerDir(id), 'layer.json');
    try {
      return JSON.parse(await readFile(file, 'utf8')) as LayerMeta;
    } catch (e) {
      throw new SandboxError(`layer ${id} is missing or unreadable (${(e as Error).message})`);
    }
  }

  async writeMeta(id: string, meta: LayerMeta): Promise<void> {
    await mkdir(this.layerDir(id), { recursive: true });
    // Written under a temporary name and renamed: a reader never sees half a manifest.
    const file = path.join(this.layerDir(id), 'layer.json');
    await writeFile(`${file}.tmp`, JSON.stringify(meta, null, 2) + '\n');
    await rename(`${file}.tmp`, file);
  }

  /**
   * The directories to stack for a snapshot, topmost first, ending with the base unless a full layer cuts the
   * stack. `used` are the layer ids the stack really reads.
   */
  async resolve(ref: SnapshotRef): Promise<{ lowers: string[]; used: string[]; full: boolean }> {
    if (ref.backend !== 'local') throw new SandboxError(`snapshot of backend '${ref.backend}' cannot start a local sandbox`);
    const lowers: string[] = [];
    const used: string[] = [];
    for (const id of ref.layers) {
      const meta = await this.meta(id);
      const tree = this.treeDir(id);
      await stat(tree).catch(() => {
        throw new SandboxError(`layer ${id} has no tree`);
      });
      lowers.push(tree);
      used.push(id);
      if (meta.kind === 'full') return { lowers, used, full: true };
    }
    lowers.push(ref.base);
    return { lowers, used, full: false };
  }

  /** Layers whose stack includes `id` (snapshots taken on top of it). */
  async children(id: string): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return [];
    }
    const out: string[] = [];
    for (const n of names) {
      if (!isLayerId(n) || n === id) continue;
      const meta = await this.meta(n).catch(() => null);
      if (meta?.parents.includes(id)) out.push(n);
    }
    return out;
  }

  async remove(id: string): Promise<void> {
    await rm(this.layerDir(id), { recursive: true, force: true });
  }
}
