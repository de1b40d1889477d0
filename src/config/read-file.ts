/** Reading rules.yaml from disk, refusing with one line what is not a config file. */
import { open, type FileHandle } from 'node:fs/promises';
import { ConfigError } from './errors.js';

/** Larger than any real rules file; refusing early keeps a wrong path (a log, a disk image) from eating memory. */
export const MAX_CONFIG_BYTES = 5 * 1024 * 1024;

/** The file's text, or a ConfigError with one line saying why it cannot be used. */
export async function readConfigText(path: string): Promise<string> {
  const fail = (reason: string): never => {
    throw new ConfigError([`${path}: ${reason}`]);
  };
  const tooLarge = `is larger than ${MAX_CONFIG_BYTES / 1024 / 1024} MB; is this the right file?`;
  let bytes: Buffer;
  try {
    const handle = await open(path, 'r');
    try {
      const stats = await handle.stat();
      if (stats.isDirectory()) fail('cannot read: is a directory');
      if (stats.isFile() && stats.size > MAX_CONFIG_BYTES) fail(tooLarge);
      bytes = await readAtMost(handle, MAX_CONFIG_BYTES + 1);
    } finally {
      await handle.close();
    }
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    return fail(`cannot read: ${readFailure(error)}`);
  }
  if (bytes.length > MAX_CONFIG_BYTES) fail(tooLarge);
  if (bytes.includes(0)) fail('is not a text file (it contains NUL bytes)');
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    return fail('is not UTF-8 text');
  }
}

/** Reads up to `limit` bytes; a pipe or device has no size to check up front. */
async function readAtMost(handle: FileHandle, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  while (total < limit) {
    const chunk = Buffer.alloc(Math.min(64 * 1024, limit - total));
    const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
    if (bytesRead === 0) break;
    chunks.push(chunk.subarray(0, bytesRead));
    total += bytesRead;
  }
  return Buffer.concat(chunks, total);
}

const READ_FAILURES: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'is a directory',
  ENOTDIR: 'a part of the path is not a directory',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'the path is too long',
};

function readFailure(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code !== undefined && READ_FAILURES[code]) return READ_FAILURES[code];
  return error instanceof Error ? error.message : String(error);
}
