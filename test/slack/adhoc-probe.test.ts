import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { ResolveHost } from '../../src/slack/adhoc-guard.js';
import { startHttpTarget, type HttpTargetServer } from '../fakes/targets.js';
import { answerText, startHarness } from './helpers.js';

/** A real listener that counts every connection made to it (and closes them). */
async function countingListener(host: string): Promise<{ port: number; readonly connections: number; close(): Promise<void> }> {
  let connections = 0;
  const server: Server = createServer((socket) => {
    connections++;
    socket.destroy();
  });
  server.listen(0, host);
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    get connections() { return connections; },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const resolver = (map: Record<string, string[]>): ResolveHost => async (name) => {
  const answer = map[name];
  if (answer === undefined) throw Object.assign(new Error(`ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
  return answer;
};

describe('ad-hoc /probe <address> end to end', () => {
  let forbidden: Awaited<ReturnType<typeof countingListener>>;
  let hosts: string[];
  let web: HttpTargetServer;
  let redirector: HttpTargetServer;

  before(async () => {
    forbidden = await countingListener('127.0.0.1');
    hosts = [];
    web = await startHttpTarget((request) => {
      hosts.push(String(request.headers.host));
      return { body: 'fine' };
    });
    redirector = await startHttpTarget({ status: 302, headers: { location: `http://127.0.0.1:${forbidden.port}/` } });
  });
  after(async () => {
    await forbidden.close();
    await web.close();
    await redirector.close();
  });

  test('off by default: refused, and the listener sees nothing', async () => {
    const h = await startHarness();
    try {
      const answer = answerText(await h.command(`127.0.0.1:${forbidden.port}`));
      assert.match(answer, /No configured target has this name, and ad-hoc probes of addresses are off/);
      assert.equal(forbidden.connections, 0);
      assert.deepEqual(h.port.probed, []);
    } finally {
      await h.close();
    }
  });

  test('forbidden addresses, however spelled, are refused without a connection attempt', async () => {
    const p = forbidden.port;
    const h = await startHarness({ slack: { adhoc: { allow: ['127.0.0.2/32'] } }, resolveHost: resolver({ 'evil.test': ['127.0.0.1'] }) });
    try {
      const inputs = [
        `127.0.0.1:${p}`,
        `http://127.0.0.1:${p}/`,
        `http://2130706433:${p}/`,
        `0x7f000001:${p}`,
        `http://0177.0.0.1:${p}/`,
        `http://[::ffff:127.0.0.1]:${p}/`,
        `evil.test:${p}`,
        `http://127.0.0.2@127.0.0.1:${p}/`,
        `127.1:${p}`,
      ];
      const answer = await h.command(inputs.join(' '));
      const text = answerText(answer);
      assert.equal((text.match(/🚫/g) ?? []).length, inputs.length, text);
      assert.match(text, /`evil\.test` resolves to 127\.0\.0\.1, which is not allowed for ad-hoc probes\. Allowed: 127\.0\.0\.2\/32/);
      assert.equal(answer.response_type, 'ephemeral');
      assert.equal(forbidden.connections, 0, 'the forbidden listener saw no connection');
      assert.deepEqual(h.port.probed, []);
    } finally {
      await h.close();
    }
  });

  test('a port outside adhoc.ports is refused without a connection attempt', async () => {
    const webPort = Number(new URL(web.url).port);
    const h = await startHarness({ slack: { adhoc: { allow: ['127.0.0.0/8'], ports: [webPort] } } });
    try {
      assert.match(answerText(await h.command(`127.0.0.1:${forbidden.port}`)), new RegExp(`Port ${forbidden.port} is not allowed.*on ports ${webPort}`));
      assert.equal(forbidden.connections, 0);
    } finally {
      await h.close();
    }
  });

  test('an allowed name is probed at the address that was checked, with its name as Host', async () => {
    const webPort = Number(new URL(web.url).port);
    const h = await startHarness({ slack: { adhoc: { allow: ['127.0.0.0/8'] } }, resolveHost: resolver({ 'svc.test': ['127.0.0.1'] }) });
    try {
      // svc.test exists only in the injected resolver: the probe can only have reached the target through the pinned IP.
      const text = answerText(await h.command(`http://svc.test:${webPort}/health 127.0.0.1:${webPort}`));
      assert.match(text, new RegExp(`✅ ad-hoc \`http://svc\\.test:${webPort}/health\` ok in \\d+ ms`));
      assert.match(text, new RegExp(`✅ ad-hoc \`127\\.0\\.0\\.1:${webPort}\` ok in`));
      assert.match(text, /\*Connected to\*\\n127\.0\.0\.1/);
      assert.match(text, /Ad-hoc probe: nothing is recorded · redirects are not followed/);
      assert.deepEqual(hosts, [`svc.test:${webPort}`]);
    } finally {
      await h.close();
    }
  });

  test('redirects are not followed for ad-hoc probes', async () => {
    const h = await startHarness({ slack: { adhoc: { allow: ['127.0.0.0/8'] } } });
    try {
      const text = answerText(await h.command(`${redirector.url}/`));
      assert.match(text, /🔴 ad-hoc .* failed .*302/);
      assert.equal(redirector.requests.length, 1);
      assert.equal(forbidden.connections, 0, 'the redirect target was never contacted');
    } finally {
      await h.close();
    }
  });
});
