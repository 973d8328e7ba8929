import { createHash } from 'node:crypto';
import { readFile, readdir, stat, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { readJson, writeFileAtomic, writeJsonAtomic } from './fsutil.js';

/** A reference to a blob in the store: small enough to live in workflow state. */
export type BlobRef = `sha256:${string}`;

export function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * The artifact store: content-addressed blobs plus small JSON records, all in one directory tree so that
 * sandbox workers on several machines can share it (a shared volume). Every write is atomic (temp + rename).
 */
export class Store {
  constructor(readonly root: string) {}

  p(...parts: string[]): string {
    return path.join(this.root, ...parts);
  }

  async putBlob(data: string | Buffer): Promise<BlobRef> {
    const h = sha256(data);
    const file = this.p('blobs', h.slice(0, 2), h);
    try {
      await stat(file);
    } catch {
      await writeFileAtomic(file, data);
    }
    return `sha256:${h}`;
  }

  blobPath(ref: BlobRef): string {
    const h = ref.slice('sha256:'.length);
    return this.p('blobs', h.slice(0, 2), h);
  }

  async getBlob(ref: BlobRef): Promise<Buffer> {
    return readFile(this.blobPath(ref));
  }

  async getText(ref: BlobRef): Promise<string> {
    return (await this.getBlob(ref)).toString('utf8');
  }

  async putJson(rel: string, value: unknown): Promise<string> {
    const file = this.p(rel);
    await writeJsonAtomic(file, value);
    return file;
  }

  async getJson<T>(rel: string): Promise<T | null> {
    return readJson<T>(this.p(rel));
  }

  /** Relative names of the entries of a store directory (empty when it does not exist). */
  async list(rel: string): Promise<string[]> {
    try {
      return (await readdir(this.p(rel))).filter((n) => !n.includes('.tmp-')).sort();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
  }

  async ensureDir(rel: string): Promise<string> {
    const d = this.p(rel);
    await mkdir(d, { recursive: true });
    return d;
  }
}
