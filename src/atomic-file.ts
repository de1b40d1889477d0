import { open, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';

let temporaryCounter = 0;

/** Suffix of the temporary files writeFileAtomic leaves behind when killed mid-write. */
export const TEMPORARY_SUFFIX = '.tmp';

/**
 * The one way probebot replaces a file (target states, outbox batches, silences, memos).
 * Writes a file so that a crash at any moment leaves either the old content or the new one:
 * a temporary file in the same directory, fdatasync, rename over the target, then (unless told
 * otherwise) fsync the directory so the rename itself is on disk.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, options: { syncDirectory?: boolean } = {}): Promise<void> {
  const temporary = `${path}.${process.pid}.${temporaryCounter++}${TEMPORARY_SUFFIX}`;
  try {
    const handle = await open(temporary, 'w', 0o600);
    try {
      await handle.writeFile(data);
      await handle.datasync(); // the data and its size; mtime and the like need not be durable
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
  } catch (error) {
    await unlink(temporary).catch(() => {});
    throw error;
  }
  if (options.syncDirectory ?? true) await syncDirectory(dirname(path));
}

/** Makes renames and deletions inside a directory durable. */
export async function syncDirectory(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
  } catch (error) {
    // Some platforms (Windows) cannot open a directory; the rename itself is done.
    if ((error as NodeJS.ErrnoException).code === 'EISDIR' || (error as NodeJS.ErrnoException).code === 'EPERM') return;
    throw error;
  }
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
