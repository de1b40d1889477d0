/** caFile, certFile and keyFile: a private CA and client certificates, for the tls and http probes. */
import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createServer as createTlsServer, type Server, type TLSSocket } from 'node:tls';
import type { HttpTarget, TlsTarget } from '../../src/config/schema.js';
import { probeHttp } from '../../src/probes/http.js';
import { loadSecureContext, SecureContexts, TlsFileError } from '../../src/probes/tls-files.js';
import { probeTls } from '../../src/probes/tls.js';
import { selfSignedCertificate, type TestCertificate } from '../fakes/certs.js';
import { configuredTarget, deadline } from '../fakes/targets.js';

let dir: string;
let server: TestCertificate;
let client: TestCertificate;
let stranger: TestCertificate;
const file = (name: string) => join(dir, name);

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'probebot-tls-files-'));
  [server, client, stranger] = await Promise.all([selfSignedCertificate(365), selfSignedCertificate(365, 'probebot-client'), selfSignedCertificate(365, 'stranger')]);
  await Promise.all([
    writeFile(file('ca.pem'), server.cert),
    writeFile(file('client.pem'), client.cert),
    writeFile(file('client-key.pem'), client.key),
    writeFile(file('stranger-key.pem'), stranger.key),
    writeFile(file('garbage.pem'), 'not a certificate\n'),
  ]);
});
after(() => rm(dir, { recursive: true, force: true }));

/** A TLS server that asks for a client certificate signed by `client`, and records whether each peer sent one that verified. */
async function startServer(kind: 'tls' | 'https', requireClient: boolean): Promise<{ port: number; verifiedClients: boolean[]; verdicts(count: number): Promise<boolean[]>; close(): void }> {
  const verifiedClients: boolean[] = [];
  const seen = new EventEmitter();
  // TLS 1.2 for the bare tls server: under 1.3 a client's handshake ends before the server has
  // judged its certificate, and the tls probe closes at that point.
  const options = { ...server, ...(requireClient ? { requestCert: true, rejectUnauthorized: true, ca: [client.cert], ...(kind === 'tls' ? { maxVersion: 'TLSv1.2' as const } : {}) } : {}) };
  const listener: Server = kind === 'tls'
    ? createTlsServer(options, (socket) => socket.end())
    : createHttpsServer(options, (_request, response) => response.end('ok')) as unknown as Server;
  const record = (verified: boolean): void => {
    verifiedClients.push(verified);
    seen.emit('verdict');
  };
  listener.on('secureConnection', (socket: TLSSocket) => record(socket.authorized));
  listener.on('tlsClientError', () => record(false));
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  // Under TLS 1.3 an https client's handshake ends before the server has judged its certificate.
  const verdicts = async (count: number): Promise<boolean[]> => {
    while (verifiedClients.length < count) await once(seen, 'verdict', { signal: AbortSignal.timeout(2000) });
    return verifiedClients;
  };
  return { port: (listener.address() as AddressInfo).port, verifiedClients, verdicts, close: () => listener.close() };
}

