import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { silentLogger } from '../../src/log.js';
import { MAX_WORK_DELAY_MS, WorkInFlight } from '../../src/slack/work-in-flight.js';
import { LogLines } from './helpers.js';

/** One event-loop turn: what a burst of connections gets, one accepted per turn. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('work started by Slack requests', () => {
  test('waits while every turn brings another request, then all of it starts', async () => {
    const work = new WorkInFlight(silentLogger());
    const started: number[] = [];
    for (let request = 0; request < 50; request++) {
      work.start(async () => {
        started.push(request);
      });
      await nextTurn();
      assert.deepEqual(started, [], `work started while request ${request + 1} of the burst was still being read`);
    }
    for (let turn = 0; turn < 5 && started.length < 50; turn++) await nextTurn();
    assert.deepEqual(started, Array.from({ length: 50 }, (_, request) => request));
  });

  test('one request alone starts its work within two turns', async () => {
    const work = new WorkInFlight(silentLogger());
    let started = false;
    work.start(async () => {
      started = true;
    });
    await nextTurn();
    await nextTurn();
    assert.equal(started, true);
  });

  test(`a steady stream of requests holds the first work back ${MAX_WORK_DELAY_MS} ms at most`, async () => {
    let now = 0;
    const work = new WorkInFlight(silentLogger(), () => now);
    const startedAt: number[] = [];
    for (let turn = 0; turn < 100 && startedAt.length === 0; turn++) {
      work.start(async () => {
        startedAt.push(now);
      });
      await nextTurn();
      now += 10;
    }
    assert.ok(startedAt.length > 0, 'no work started during the stream');
    assert.ok(startedAt[0]! <= MAX_WORK_DELAY_MS + 20, `first work started at ${startedAt[0]} ms`);
  });

  test('stop() aborts running work and waits for it; work still waiting never starts', async () => {
    const work = new WorkInFlight(silentLogger());
    let sawAbort = false;
    let finished = false;
    work.start(async (signal) => {
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      sawAbort = signal.aborted;
      await nextTurn();
      finished = true;
    });
    for (let turn = 0; turn < 3; turn++) await nextTurn();
    let late = false;
    work.start(async () => {
      late = true;
    });
    await work.stop();
    assert.equal(sawAbort, true);
    assert.equal(finished, true, 'stop() returned before the running work ended');
    work.start(async () => {
      late = true;
    });
    for (let turn = 0; turn < 3; turn++) await nextTurn();
    assert.equal(late, false);
  });

  test('a failure is logged in one line, not thrown', async () => {
    const logs = new LogLines();
    const work = new WorkInFlight(logs.logger());
    work.start(async () => {
      throw new Error('response_url expired');
    });
    for (let turn = 0; turn < 4; turn++) await nextTurn();
    assert.deepEqual(logs.problems().map((line) => [line.msg, line.error]), [['a Slack request failed', 'response_url expired']]);
  });
});
