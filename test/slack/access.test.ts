import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { allowListProblems, decideAccess, groupsToCheck, type AllowLists, type GroupMembers } from '../../src/slack/access.js';

const none: AllowLists = { users: [], channels: [], userGroups: [] };
const members = (entries: Record<string, string[] | undefined>): GroupMembers =>
  new Map(Object.entries(entries).map(([group, ids]) => [group, ids === undefined ? undefined : new Set(ids)]));

describe('who may use the Slack app', () => {
  const cases: Array<[string, AllowLists, { userId: string; channelId: string | undefined }, GroupMembers, boolean, RegExp?]> = [
    ['empty lists: everyone, everywhere', none, { userId: 'U1', channelId: 'D1' }, members({}), true],
    ['a listed user', { ...none, users: ['U1'] }, { userId: 'U1', channelId: 'C1' }, members({}), true],
    ['an unlisted user', { ...none, users: ['U1'] }, { userId: 'U2', channelId: 'C1' }, members({}), false, /limited to certain people.*U2/],
    ['a member of an allowed group', { ...none, userGroups: ['S1'] }, { userId: 'U2', channelId: 'C1' }, members({ S1: ['U2'] }), true],
    ['not a member of any allowed group', { ...none, userGroups: ['S1', 'S2'] }, { userId: 'U3', channelId: 'C1' }, members({ S1: ['U2'], S2: [] }), false, /limited/],
    ['a listed user whose groups are unknown', { ...none, users: ['U1'], userGroups: ['S1'] }, { userId: 'U1', channelId: 'C1' }, members({ S1: undefined }), true],
    ['group members unknown: refused, fail closed', { ...none, userGroups: ['S1'] }, { userId: 'U2', channelId: 'C1' }, members({ S1: undefined }), false, /could not check/],
    ['one group unknown, another has the user', { ...none, userGroups: ['S1', 'S2'] }, { userId: 'U2', channelId: 'C1' }, members({ S1: undefined, S2: ['U2'] }), true],
    ['an allowed channel', { ...none, channels: ['C1'] }, { userId: 'U9', channelId: 'C1' }, members({}), true],
    ['another channel', { ...none, channels: ['C1'] }, { userId: 'U9', channelId: 'C2' }, members({}), false, /not enabled in this conversation.*<#C1>/],
    ['a direct message when channels are listed', { ...none, channels: ['C1'] }, { userId: 'U9', channelId: 'D9' }, members({}), false, /not enabled/],
    ['no channel at all when channels are listed', { ...none, channels: ['C1'] }, { userId: 'U9', channelId: undefined }, members({}), false, /not enabled/],
    ['an allowed user in a channel that is not', { users: ['U1'], channels: ['C1'], userGroups: [] }, { userId: 'U1', channelId: 'C2' }, members({}), false, /not enabled/],
  ];
  for (const [name, allow, requester, groupMembers, allowed, reason] of cases) {
    test(name, () => {
      const decision = decideAccess(allow, requester, groupMembers);
      assert.equal(decision.allowed, allowed);
      if (reason) assert.match(decision.allowed ? '' : decision.reason, reason);
    });
  }

  test('group members are looked up only when they can change the answer', () => {
    assert.deepEqual(groupsToCheck(none, { userId: 'U1', channelId: 'C1' }), []);
    assert.deepEqual(groupsToCheck({ ...none, users: ['U1'], userGroups: ['S1'] }, { userId: 'U1', channelId: 'C1' }), []);
    assert.deepEqual(groupsToCheck({ ...none, users: ['U1'], userGroups: ['S1'] }, { userId: 'U2', channelId: 'C1' }), ['S1']);
  });

  test('names in allow lists are reported: they would never match', () => {
    const problems = allowListProblems({ users: ['U0123ABCD', 'alice'], channels: ['#ops', 'C0123ABCD', 'G0PRIV'], userGroups: ['oncall', 'S0123'] });
    assert.equal(problems.length, 3);
    assert.match(problems[0]!, /slack\.allow\.users: "alice" is not an ID/);
    assert.match(problems[1]!, /slack\.allow\.channels: "#ops"/);
    assert.match(problems[2]!, /slack\.allow\.userGroups: "oncall"/);
  });
});