describe('tls files', () => {
  test('caFile makes a private CA trusted, for tls and https targets', async () => {
    for (const kind of ['tls', 'https'] as const) {
      const listener = await startServer(kind, false);
      try {
        const probe = (extra: Record<string, unknown>) => kind === 'tls'
          ? probeTls(configuredTarget<TlsTarget>({ type: 'tls', host: 'localhost', port: listener.port, timeout: '2s', ...extra }), deadline(2000))
          : probeHttp(configuredTarget<HttpTarget>({ type: 'http', url: `https://localhost:${listener.port}/`, timeout: '2s', ...extra }), deadline(2000));
        const untrusted = await probe({});
        assert.match(untrusted.error ?? '', /^certificate not trusted: /, kind);
        const trusted = await probe({ caFile: file('ca.pem') });
        assert.equal(trusted.ok, true, `${kind}: ${trusted.error}`);
      } finally {
        listener.close();
      }
    }
  });

  test('certFile and keyFile answer a server that asks for a client certificate', async () => {
    const tlsListener = await startServer('tls', true);
    try {
      const target = (extra: Record<string, unknown>) => configuredTarget<TlsTarget>({ type: 'tls', host: 'localhost', port: tlsListener.port, timeout: '2s', caFile: file('ca.pem'), ...extra });
      const without = await probeTls(target({}), deadline(2000));
      assert.equal(without.ok, false, 'the handshake fails without a client certificate');
      const result = await probeTls(target({ certFile: file('client.pem'), keyFile: file('client-key.pem') }), deadline(2000));
      assert.equal(result.ok, true, result.error);
      assert.deepEqual(await tlsListener.verdicts(2), [false, true], 'the server verified the client certificate');
    } finally {
      tlsListener.close();
    }
    const httpsListener = await startServer('https', true);
    try {
      const target = (extra: Record<string, unknown>) => configuredTarget<HttpTarget>({ type: 'http', url: `https://localhost:${httpsListener.port}/`, timeout: '2s', caFile: file('ca.pem'), ...extra });
      const without = await probeHttp(target({}), deadline(2000));
      assert.equal(without.ok, false, 'a server that requires a client certificate refuses the request');
      const withCertificate = await probeHttp(target({ certFile: file('client.pem'), keyFile: file('client-key.pem') }), deadline(2000));
      assert.equal(withCertificate.ok, true, withCertificate.error);
      assert.deepEqual(await httpsListener.verdicts(2), [false, true]);
    } finally {
      httpsListener.close();
    }
  });

  test('a file that cannot be used fails the probe with one line, without connecting', async () => {
    const result = await probeTls(configuredTarget<TlsTarget>({ type: 'tls', host: '127.0.0.1', port: 9, timeout: '1s', caFile: file('missing.pem') }), deadline(1000));
    assert.equal(result.error, `caFile ${file('missing.pem')} cannot be read (ENOENT)`);
    const http = await probeHttp(configuredTarget<HttpTarget>({ type: 'http', url: 'https://127.0.0.1:9/', timeout: '1s', caFile: file('garbage.pem') }), deadline(1000));
    assert.equal(http.error, `caFile ${file('garbage.pem')} holds no PEM certificate`);
  });

  test('each file is checked for what it must hold', () => {
    const problem = (files: Parameters<typeof loadSecureContext>[0]) => {
      try {
        loadSecureContext(files);
        return 'usable';
      } catch (error) {
        assert.ok(error instanceof TlsFileError);
        return `${error.field}: ${error.message}`;
      }
    };
    assert.equal(problem({ caFile: file('ca.pem'), certFile: file('client.pem'), keyFile: file('client-key.pem') }), 'usable');
    assert.equal(problem({ certFile: file('garbage.pem'), keyFile: file('client-key.pem') }), `certFile: certFile ${file('garbage.pem')} holds no PEM certificate`);
    assert.equal(problem({ certFile: file('client.pem'), keyFile: file('client.pem') }), `keyFile: keyFile ${file('client.pem')} holds no PEM private key without a passphrase`);
    assert.equal(problem({ certFile: file('client.pem'), keyFile: file('stranger-key.pem') }),
      `keyFile: keyFile ${file('stranger-key.pem')} does not go with certFile ${file('client.pem')} (key values mismatch)`);
  });

  test('contexts are built once per set of files and read again after five minutes', async () => {
    let now = 0;
    const contexts = new SecureContexts(() => now);
    const rotating = file('rotating-ca.pem');
    await writeFile(rotating, server.cert);
    const first = contexts.for({ caFile: rotating });
    assert.ok(first !== undefined);
    assert.equal(contexts.for({ caFile: rotating }), first, 'the same context, not a new parse per probe');
    assert.equal(contexts.for({}), undefined, 'no files: Node\'s default context');
    await writeFile(rotating, 'rotated into garbage\n');
    now = 5 * 60_000 - 1;
    assert.equal(contexts.for({ caFile: rotating }), first, 'not read again yet');
    now = 5 * 60_000;
    assert.throws(() => contexts.for({ caFile: rotating }), /rotating-ca\.pem holds no PEM certificate/);
    await writeFile(rotating, client.cert);
    const renewed = contexts.for({ caFile: rotating });
    assert.ok(renewed !== undefined && renewed !== first, 'a renewed file makes a new context');
  });

  test('forget() makes the next use read the files at once, as a reload does', async () => {
    const contexts = new SecureContexts(() => 0);
    const replaced = file('replaced-ca.pem');
    await writeFile(replaced, server.cert);
    const first = contexts.for({ caFile: replaced });
    await writeFile(replaced, 'replaced with garbage\n');
    assert.equal(contexts.for({ caFile: replaced }), first, 'cached until forgotten');
    contexts.forget();
    assert.throws(() => contexts.for({ caFile: replaced }), /replaced-ca\.pem holds no PEM certificate/);
  });
});
