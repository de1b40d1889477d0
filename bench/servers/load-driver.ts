/**
 * A helper process that sends GET requests open-loop at a steady rate (each on schedule, not
 * waiting for the previous answer), as Prometheus' scrapes of blackbox_exporter's /probe would,
 * over keep-alive connections. Also sends Slack-signed slash commands all at once.
 */
import { createHmac } from 'node:crypto';
import { Agent, request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { serve } from './rpc.js';

const agent = new Agent({ keepAlive: true, maxSockets: 256 });

interface Answer {
  status: number;
  body: string;
  ms: number;
}

function get(url: string, timeoutMs: number): Promise<Answer> {
  const started = performance.now();
  return new Promise((resolve) => {
    const req = request(url, { agent, timeout: timeoutMs }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        if (body.length < 64 * 1024) body += chunk;
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body, ms: performance.now() - started }));
      response.on('error', () => resolve({ status: 0, body, ms: performance.now() - started }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (error) => resolve({ status: 0, body: error.message, ms: performance.now() - started }));
    req.end();
  });
}

function post(url: string, body: string, headers: Record<string, string>, timeoutMs: number): Promise<Answer> {
  const started = performance.now();
  return new Promise((resolve) => {
    const req = request(url, { method: 'POST', agent, timeout: timeoutMs, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text.slice(0, 2000), ms: performance.now() - started }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (error) => resolve({ status: 0, body: error.message, ms: performance.now() - started }));
    req.end(body);
  });
}

const api = {
  /** GETs `count` URLs (cycling through `urls`) at `perSecond`; how many answered 200 and how many said `successText`. */
  async getPaced(args: { urls: string[]; count: number; perSecond: number; successText: string; timeoutMs: number }): Promise<{ sent: number; ok: number; succeeded: number; firstFailure: string | undefined; elapsedMs: number }> {
    const started = performance.now();
    const pending: Array<Promise<Answer>> = [];
    for (let i = 0; i < args.count; i++) {
      const wait = started + (i * 1000) / args.perSecond - performance.now();
      if (wait > 1) await sleep(wait);
      pending.push(get(args.urls[i % args.urls.length]!, args.timeoutMs));
    }
    const answers = await Promise.all(pending);
    const failed = answers.find((answer) => answer.status !== 200 || !answer.body.includes(args.successText));
    return {
      sent: answers.length,
      ok: answers.filter((answer) => answer.status === 200).length,
      succeeded: answers.filter((answer) => answer.status === 200 && answer.body.includes(args.successText)).length,
      firstFailure: failed ? `${failed.status} ${failed.body.split('\n').find((line) => line.startsWith('probe_') || line.length > 0)?.slice(0, 200) ?? ''}` : undefined,
      elapsedMs: performance.now() - started,
    };
  },
  /** Slack slash commands, signed with v0 HMAC-SHA256 as Slack signs them, all sent at once. */
  async slashCommands(args: { url: string; signingSecret: string; bodies: string[]; timeoutMs: number }): Promise<Array<{ status: number; ms: number; body: string }>> {
    const timestamp = String(Math.floor(Date.now() / 1000));
    return Promise.all(
      args.bodies.map((body) => {
        const signature = `v0=${createHmac('sha256', args.signingSecret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
        return post(args.url, body, { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': timestamp, 'x-slack-signature': signature }, args.timeoutMs);
      }),
    );
  },
};

export type LoadDriverApi = typeof api;

serve(api, () => agent.destroy());
