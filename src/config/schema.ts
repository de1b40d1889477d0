/**
 * The one source of truth for rules.yaml: the TypeScript types, the validation and the
 * JSON Schema (`probebot schema`) all come from these definitions.
 */
import { z } from 'zod';
import { DURATION_PATTERN, parseDuration } from './durations.js';

const DURATION_MESSAGE = 'must be a duration like 500ms, 10s, 5m or 1h30m';
const PORT_MESSAGE = 'must be an integer 1-65535';
const SERVER_PORT_MESSAGE = 'must be an integer 0-65535';
const PERCENT_MESSAGE = 'must be a percentage 0-100';
const NAME_PATTERN = /^[a-z0-9._-]+$/;

/** A duration string, parsed to milliseconds. */
export const duration = z
  .string({ error: DURATION_MESSAGE })
  .regex(new RegExp(DURATION_PATTERN), { error: DURATION_MESSAGE })
  .transform((text) => parseDuration(text)!)
  .meta({ description: 'Duration: a number with a unit (ms, s, m, h, d), e.g. "500ms", "10s", "1h30m".' });

const positiveDuration = duration.refine((ms) => ms > 0, { error: 'must be longer than 0' });

/** Every probe type's latency budget; the registry judges it, after the probe's own checks. */
const maxLatency = positiveDuration.optional().meta({ description: 'Fail a probe that passed but took longer than this (the round trip, for icmp).' });

const port = z
  .number({ error: PORT_MESSAGE })
  .int({ error: PORT_MESSAGE })
  .min(1, { error: PORT_MESSAGE })
  .max(65535, { error: PORT_MESSAGE });

const positiveInt = (what: string) =>
  z.number({ error: `must be a positive integer (${what})` }).int({ error: 'must be an integer' }).min(1, { error: 'must be at least 1' });

const nonEmpty = z.string({ error: 'must be a string' }).min(1, { error: 'must not be empty' });
const stringMap = z.record(z.string(), z.string({ error: 'must be a string' }));
const labelMatch = z.record(z.string(), z.string({ error: 'must be a string' }));

const regexString = nonEmpty.refine(
  (text) => {
    try {
      new RegExp(text);
      return true;
    } catch {
      return false;
    }
  },
  { error: 'must be a valid regular expression' },
);

// RFC 9110 token characters.
const headerName = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, { error: 'must be an HTTP header name' });

/** `status`, `data.items[0].state`, `[0].id`: keys joined by dots, array indexes in brackets. */
const JSON_PATH_PATTERN = /^(?:[^.[\]]+|\[\d+\])(?:\.[^.[\]]+|\[\d+\])*$/;
const jsonPath = z.string().regex(JSON_PATH_PATTERN, { error: 'must be a path like status, data.items[0].state or [0].id' });

export const flapSchema = z.strictObject({
  window: z.number().int().min(3, { error: 'must be an integer of at least 3' }).max(100, { error: 'must be at most 100' }).default(21),
  high: z.number().min(0, { error: PERCENT_MESSAGE }).max(100, { error: PERCENT_MESSAGE }).default(30),
  low: z.number().min(0, { error: PERCENT_MESSAGE }).max(100, { error: PERCENT_MESSAGE }).default(15),
}).refine((flap) => flap.low <= flap.high, {
  // Checked after defaults are applied, so `low: 40` alone is caught against the default high.
  path: ['low'],
  error: (issue) => {
    const flap = issue.input as { low: number; high: number };
    return `must not be above high (${flap.low} > ${flap.high})`;
  },
});

/** Settings every target inherits from `defaults` and may override. */
const scheduling = {
  interval: positiveDuration.optional().meta({ description: 'How often to probe (drift-corrected timer).' }),
  schedule: nonEmpty.optional().meta({ description: 'Cron expression (croner syntax) instead of interval.' }),
  timezone: nonEmpty.optional().meta({ description: 'IANA time zone the schedule is read in (default: the process\'s local time, TZ).' }),
  retryInterval: positiveDuration.optional().meta({ description: 'While failing but not yet DOWN, probe this often.' }),
  timeout: positiveDuration.optional().meta({ description: 'Hard deadline of one probe, whole exchange.' }),
  failureThreshold: positiveInt('consecutive failures before DOWN').optional(),
  successThreshold: positiveInt('consecutive successes before UP').optional(),
  flap: flapSchema.optional(),
  notify: z.array(nonEmpty).optional().meta({ description: 'Notifier names.' }),
  repeatInterval: positiveDuration.optional().meta({ description: 'While DOWN, remind this often (off when unset).' }),
};

