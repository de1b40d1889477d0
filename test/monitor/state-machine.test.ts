import assert from 'node:assert/strict';
import { describe, it, test } from 'node:test';
import { adoptAnnouncement, changesSavedState, initialStatus, step } from '../../src/monitor/state-machine.js';
import { RECENT_LATENCIES, type StatePolicy, type TargetStatus, type TransitionEvent } from '../../src/monitor/types.js';
import type { ProbeResult } from '../../src/probes/types.js';

const START = Date.UTC(2026, 0, 1);
const INTERVAL = 10_000;
const ERROR = 'connect ECONNREFUSED 127.0.0.1:5432';
const GATUS: StatePolicy = { failureThreshold: 3, successThreshold: 2, flap: { window: 21, high: 30, low: 15 } };
/** Every result can flip the state, so flapping is easy to provoke. */
const TWITCHY: StatePolicy = { ...GATUS, failureThreshold: 1, successThreshold: 1 };

/** Result n (1-based) of a run happens at START + n × INTERVAL. */
const timeOf = (n: number): number => START + n * INTERVAL;
const iso = (n: number): string => new Date(timeOf(n)).toISOString();

function result(ok: boolean, at: number, latencyMs = ok ? 12.5 : 3000): ProbeResult {
  return ok ? { ok, latencyMs, at } : { ok, latencyMs, at, error: ERROR };
}

interface Run {
  status: TargetStatus;
  /** Events as "<result number> <kind> <from>-><to>". */
  timeline: string[];
  events: Array<TransitionEvent & { n: number }>;
}

/** Feeds a pattern of results ("1" ok, "0" fail) numbered from `first`. */
function run(pattern: string, policy: StatePolicy, status = initialStatus('db', START), first = 1): Run {
  const events: Run['events'] = [];
  [...pattern].forEach((c, i) => {
    const n = first + i;
    const out = step(status, result(c === '1', timeOf(n)), policy, timeOf(n));
    status = out.status;
    events.push(...out.events.map((e) => ({ ...e, n })));
  });
  return { status, events, timeline: events.map((e) => `${e.n} ${e.kind} ${e.from}->${e.to}`) };
}

