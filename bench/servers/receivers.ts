/**
 * A helper process with the receiving ends of alerts, from the test fakes: the webhook receiver
 * (verifies each Standard Webhooks signature), the Slack Web API (1 message per second per channel,
 * 429 beyond), and a response_url endpoint for slash commands. All on 127.0.0.1.
 */
import { startFakeServer, type FakeServer } from '../../test/fakes/fake-server.js';
import { startFakeSlack, type FakeSlack } from '../../test/fakes/slack-api.js';
import { startWebhookReceiver, type FakeWebhookReceiver } from '../../test/fakes/webhook-receiver.js';
import { serve } from './rpc.js';

let webhook: FakeWebhookReceiver | undefined;
let slack: FakeSlack | undefined;
let responses: FakeServer | undefined;
const responseLog: Array<{ path: string; at: number; body: string }> = [];

/** One transition as the webhook receiver got it, with when it got it. */
export interface ReceivedEvent {
  target: string;
  to: string;
  /** The event's `at`: when the deciding probe result was recorded, ms since the epoch. */
  eventAt: number;
  receivedAt: number;
  verified: boolean | undefined;
}

interface WebhookEventBody {
  target?: string;
  to?: string;
  at?: string;
  events?: WebhookEventBody[];
}

const api = {
  async start(args: { webhookSecret: string; slackMessagesPerSecond: number }): Promise<{ webhookUrl: string; slackApiUrl: string; slackToken: string; responseUrl: string }> {
    webhook ??= await startWebhookReceiver({ secret: args.webhookSecret });
    slack ??= await startFakeSlack({ channelRateLimit: { perSecond: args.slackMessagesPerSecond } });
    responses ??= await startFakeServer((request, body, response) => {
      responseLog.push({ path: request.url ?? '', at: Date.now(), body: body.toString('utf8').slice(0, 4000) });
      response.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
    return { webhookUrl: webhook.url, slackApiUrl: slack.apiUrl, slackToken: slack.token, responseUrl: `${responses.url}/response` };
  },
  /** Every event the webhook received, groups unpacked. */
  webhookEvents(): { requests: number; events: ReceivedEvent[] } {
    const events: ReceivedEvent[] = [];
    for (const request of webhook?.requests ?? []) {
      const body = request.json as WebhookEventBody | undefined;
      for (const event of body?.events ?? (body ? [body] : [])) {
        events.push({ target: event.target ?? '', to: event.to ?? '', eventAt: Date.parse(event.at ?? ''), receivedAt: request.at, verified: request.verified });
      }
    }
    return { requests: webhook?.requests.length ?? 0, events };
  },
  /** Messages posted, and how many chat.postMessage calls it took (the rest were answered 429). */
  slackMessages(): { postCalls: number; messages: Array<{ channel: string; text: string }> } {
    const messages = [...(slack?.messages.values() ?? [])].map((message) => ({ channel: message.channel, text: `${message.text ?? ''}\n${JSON.stringify(message.blocks ?? [])}` }));
    return { postCalls: slack?.callsOf('chat.postMessage').length ?? 0, messages };
  },
  responseUrlPosts(): Array<{ path: string; at: number; body: string }> {
    return responseLog;
  },
  reset(): void {
    webhook?.requests.splice(0);
    slack?.calls.splice(0);
    slack?.messages.clear();
    responseLog.splice(0);
  },
};

export type ReceiversApi = typeof api;

serve(api, async () => {
  await Promise.all([webhook?.close(), slack?.close(), responses?.close()]);
});