const defaultsSchema = z.strictObject(scheduling);

const targetCommon = {
  name: z
    .string({ error: 'must be a string' })
    .regex(NAME_PATTERN, { error: 'must match [a-z0-9._-]+' }),
  description: z.string().optional(),
  labels: stringMap.optional(),
  dependsOn: z.array(nonEmpty).optional().meta({ description: 'Targets this one is reached through (Nagios parents).' }),
  ...scheduling,
};

/** PEM files for TLS, read at start and again every few minutes (a renewed certificate). */
const tlsFiles = {
  caFile: nonEmpty.optional().meta({ description: 'PEM file of the CAs to trust instead of the system ones (a private CA).' }),
  certFile: nonEmpty.optional().meta({ description: 'PEM client certificate, for servers that ask for one (mutual TLS); needs keyFile.' }),
  keyFile: nonEmpty.optional().meta({ description: 'PEM private key of certFile.' }),
};

const httpUrl = z
  .string({ error: 'must be a URL' })
  .refine(
    (text) => {
      try {
        const url = new URL(text);
        return url.protocol === 'http:' || url.protocol === 'https:';
      } catch {
        return false;
      }
    },
    { error: 'must be an http:// or https:// URL' },
  );

export const httpTargetSchema = z.strictObject({
  ...targetCommon,
  type: z.literal('http'),
  url: httpUrl,
  method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']).default('GET'),
  headers: stringMap.optional(),
  body: z.string().optional(),
  followRedirects: z.boolean().default(false),
  maxRedirects: z.number().int().min(0).max(20).default(5),
  insecure: z.boolean().default(false).meta({ description: 'Accept any TLS certificate (certValidFor still checks expiry).' }),
  ...tlsFiles,
  maxBodyBytes: z.number().int().min(0).max(64 * 1024 * 1024).default(1024 * 1024),
  expect: z
    .strictObject({
      status: z.array(z.number().int().min(100, { error: 'must be an HTTP status 100-599' }).max(599, { error: 'must be an HTTP status 100-599' })).min(1).optional()
        .meta({ description: 'Accepted statuses; any 2xx when unset.' }),
      bodyContains: z.string().optional(),
      bodyRegex: regexString.optional(),
      bodyNotContains: z.string().optional().meta({ description: 'Fail when the body contains this text ("Maintenance").' }),
      bodyNotRegex: regexString.optional().meta({ description: 'Fail when the body matches this regular expression.' }),
      headers: z.record(headerName, regexString).optional()
        .meta({ description: 'Response headers that must be present and match these regular expressions; names are case-insensitive.' }),
      json: z.record(jsonPath, z.union([z.string(), z.number(), z.boolean(), z.null()], { error: 'must be a string, number, boolean or null' })).optional()
        .meta({ description: 'Values the JSON body must hold, by path: status, checks[0].healthy, data.version.' }),
      maxLatency,
      certValidFor: duration.optional().meta({ description: 'Fail when the certificate expires sooner than this.' }),
    })
    .prefault({}),
});

const host = nonEmpty.meta({ description: 'Host name or IP address.' });

export const tcpTargetSchema = z.strictObject({
  ...targetCommon,
  type: z.literal('tcp'),
  host,
  port,
  send: nonEmpty.optional().meta({ description: 'Text written once connected ("PING\\r\\n" in double quotes).' }),
  // Optional as a whole, so that the many targets without it carry no defaults.
  expect: z
    .strictObject({
      replyRegex: regexString.optional().meta({ description: 'What the server sends must match this before the deadline (a banner: ^SSH-2\\.0-).' }),
      maxBytes: z.number().int().min(1, { error: 'must be at least 1' }).max(1024 * 1024, { error: 'must be at most 1048576' }).optional()
        .meta({ description: 'Bytes of the reply read at most while looking for a match (default 4096).' }),
      maxLatency,
    })
    .refine((expect) => expect.maxBytes === undefined || expect.replyRegex !== undefined, { path: ['maxBytes'], error: 'limits the reply read for replyRegex, which is not set' })
    .optional(),
});

export const icmpTargetSchema = z.strictObject({
  ...targetCommon,
  type: z.literal('icmp'),
  host,
  expect: z.strictObject({ maxLatency }).optional(),
});

export const DNS_RECORD_TYPES = ['A', 'AAAA', 'CNAME', 'MX', 'NS', 'TXT', 'SRV', 'PTR', 'SOA', 'CAA'] as const;

