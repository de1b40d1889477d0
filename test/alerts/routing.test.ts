import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { labelsMatch, notifiersFor } from '../../src/alerts/routing.js';

describe('routing a target to its notifiers', () => {
  const routes = [
    { match: { team: 'db' }, notify: ['pager', 'slack-db'] },
    { match: { team: 'db', env: 'prod' }, notify: ['pager', 'webhook'] },
    { match: { env: 'prod' }, notify: ['slack-prod'] },
    { match: {}, notify: ['audit'] },
  ];
  const cases: Array<{ name: string; notify: string[]; labels: Record<string, string>; expected: string[] }> = [
    { name: 'the target\'s own list comes first, then every matching route in order', notify: ['log'], labels: { team: 'db', env: 'prod' }, expected: ['log', 'pager', 'slack-db', 'webhook', 'slack-prod', 'audit'] },
    { name: 'a route needs every one of its labels', notify: ['log'], labels: { team: 'db', env: 'dev' }, expected: ['log', 'pager', 'slack-db', 'audit'] },
    { name: 'a notifier named twice is kept once, where it first appears', notify: ['pager'], labels: { team: 'db' }, expected: ['pager', 'slack-db', 'audit'] },
    { name: 'a label with another value does not match', notify: [], labels: { team: 'web' }, expected: ['audit'] },
    { name: 'an empty match is a catch-all', notify: [], labels: {}, expected: ['audit'] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(notifiersFor({ notify: c.notify, labels: c.labels }, routes), c.expected);
    });
  }

  it('without routes a target keeps exactly its own list', () => {
    assert.deepEqual(notifiersFor({ notify: ['a', 'b', 'a'], labels: { team: 'db' } }, []), ['a', 'b']);
  });

  it('label values are compared exactly', () => {
    assert.equal(labelsMatch({ env: 'prod' }, { env: 'Prod' }), false);
    assert.equal(labelsMatch({ env: 'prod' }, { env: 'prod', team: 'x' }), true);
  });
});
