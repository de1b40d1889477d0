import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { DnsTarget } from '../../src/config/schema.js';
import { probeDns } from '../../src/probes/dns.js';
import { configuredTarget, deadline, startDnsServer, type FakeDnsServer } from '../fakes/targets.js';

const ZONE = {
  'db.internal': { A: ['10.0.0.5', '10.0.0.6'], MX: [{ priority: 10, exchange: 'mail.example.com' }] },
  'v6.internal': { AAAA: ['fd00::5', '::1'] },
  'example.com': { TXT: [['v=spf1 ', 'include:_spf.example.com ~all'], ['google-site-verification=abc']] },
};

describe('dns probe', () => {
  let server: FakeDnsServer;
  before(async () => { server = await startDnsServer(ZONE); });
  after(() => server.close());

  const dnsTarget = (query: string, extra: Record<string, unknown> = {}) =>
    configuredTarget<DnsTarget>({ type: 'dns', query, server: server.address, timeout: '1s', ...extra });
  const probe = (query: string, extra: Record<string, unknown> = {}) => probeDns(dnsTarget(query, extra), deadline(1000));

  test('an answer containing the expected text passes, answers in the details', async () => {
    const result = await probe('db.internal', { expect: { contains: '10.0.0.5' } });
    assert.equal(result.ok, true, result.error);
    assert.deepEqual(result.details, { answers: ['10.0.0.5', '10.0.0.6'], answerCount: 2 });
  });

  test('no answer containing the expected text fails and lists what came back', async () => {
    const result = await probe('db.internal', { expect: { contains: '10.0.0.7' } });
    assert.equal(result.ok, false);
    assert.equal(result.error, 'no answer contains "10.0.0.7" (got 10.0.0.5, 10.0.0.6)');
  });

  test('MX, TXT and AAAA answers are compared as text', async () => {
    const mx = await probe('db.internal', { recordType: 'MX', expect: { contains: '10 mail.example.com' } });
    assert.equal(mx.ok, true, mx.error);
    const txt = await probe('example.com', { recordType: 'TXT', expect: { contains: 'v=spf1 include:_spf' } });
    assert.equal(txt.ok, true, txt.error);
    assert.deepEqual(txt.details?.answers, ['v=spf1 include:_spf.example.com ~all', 'google-site-verification=abc']);
    const aaaa = await probe('v6.internal', { recordType: 'AAAA', expect: { contains: 'fd00::5' } });
    assert.deepEqual(aaaa.details?.answers, ['fd00::5', '::1']);
    assert.equal(aaaa.ok, true, aaaa.error);
  });

  test('NXDOMAIN fails with the resolver error', async () => {
    const result = await probe('missing.internal');
    assert.equal(result.ok, false);
    assert.equal(result.error, 'queryA ENOTFOUND missing.internal');
  });

  test('a name without records of the type fails unless minAnswers is 0', async () => {
    const none = await probe('db.internal', { recordType: 'AAAA' });
    assert.equal(none.error, 'no AAAA records for db.internal');
    const allowed = await probe('db.internal', { recordType: 'AAAA', expect: { minAnswers: 0 } });
    assert.equal(allowed.ok, true, allowed.error);
  });

  test('fewer answers than minAnswers fails', async () => {
    const result = await probe('db.internal', { expect: { minAnswers: 3 } });
    assert.equal(result.error, '2 A records for db.internal, expected at least 3');
  });

  describe('against a server that never answers', () => {
    let silent: FakeDnsServer;
    before(async () => { silent = await startDnsServer(ZONE, { silent: true }); });
    after(() => silent.close());

    test('fails at the deadline', async () => {
      const target = configuredTarget<DnsTarget>({ type: 'dns', query: 'db.internal', server: silent.address, timeout: '300ms' });
      const before = silent.queries;
      const result = await probeDns(target, deadline(300));
      assert.equal(result.ok, false);
      assert.equal(result.error, 'timeout after 300ms (waiting for answer)');
      assert.ok(result.latencyMs >= 290 && result.latencyMs < 800, `took ${result.latencyMs}ms`);
      assert.ok(silent.queries > before, 'the query reached the server');
    });

    test('a shutdown cancels the query and says aborted', async () => {
      const target = configuredTarget<DnsTarget>({ type: 'dns', query: 'db.internal', server: silent.address, timeout: '5s' });
      const controller = new AbortController();
      const pending = probeDns(target, controller.signal);
      setTimeout(() => controller.abort(new Error('stopping')), 50);
      const result = await pending;
      assert.equal(result.error, 'aborted (waiting for answer)');
      assert.ok(result.latencyMs < 1000);
    });
  });
});