export const dnsTargetSchema = z.strictObject({
  ...targetCommon,
  type: z.literal('dns'),
  query: nonEmpty,
  recordType: z.enum(DNS_RECORD_TYPES).default('A'),
  server: nonEmpty.optional().meta({ description: 'Resolver as host or host:port ([v6]:port); the system resolver when unset.' }),
  expect: z
    .strictObject({
      contains: z.string().optional().meta({ description: 'Some answer must contain this text.' }),
      minAnswers: z.number().int().min(0).default(1),
      maxLatency,
    })
    .prefault({}),
});

export const tlsTargetSchema = z.strictObject({
  ...targetCommon,
  type: z.literal('tls'),
  host,
  port: port.default(443),
  servername: z.string().optional().meta({ description: 'SNI name; the host when unset.' }),
  insecure: z.boolean().default(false).meta({ description: 'Check expiry even when the chain does not verify.' }),
  ...tlsFiles,
  expect: z.strictObject({ certValidFor: duration.prefault('14d'), maxLatency }).prefault({}),
});

export const TARGET_TYPES = ['http', 'tcp', 'icmp', 'dns', 'tls'] as const;

export const targetSchema = z.discriminatedUnion(
  'type',
  [httpTargetSchema, tcpTargetSchema, icmpTargetSchema, dnsTargetSchema, tlsTargetSchema],
  { error: `must be a mapping with a type: one of ${TARGET_TYPES.join(', ')}` },
);

const notifierCommon = {
  groupWait: duration.optional().meta({ description: 'Collect transitions this long into one message.' }),
  repeatInterval: positiveDuration.optional().meta({ description: 'While DOWN, remind this often.' }),
};

export const logNotifierSchema = z.strictObject({ type: z.literal('log'), ...notifierCommon });

export const slackNotifierSchema = z.strictObject({
  type: z.literal('slack'),
  channel: nonEmpty.meta({ description: 'Channel ID (C0123ABCD) or name.' }),
  mention: z.string().optional().meta({ description: 'Added to DOWN messages, e.g. "<!subteam^S123>".' }),
  ...notifierCommon,
});

export const pagerdutyNotifierSchema = z.strictObject({
  type: z.literal('pagerduty'),
  routingKey: nonEmpty.meta({ description: 'Events API v2 integration key.' }),
  severity: z.enum(['critical', 'error', 'warning', 'info']).default('critical'),
  url: httpUrl.default('https://events.pagerduty.com/v2/enqueue'),
  source: z.string().optional().meta({ description: 'payload.source; the target address when unset.' }),
  timeout: positiveDuration.prefault('10s').meta({ description: 'How long one request to the Events API may take.' }),
  ...notifierCommon,
});

export const webhookNotifierSchema = z.strictObject({
  type: z.literal('webhook'),
  url: httpUrl,
  secret: z
    .string()
    .regex(/^whsec_[A-Za-z0-9+/=]+$/, { error: 'must be a Standard Webhooks secret: whsec_<base64 key>' })
    .optional(),
  headers: stringMap.optional(),
  template: z.string().optional().meta({ description: 'Reshapes the body (for Teams, Discord, Google Chat).' }),
  timeout: positiveDuration.prefault('10s'),
  ...notifierCommon,
});

export const NOTIFIER_TYPES = ['log', 'slack', 'pagerduty', 'webhook'] as const;

export const notifierSchema = z.discriminatedUnion(
  'type',
  [logNotifierSchema, slackNotifierSchema, pagerdutyNotifierSchema, webhookNotifierSchema],
  { error: `must be a mapping with a type: one of ${NOTIFIER_TYPES.join(', ')}` },
);

const cidrOrHostPattern = nonEmpty.meta({ description: 'CIDR (127.0.0.0/8, ::1/128) or host pattern (*.svc.cluster.local).' });

export const slackSchema = z.strictObject({
  botToken: nonEmpty.meta({ description: 'xoxb-… bot token.' }),
  signingSecret: z.string().optional(),
  appToken: z.string().optional().meta({ description: 'xapp-… token; when set, Socket Mode is used.' }),
  apiUrl: httpUrl.default('https://slack.com/api/'),
  command: z.string().regex(/^\/[a-z0-9_-]+$/, { error: 'must look like /probe' }).default('/probe'),
  allow: z
    .strictObject({
      users: z.array(z.string()).default([]),
      channels: z.array(z.string()).default([]),
      userGroups: z.array(z.string()).default([]),
    })
    .prefault({}),
  adhoc: z
    .strictObject({
      allow: z.array(cidrOrHostPattern).default([]),
      ports: z.array(port).default([]),
    })
    .prefault({}),
});