describe('state transitions (failureThreshold 3, successThreshold 2)', () => {
  const cases: Array<{ name: string; pattern: string; state: TargetStatus['state']; timeline: string[] }> = [
    { name: 'a healthy start is silent', pattern: '1', state: 'UP', timeline: [] },
    { name: 'a healthy start after a few failures is silent too', pattern: '001', state: 'UP', timeline: [] },
    { name: 'failures below the threshold from the start announce nothing', pattern: '00', state: 'UNKNOWN', timeline: [] },
    { name: 'a failing start is announced as UNKNOWN -> DOWN', pattern: '000', state: 'DOWN', timeline: ['3 state UNKNOWN->DOWN'] },
    { name: '2 failures below a threshold of 3 announce nothing', pattern: '100', state: 'UP', timeline: [] },
    { name: 'the 3rd consecutive failure announces DOWN', pattern: '1000', state: 'DOWN', timeline: ['4 state UP->DOWN'] },
    { name: 'a success breaks the failure streak', pattern: '1001001', state: 'UP', timeline: [] },
    { name: 'a new streak must reach the threshold again', pattern: '1001000', state: 'DOWN', timeline: ['7 state UP->DOWN'] },
    { name: 'further failures while DOWN announce nothing', pattern: '1000000', state: 'DOWN', timeline: ['4 state UP->DOWN'] },
    { name: 'one success is not a recovery', pattern: '10001', state: 'DOWN', timeline: ['4 state UP->DOWN'] },
    { name: 'successThreshold successes recover', pattern: '100011', state: 'UP', timeline: ['4 state UP->DOWN', '6 state DOWN->UP'] },
    { name: 'a failure breaks the success streak', pattern: '1000101', state: 'DOWN', timeline: ['4 state UP->DOWN'] },
    { name: 'a second outage is announced again', pattern: '100011000', state: 'DOWN', timeline: ['4 state UP->DOWN', '6 state DOWN->UP', '9 state UP->DOWN'] },
  ];
  for (const c of cases) {
    it(`${c.name} (${c.pattern})`, () => {
      const { status, timeline } = run(c.pattern, GATUS);
      assert.deepEqual(timeline, c.timeline);
      assert.equal(status.state, c.state);
    });
  }

  it('reasons say how many results and the last error', () => {
    const { events } = run('100011', GATUS);
    assert.deepEqual(events.map((e) => e.reason), [`3 consecutive failures: ${ERROR}`, '2 consecutive successes']);
  });

  it('an outage is one incident: same id on the DOWN and its recovery, with how long it lasted', () => {
    const { events, status } = run('100011', GATUS);
    const [down, up] = events;
    assert.equal(down?.incidentId, `db@${iso(4)}`);
    assert.equal(up?.incidentId, down?.incidentId);
    assert.equal(up?.downForMs, 2 * INTERVAL);
    assert.equal(down?.downForMs, undefined);
    assert.equal(status.incident, undefined);
  });

  it('the next outage opens a new incident', () => {
    const { events } = run('100011000', GATUS);
    assert.equal(events[2]?.incidentId, `db@${iso(9)}`);
  });

  it('events carry the target, time and result that caused them', () => {
    const { events } = run('1000', GATUS);
    assert.equal(events[0]?.target, 'db');
    assert.equal(events[0]?.at, timeOf(4));
    assert.deepEqual(events[0]?.result, result(false, timeOf(4)));
  });

  it('since moves only when the state changes', () => {
    assert.equal(run('1', GATUS).status.since, timeOf(1));
    assert.equal(run('1001', GATUS).status.since, timeOf(1));
    assert.equal(run('10000', GATUS).status.since, timeOf(4));
    assert.equal(run('00', GATUS).status.since, START);
  });

  it('keeps the last window results, the last latencies and the last result', () => {
    const { status } = run('0'.repeat(30) + '1', GATUS);
    assert.equal(status.history.length, 21);
    assert.equal(status.history.at(-1), true);
    assert.equal(status.recentLatencies.length, RECENT_LATENCIES);
    assert.deepEqual(status.recentLatencies.slice(-2), [3000, 12.5]);
    assert.deepEqual(status.lastResult, result(true, timeOf(31)));
    assert.deepEqual([status.consecutiveFailures, status.consecutiveSuccesses], [0, 1]);
  });
});

