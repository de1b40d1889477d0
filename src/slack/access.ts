/**
 * Who may use the Slack app, and where: `slack.allow.users`, `.userGroups` (who) and
 * `.channels` (where). An empty "who" list pair lets everyone in the workspace in; an empty
 * channel list lets every channel (and direct messages) in. Pure: user group members are looked
 * up by the caller and passed in.
 *
 * Only IDs match (U…/W… users, C…/G…/D… channels, S… user groups): names can be changed by the
 * people they name, so a name in an allow list would be a way around it.
 */
export interface AllowLists {
  users: readonly string[];
  channels: readonly string[];
  userGroups: readonly string[];
}

export interface Requester {
  userId: string;
  /** Unset for interactions outside a conversation. */
  channelId: string | undefined;
}

export type AccessDecision = { allowed: true } | { allowed: false; reason: string };

/** Members per user group; undefined when they could not be looked up. */
export type GroupMembers = ReadonlyMap<string, ReadonlySet<string> | undefined>;

/** The user groups whose members must be known to decide (none when the user is listed by ID). */
export function groupsToCheck(allow: AllowLists, requester: Requester): string[] {
  if (allow.userGroups.length === 0 || allow.users.includes(requester.userId)) return [];
  return [...allow.userGroups];
}

export function decideAccess(allow: AllowLists, requester: Requester, members: GroupMembers, command = '/probe'): AccessDecision {
  if (allow.channels.length > 0 && (requester.channelId === undefined || !allow.channels.includes(requester.channelId))) {
    const where = allow.channels.slice(0, 5).map((id) => `<#${id}>`).join(', ');
    return { allowed: false, reason: `Sorry, ${command} is not enabled in this conversation. It works in ${where}${allow.channels.length > 5 ? ' and a few more' : ''}.` };
  }
  const restricted = allow.users.length > 0 || allow.userGroups.length > 0;
  if (!restricted || allow.users.includes(requester.userId)) return { allowed: true };
  let unknown = false;
  for (const group of allow.userGroups) {
    const groupMembers = members.get(group);
    if (groupMembers === undefined) unknown = true;
    else if (groupMembers.has(requester.userId)) return { allowed: true };
  }
  if (unknown) return { allowed: false, reason: 'Sorry, I could not check your user group membership just now. Please try again in a minute.' };
  return {
    allowed: false,
    reason: `Sorry, ${command} is limited to certain people. Ask whoever runs probebot to add you (your user ID is ${requester.userId}) to slack.allow.users or one of the allowed user groups.`,
  };
}

/** Allow-list entries that can never match because they are not IDs: one line each. */
export function allowListProblems(allow: AllowLists): string[] {
  const check = (list: readonly string[], pattern: RegExp, path: string, example: string) =>
    list.filter((entry) => !pattern.test(entry)).map((entry) => `slack.allow.${path}: "${entry}" is not an ID and will never match; use the ID (${example})`);
  return [
    ...check(allow.users, /^[UW][A-Z0-9]{2,}$/, 'users', 'U0123ABCD, from the profile\'s "Copy member ID"'),
    ...check(allow.channels, /^[CGD][A-Z0-9]{2,}$/, 'channels', 'C0123ABCD, at the bottom of the channel details'),
    ...check(allow.userGroups, /^S[A-Z0-9]{2,}$/, 'userGroups', 'S0123ABCD'),
  ];
}
