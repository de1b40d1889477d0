import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger } from '../../src/log.js';
import { WorkInFlight } from '../../src/slack/work-in-flight.js';

const logger = createLogger({ level: 'silent', pretty: false });

test('work from a burst of commands starts one per event-loop turn, so the next request is read between them', async () => {
  const work = new WorkInFlight(logger);
  const order: string[] = [];
  for (const name of ['first', 'second', 'third']) {
    work.start(async () => {
      order.push(name);
      // Stands for a request that arrives while the work runs: it is handled on the next turn.
      setImmediate(() => order.push(`request read after ${name}`));
    });
  }
  assert.equal(order.length, 0, 'nothing starts before the requests already waiting are read');
  for (let turn = 0; turn < 10 && !order.includes('request read after third'); turn++) await new Promise((resolve) => setImmediate(resolve));
  await work.stop();
  assert.deepEqual(order, ['first', 'request read after first', 'second', 'request read after second', 'third', 'request read after third']);
});

test('stop aborts work that has not started yet, and waits for the work that has', async () => {
  const work = new WorkInFlight(logger);
  const started: string[] = [];
  let finishFirst: () => void = () => {};
  work.start((signal) => {
    started.push('first');
    return new Promise<void>((resolve) => {
      finishFirst = resolve;
      signal.addEventListener('abort', () => setImmediate(resolve));
    });
  });
  work.start(async () => void started.push('second'));
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(started, ['first']);
  await work.stop();
  assert.deepEqual(started, ['first'], 'the second never starts once stopping');
  finishFirst();
  work.start(async () => void started.push('after stop'));
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(started, ['first']);
});