describe('flapping (failure and success thresholds 1, window 21, high 30%, low 15%)', () => {
  // Results 1-6 flip UP/DOWN, announced each time; the 7th change takes the percent to 35.5%.
  const flapping = '1010101';

  it('announces flapping, holds back the transitions, and ends without a state event when the state is as announced before', () => {
    const { timeline, events, status } = run(flapping + '0'.repeat(18) + '1', TWITCHY);
    assert.deepEqual(timeline, [
      '2 state UP->DOWN', '3 state DOWN->UP', '4 state UP->DOWN', '5 state DOWN->UP', '6 state UP->DOWN',
      '7 flapping DOWN->FLAPPING',
      // 8: DOWN again, held back; 25: flapping ends DOWN, as announced before it began.
      '25 flapping-ended FLAPPING->DOWN',
      '26 state DOWN->UP',
    ]);
    const incident = `db@${iso(6)}`;
    assert.deepEqual(events.slice(5).map((e) => e.incidentId), [incident, incident, incident], 'the outage of result 6 runs through the flapping');
    assert.equal(events.at(-1)?.downForMs, timeOf(26) - timeOf(6));
    assert.equal(status.announced, 'UP');
  });

  it('ends with a state event when the state differs from the one announced before', () => {
    const { timeline, events, status } = run(flapping + '1'.repeat(17), TWITCHY);
    assert.deepEqual(timeline.slice(5), ['7 flapping DOWN->FLAPPING', '24 flapping-ended FLAPPING->UP', '24 state DOWN->UP']);
    const recovery = events.at(-1);
    assert.equal(recovery?.incidentId, `db@${iso(6)}`);
    assert.equal(recovery?.downForMs, timeOf(24) - timeOf(6));
    assert.equal(recovery?.reason, 'up after flapping');
    assert.equal(status.incident, undefined);
    assert.equal(status.announced, 'UP');
    assert.equal(status.announcedBeforeFlapping, undefined);
  });

  it('a held-back outage is announced when flapping ends, as a new incident', () => {
    const { timeline, events, status } = run('0101010' + '0'.repeat(17), TWITCHY);
    assert.deepEqual(timeline.slice(6), ['7 flapping UP->FLAPPING', '24 flapping-ended FLAPPING->DOWN', '24 state UP->DOWN']);
    assert.equal(events[6]?.incidentId, undefined, 'no incident is open while flapping from UP');
    assert.equal(events.at(-1)?.incidentId, `db@${iso(24)}`);
    assert.equal(events.at(-1)?.reason, `down after flapping: ${ERROR}`);
    assert.equal(status.incident?.since, timeOf(24));
  });

  it('says the percentages in its reasons', () => {
    const { events } = run(flapping + '0'.repeat(18), TWITCHY);
    assert.deepEqual(events.slice(5).map((e) => e.reason), ['flapping: 35.5% state change >= 30%', 'flapping ended: 11.6% <= 15%']);
  });

  it('tracks the state while flapping without announcing it', () => {
    const { status, events } = run(flapping + '000', TWITCHY);
    assert.equal(status.flapping, true);
    assert.equal(status.state, 'DOWN');
    assert.equal(status.announced, 'FLAPPING');
    assert.equal(status.announcedBeforeFlapping, 'DOWN');
    assert.equal(events.at(-1)?.n, 7);
  });

  it('flaps on raw results even when the thresholds keep the state steady', () => {
    const { timeline, status } = run('1' + '01'.repeat(10), GATUS);
    assert.equal(status.state, 'UP');
    assert.deepEqual(timeline, ['7 flapping UP->FLAPPING']);
  });
});

describe('restarts and config reloads', () => {
  /** What the store gives back after a restart. */
  const reload = (status: TargetStatus): TargetStatus => JSON.parse(JSON.stringify(status)) as TargetStatus;

  it('a target that was DOWN stays quiet while it stays down', () => {
    const before = reload(run('1000', GATUS).status);
    assert.deepEqual(run('0000000', GATUS, before, 5).timeline, []);
  });

  it('a target that recovered while the bot was stopped announces exactly one recovery, on the same incident', () => {
    const before = reload(run('1000', GATUS).status);
    const { events } = run('1111', GATUS, before, 100);
    assert.deepEqual(events.map((e) => `${e.n} ${e.kind} ${e.from}->${e.to}`), ['101 state DOWN->UP']);
    assert.equal(events[0]?.incidentId, `db@${iso(4)}`);
    assert.equal(events[0]?.downForMs, timeOf(101) - timeOf(4));
  });

  it('a target that was flapping ends its flapping after the restart', () => {
    const before = reload(run('1010101000', TWITCHY).status);
    assert.deepEqual(run('0'.repeat(15), TWITCHY, before, 11).timeline, ['25 flapping-ended FLAPPING->DOWN']);
  });

  it('a smaller window trims the history on the next result', () => {
    const before = run('10'.repeat(15), GATUS).status;
    const { status } = run('1', { ...GATUS, flap: { window: 5, high: 90, low: 80 } }, before, 31);
    assert.deepEqual(status.history, [true, false, true, false, true]);
    // 4 changes in 4: 100% over the new window, where the old one held 30 results.
    assert.equal(status.flapPercent, 100);
    assert.equal(status.flapping, true);
  });

  it('a lower failureThreshold counts the failures already seen', () => {
    const before = run('100', { ...GATUS, failureThreshold: 5 }).status;
    assert.deepEqual(run('0', GATUS, before, 4).timeline, ['4 state UP->DOWN']);
  });

  it('a higher successThreshold holds the recovery back', () => {
    const before = run('100011', { ...GATUS, successThreshold: 3 }).status;
    assert.equal(before.state, 'DOWN');
    assert.deepEqual(run('11', { ...GATUS, successThreshold: 4 }, before, 7).timeline, ['8 state DOWN->UP']);
  });
});

