/** Self-signed certificates for TLS tests, made with the openssl CLI (no extra dependency). */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestCertificate {
  key: string;
  cert: string;
}

/**
 * A P-256 key and a self-signed certificate valid from now for `days` days, for CN=localhost
 * with localhost and 127.0.0.1 as subject alternative names.
 */
export async function selfSignedCertificate(days: number, commonName = 'localhost'): Promise<TestCertificate> {
  const dir = await mkdtemp(join(tmpdir(), 'probebot-cert-'));
  try {
    const keyPath = join(dir, 'key.pem');
    const certPath = join(dir, 'cert.pem');
    await run('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', keyPath, '-out', certPath, '-days', String(days), '-subj', `/CN=${commonName}`,
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ], { timeout: 10_000 });
    const [key, cert] = await Promise.all([readFile(keyPath, 'utf8'), readFile(certPath, 'utf8')]);
    return { key, cert };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
