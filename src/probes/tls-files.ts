/**
 * The PEM files a target names for TLS (caFile, certFile, keyFile), as one SecureContext per
 * distinct set of paths. Building a context parses the PEM, which per connection would cost more
 * than the handshake; reading the files again after a few minutes lets a renewed certificate
 * take effect without a reload, and a reload reads them at once.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContext } from 'node:tls';

export interface TlsFiles {
  caFile?: string | undefined;
  certFile?: string | undefined;
  keyFile?: string | undefined;
}

const REREAD_AFTER_MS = 5 * 60_000;

export class SecureContexts {
  private readonly loaded = new Map<string, { context: SecureContext; at: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  /** The context for these files; undefined when none is named. Throws a one-line Error when one cannot be used. */
  for(files: TlsFiles): SecureContext | undefined {
    if (files.caFile === undefined && files.certFile === undefined && files.keyFile === undefined) return undefined;
    const key = tlsFilesKey(files);
    const now = this.now();
    const cached = this.loaded.get(key);
    if (cached !== undefined && now - cached.at < REREAD_AFTER_MS) return cached.context;
    const context = loadSecureContext(files);
    this.loaded.set(key, { context, at: now });
    return context;
  }

  /** Reads every file again at its next use: after a reload, an operator expects a replaced file used. */
  forget(): void {
    this.loaded.clear();
  }
}

/** One string per distinct set of files. */
export function tlsFilesKey(files: TlsFiles): string {
  return `${files.caFile ?? ''}\0${files.certFile ?? ''}\0${files.keyFile ?? ''}`;
}

/** The probes' shared contexts. */
export const secureContexts = new SecureContexts();

/** A file that cannot be used: "caFile /etc/ca.pem cannot be read (ENOENT)". */
export class TlsFileError extends Error {
  constructor(readonly field: keyof TlsFiles, readonly file: string, readonly problem: string) {
    super(`${field} ${file} ${problem}`);
  }
}

/** Reads the files and builds their context; a TlsFileError says which file is wrong and how. */
export function loadSecureContext(files: TlsFiles): SecureContext {
  const ca = readPem('caFile', files.caFile, isCertificate, 'holds no PEM certificate');
  const cert = readPem('certFile', files.certFile, isCertificate, 'holds no PEM certificate');
  const key = readPem('keyFile', files.keyFile, isPrivateKey, 'holds no PEM private key without a passphrase');
  try {
    return createSecureContext({ ca, cert, key });
  } catch (error) {
    // OpenSSL's "error:05800074:x509 certificate routines::key values mismatch": the reason is the tail.
    const reason = String((error as Error).message).split('::').pop();
    throw new TlsFileError('keyFile', files.keyFile ?? '', `does not go with certFile ${files.certFile} (${reason})`);
  }
}

function readPem(field: keyof TlsFiles, path: string | undefined, valid: (pem: Buffer) => boolean, invalid: string): Buffer | undefined {
  if (path === undefined) return undefined;
  let pem: Buffer;
  try {
    pem = readFileSync(path);
  } catch (error) {
    throw new TlsFileError(field, path, `cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  if (!valid(pem)) throw new TlsFileError(field, path, invalid);
  return pem;
}

/** Node takes a CA file without a certificate in it and then trusts nothing: say so instead. */
function isCertificate(pem: Buffer): boolean {
  try {
    new X509Certificate(pem);
    return true;
  } catch {
    return false;
  }
}

function isPrivateKey(pem: Buffer): boolean {
  try {
    createPrivateKey(pem);
    return true;
  } catch {
    return false;
  }
}
