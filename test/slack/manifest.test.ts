import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { slackSchema } from '../../src/config/schema.js';
import { SLACK_EVENTS_PATH } from '../../src/slack/app.js';

interface Manifest {
  features: { slash_commands: Array<{ command: string; url?: string }> };
  oauth_config: { scopes: { bot: string[] } };
  settings: { interactivity: { is_enabled: boolean; request_url?: string }; socket_mode_enabled: boolean };
}

const load = async (file: string) => parse(await readFile(new URL(`../../docs/${file}`, import.meta.url), 'utf8')) as Manifest;
const defaultCommand = slackSchema.parse({ botToken: 'x' }).command;

describe('Slack app manifests in docs/', () => {
  test('HTTP mode: the command and buttons go to /slack/events', async () => {
    const manifest = await load('slack-manifest.yaml');
    const [command] = manifest.features.slash_commands;
    assert.equal(command?.command, defaultCommand);
    assert.equal(new URL(command!.url!).pathname, SLACK_EVENTS_PATH);
    assert.equal(new URL(manifest.settings.interactivity.request_url!).pathname, SLACK_EVENTS_PATH);
    assert.equal(manifest.settings.interactivity.is_enabled, true);
    assert.equal(manifest.settings.socket_mode_enabled, false);
    assert.deepEqual(manifest.oauth_config.scopes.bot, ['chat:write', 'commands', 'usergroups:read']);
  });

  test('Socket Mode: no URLs, socket mode on, the same command and scopes', async () => {
    const manifest = await load('slack-manifest-socket.yaml');
    const [command] = manifest.features.slash_commands;
    assert.equal(command?.command, defaultCommand);
    assert.equal(command?.url, undefined);
    assert.equal(manifest.settings.interactivity.request_url, undefined);
    assert.equal(manifest.settings.interactivity.is_enabled, true);
    assert.equal(manifest.settings.socket_mode_enabled, true);
    assert.deepEqual(manifest.oauth_config.scopes.bot, ['chat:write', 'commands', 'usergroups:read']);
  });
});
