import { randomUUID } from 'node:crypto';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { Alert, DeliveryOutcome, MemoStore } from './notifier.js';
import { createNotifier } from './notifiers/index.js';

const TEST_DEADLINE_MS = 30_000;

/**
 * `probebot test-alert <notifier>`: one clearly marked test alert through the real notifier
 * (real credentials, real endpoint), so a user can check the setup on day one.
 */
export async function sendTestAlert(config: Config, notifierName: string, logger: Logger, now = Date.now()): Promise<DeliveryOutcome> {
  const notifierConfig = config.notifiers[notifierName];
  if (!notifierConfig) return { status: 'failed', error: `no notifier "${notifierName}"` };
  const notifier = createNotifier(notifierName, notifierConfig, {
    logger,
    memos: inMemoryMemos(),
    ...(config.slack ? { slack: config.slack } : {}),
  });
  const alert: Alert = {
    id: randomUUID(),
    notifier: notifierName,
    createdAt: now,
    kind: 'test',
    events: [
      {
        id: randomUUID(),
        target: 'probebot-test',
        kind: 'state',
        from: 'UP',
        to: 'DOWN',
        at: now,
        reason: 'test alert sent by `probebot test-alert`: nothing is down',
        result: { ok: false, latencyMs: 0, at: now, error: 'this is a test' },
        incidentId: `probebot-test@${new Date(now).toISOString()}`,
        targetType: 'http',
        address: 'probebot test-alert',
        labels: {},
      },
    ],
  };
  try {
    return await notifier.deliver(alert, AbortSignal.timeout(TEST_DEADLINE_MS));
  } finally {
    await notifier.close?.();
  }
}

function inMemoryMemos(): MemoStore {
  const memos = new Map<string, Record<string, unknown>>();
  return {
    get: (notifier, key) => memos.get(`${notifier}\u0000${key}`),
    set: (notifier, key, memo) => void memos.set(`${notifier}\u0000${key}`, memo),
    delete: (notifier, key) => void memos.delete(`${notifier}\u0000${key}`),
  };
}