export const routeSchema = z.strictObject({
  match: labelMatch,
  notify: z.array(nonEmpty).min(1),
});

export const maintenanceSchema = z.strictObject({
  name: nonEmpty,
  schedule: nonEmpty.meta({ description: 'Cron expression of when each window starts.' }),
  timezone: nonEmpty.optional().meta({ description: 'IANA time zone the schedule is read in (default: the process\'s local time, TZ).' }),
  duration: positiveDuration,
  targets: z.array(nonEmpty).optional(),
  match: labelMatch.optional(),
});

export const configSchema = z.strictObject({
  server: z
    .strictObject({
      host: z.string().default('0.0.0.0'),
      port: z
        .number({ error: SERVER_PORT_MESSAGE })
        .int({ error: SERVER_PORT_MESSAGE })
        .min(0, { error: SERVER_PORT_MESSAGE })
        .max(65535, { error: SERVER_PORT_MESSAGE })
        .default(8080)
        .meta({ description: 'Port for health and metrics (and Slack in HTTP mode); 0 picks a free one.' }),
    })
    .prefault({}),
  state: z
    .strictObject({
      dir: z.string().default('./data'),
      flushInterval: positiveDuration.prefault('1s').meta({ description: 'How often changed target states are written.' }),
    })
    .prefault({}),
  maxConcurrentProbes: z.number().int().min(1).max(100_000).default(512),
  defaults: defaultsSchema.default({}),
  notifiers: z.record(z.string().regex(NAME_PATTERN, { error: 'notifier names must match [a-z0-9._-]+' }), notifierSchema).default({}),
  slack: slackSchema.optional(),
  delivery: z
    .strictObject({
      groupWait: duration.prefault('10s'),
      giveUpAfter: positiveDuration.prefault('24h'),
      maxBackoff: positiveDuration.prefault('5m'),
      resolveRemoved: z
        .boolean()
        .default(true)
        .meta({ description: 'When a reload removes a target that is DOWN, resolve its incident ("removed from config").' }),
    })
    .prefault({}),
  routes: z.array(routeSchema).default([]),
  maintenance: z.array(maintenanceSchema).default([]),
  targets: z.array(targetSchema).default([]),
});

/** The file as parsed, before defaults are applied to targets. */
export type RawConfig = z.output<typeof configSchema>;
export type RawTarget = z.output<typeof targetSchema>;
export type NotifierConfig = z.output<typeof notifierSchema>;
export type NotifierType = NotifierConfig['type'];
export type SlackConfig = z.output<typeof slackSchema>;
export type TargetType = RawTarget['type'];
export type FlapPolicy = z.output<typeof flapSchema>;

/** Built-in values for anything neither the target nor `defaults` sets. */
export const BUILTIN_DEFAULTS = {
  interval: 30_000,
  retryInterval: 5_000,
  timeout: 3_000,
  failureThreshold: 3,
  successThreshold: 2,
  flap: { window: 21, high: 30, low: 15 },
  notify: ['log'],
} as const;

type Resolved<T> = Omit<T, keyof typeof scheduling | 'labels' | 'dependsOn'> & {
  interval: number;
  schedule?: string;
  /** Only with `schedule`: the zone its cron expression is read in. */
  timezone?: string;
  retryInterval: number;
  timeout: number;
  failureThreshold: number;
  successThreshold: number;
  flap: FlapPolicy;
  notify: string[];
  repeatInterval?: number;
  labels: Record<string, string>;
  dependsOn: string[];
};

/** A target with every inherited setting filled in: what the scheduler and probes see. */
export type HttpTarget = Resolved<z.output<typeof httpTargetSchema>>;
export type TcpTarget = Resolved<z.output<typeof tcpTargetSchema>>;
export type IcmpTarget = Resolved<z.output<typeof icmpTargetSchema>>;
export type DnsTarget = Resolved<z.output<typeof dnsTargetSchema>>;
export type TlsTarget = Resolved<z.output<typeof tlsTargetSchema>>;
export type Target = HttpTarget | TcpTarget | IcmpTarget | DnsTarget | TlsTarget;

export type Config = Omit<RawConfig, 'targets' | 'defaults'> & { targets: Target[] };