describe('purity', () => {
  it('step returns a new status and leaves its input untouched', () => {
    const before = run('1000', GATUS).status;
    const copy = structuredClone(before);
    deepFreeze(before);
    const out = step(before, result(true, timeOf(5)), GATUS, timeOf(5));
    const recovered = step(out.status, result(true, timeOf(6)), GATUS, timeOf(6));
    assert.deepEqual(before, copy);
    assert.notEqual(out.status, before);
    assert.equal(recovered.status.incident, undefined);
    assert.deepEqual(out.status.incident, copy.incident);
  });

  it('the same inputs give the same outputs', () => {
    assert.deepEqual(run('1000110101010000', TWITCHY), run('1000110101010000', TWITCHY));
  });
});

describe('what a restart needs saved', () => {
  /** For each result of the pattern: whether the status after it must be saved. */
  function saves(pattern: string, policy: StatePolicy): string {
    let status = initialStatus('db', START);
    return [...pattern].map((c, i) => {
      const next = step(status, result(c === '1', timeOf(i + 1)), policy, timeOf(i + 1)).status;
      const save = changesSavedState(status, next, policy);
      status = next;
      return save ? 's' : '.';
    }).join('');
  }

  it('a steady target stops being saved once its state and counters settle, while its history still grows', () => {
    // UNKNOWN -> UP, then successes 2 (the threshold); after that only latencies and the last result move.
    assert.equal(saves('1'.repeat(30), GATUS), 'ss' + '.'.repeat(28));
  });

  it('an outage is saved until its failures fill the flap window, and its recovery is saved', () => {
    // The 21st failure pushes the last success out of the window; from then on nothing moves.
    assert.equal(saves('11' + '0'.repeat(25) + '11', GATUS), 'ss' + 's'.repeat(21) + '....' + 'ss');
  });

  it('a flapping target is saved at every result: its history changes', () => {
    assert.equal(saves('10'.repeat(8), TWITCHY), 's'.repeat(16));
  });

  it('a settled history is shared, not copied, from one status to the next', () => {
    const before = run('1'.repeat(GATUS.flap.window + 1), GATUS).status;
    const after = step(before, result(true, timeOf(99)), GATUS, timeOf(99)).status;
    assert.equal(after.history, before.history);
    assert.equal(after.recentLatencies.length, RECENT_LATENCIES);
  });
});

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

describe('taking over announcements after a crash', () => {
  const T = Date.UTC(2026, 0, 1);
  test('a DOWN the saved state missed is taken over with its incident, so a success resolves it', () => {
    const fresh = initialStatus('db', T + 5_000);
    const adopted = adoptAnnouncement(fresh, { state: 'DOWN', at: T, incidentId: 'db@x' });
    assert.equal(adopted.state, 'DOWN');
    assert.equal(adopted.announced, 'DOWN');
    assert.deepEqual(adopted.incident, { id: 'db@x', since: T });
    const policy = { failureThreshold: 2, successThreshold: 1, flap: { window: 21, high: 30, low: 15 } };
    const { events } = step(adopted, { ok: true, latencyMs: 1, at: T + 6_000 }, policy, T + 6_000);
    assert.equal(events.length, 1);
    assert.equal(events[0]!.to, 'UP');
    assert.equal(events[0]!.incidentId, 'db@x');
  });
  test('an announcement older than the saved state, or the same one, changes nothing', () => {
    const saved = { ...initialStatus('db', T), state: 'UP' as const, announced: 'UP' as const, since: T + 10_000 };
    assert.equal(adoptAnnouncement(saved, { state: 'DOWN', at: T, incidentId: 'db@old' }), saved);
    const down = { ...saved, state: 'DOWN' as const, announced: 'DOWN' as const, incident: { id: 'db@a', since: T } };
    assert.equal(adoptAnnouncement(down, { state: 'DOWN', at: T + 20_000, incidentId: 'db@a' }), down);
  });
});
