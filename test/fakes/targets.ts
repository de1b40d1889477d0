/**
 * Local target servers for probe tests, all on 127.0.0.1 and a random port: an HTTP(S) server
 * with configurable replies (including a body that stalls and one that never ends), a TCP
 * listener whose SYNs are dropped, and a tiny UDP DNS server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect, isIPv4, isIPv6, type AddressInfo, type Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { targetSchema, type Target } from '../../src/config/schema.js';
import { resolveTarget } from '../../src/config/resolve.js';
import { deadlineReason } from '../../src/probes/types.js';

const LOOPBACK = '127.0.0.1';

/** A target as the scheduler hands it to a probe: parsed by the real schema, defaults filled in. */
export function configuredTarget<T extends Target>(raw: Record<string, unknown>): T {
  return resolveTarget(targetSchema.parse({ name: 'test-target', ...raw }), {}) as T;
}

/** A signal that aborts the way the scheduler's deadline does, after `ms`. */
export function deadline(ms: number): AbortSignal {
  const controller = new AbortController();
  setTimeout(() => controller.abort(deadlineReason(ms)), ms).unref();
  return controller.signal;
}

// ---------------------------------------------------------------------------------------------
// HTTP

export interface HttpReply {
  status?: number;
  headers?: Record<string, string>;
  body?: string;
  /** Wait this long before sending anything. */
  delayMs?: number;
  /** After `body`: end the response (default), send nothing more, or stream chunks forever. */
  then?: 'end' | 'stall' | 'endless';
}

export interface HttpTargetServer {
  url: string;
  /** TCP connections accepted so far. */
  readonly connections: number;
  /** Method and path of the requests seen so far: "GET /health". */
  readonly requests: readonly string[];
  /** Over https, the SNI name of each connection (false when the client sent none). */
  readonly serverNames: readonly (string | false)[];
  /** Connections still open now. */
  openConnections(): Promise<number>;
  close(): Promise<void>;
}

const ENDLESS_CHUNK = Buffer.alloc(64 * 1024, 'x');
const ENDLESS_LIMIT_BYTES = 1024 ** 3;

export async function startHttpTarget(
  reply: HttpReply | ((request: IncomingMessage) => HttpReply),
  tls?: { key: string; cert: string },
): Promise<HttpTargetServer> {
  const timers = new Set<NodeJS.Timeout>();
  const requests: string[] = [];
  let connections = 0;
  const answer = (request: IncomingMessage, response: ServerResponse): void => {
    requests.push(`${request.method} ${request.url}`);
    const chosen = typeof reply === 'function' ? reply(request) : reply;
    const send = (): void => writeReply(response, chosen);
    if (!chosen.delayMs) return send();
    const timer = setTimeout(() => { timers.delete(timer); send(); }, chosen.delayMs);
    timers.add(timer);
  };
  const server: Server = tls ? createHttpsServer(tls, answer) : createHttpServer(answer);
  const serverNames: (string | false)[] = [];
  server.on(tls ? 'secureConnection' : 'connection', (socket: Socket | TLSSocket) => {
    connections++;
    if (tls) serverNames.push((socket as TLSSocket).servername ?? false);
  });
  server.listen(0, LOOPBACK);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `${tls ? 'https' : 'http'}://${LOOPBACK}:${port}`,
    get connections() { return connections; },
    requests,
    serverNames,
    openConnections: () => new Promise((resolve, reject) => server.getConnections((error, count) => (error ? reject(error) : resolve(count)))),
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function writeReply(response: ServerResponse, reply: HttpReply): void {
  response.writeHead(reply.status ?? 200, reply.headers);
  if (reply.then === 'stall') {
    if (reply.body) response.write(reply.body);
    else response.flushHeaders();
    return;
  }
  if (reply.then === 'endless') return streamForever(response, reply.body ?? '');
  response.end(reply.body ?? '');
}

/** Chunked body that goes on until the client leaves (bounded at 1 GiB), honouring backpressure. */
function streamForever(response: ServerResponse, first: string): void {
  let sent = 0;
  const pump = (): void => {
    while (!response.destroyed && sent < ENDLESS_LIMIT_BYTES) {
      sent += ENDLESS_CHUNK.length;
      if (!response.write(ENDLESS_CHUNK)) return void response.once('drain', pump);
    }
    if (!response.destroyed) response.end();
  };
  if (first) response.write(first);
  pump();
}

// ---------------------------------------------------------------------------------------------
// TCP: a blackholed port

export interface BlackholedPort {
  host: string;
  port: number;
  close(): Promise<void>;
}

const NEVER_ACCEPTS = `
const server = require('node:net').createServer();
server.listen({ port: 0, host: '${LOOPBACK}', backlog: 1 }, () => {
  process.stdout.write(server.address().port + '\\n');
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
});`;

/**
 * A port whose SYNs go unanswered, like a firewall's DROP: a child process listens with a
 * backlog of 1 and never accepts (its event loop is blocked), and this fills the accept queue;
 * Linux then drops further SYNs. Rejects when the system does not behave that way.
 */
export async function startBlackholedPort(): Promise<BlackholedPort> {
  const child = spawn(process.execPath, ['-e', NEVER_ACCEPTS], { stdio: ['ignore', 'pipe', 'ignore'] });
  const fillers: Socket[] = [];
  const close = async (): Promise<void> => {
    for (const socket of fillers) socket.destroy();
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
  };
  try {
    const port = await readPort(child);
    for (let attempt = 0; attempt < 8; attempt++) {
      const socket = connect(port, LOOPBACK);
      socket.on('error', () => {});
      fillers.push(socket);
      if (!(await connectsWithin(socket, 200))) return { host: LOOPBACK, port, close };
    }
    throw new Error('SYNs to a listener with a full accept queue are not dropped here');
  } catch (error) {
    await close();
    throw error;
  }
}

async function readPort(child: ChildProcess): Promise<number> {
  const [line] = (await Promise.race([
    once(child.stdout!, 'data'),
    once(child, 'exit').then(() => { throw new Error('the listener child exited early'); }),
  ])) as [Buffer];
  return Number(String(line).trim());
}

function connectsWithin(socket: Socket, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    socket.once('connect', () => { clearTimeout(timer); resolve(true); });
    socket.once('error', () => { clearTimeout(timer); resolve(true); });
  });
}

// ---------------------------------------------------------------------------------------------
// DNS: a tiny authoritative server over UDP

export interface DnsRecords {
  A?: string[];
  AAAA?: string[];
  TXT?: string[][];
  MX?: { priority: number; exchange: string }[];
  CNAME?: string[];
}

export interface FakeDnsServer {
  /** "127.0.0.1:port", as a DNS target's `server`. */
  address: string;
  /** Queries received so far. */
  readonly queries: number;
  close(): Promise<void>;
}

const TYPE_CODES = { A: 1, CNAME: 5, MX: 15, TXT: 16, AAAA: 28 } as const;
const NXDOMAIN = 3;

/**
 * Answers from `zone` (names without the trailing dot): NXDOMAIN for an unknown name, an empty
 * answer for a known name without records of the asked type. `silent` never answers.
 */
export async function startDnsServer(zone: Record<string, DnsRecords>, options: { silent?: boolean } = {}): Promise<FakeDnsServer> {
  const socket = createSocket('udp4');
  let queries = 0;
  socket.on('message', (query, peer) => {
    queries++;
    if (options.silent) return;
    const response = answerQuery(query, zone);
    if (response) socket.send(response, peer.port, peer.address);
  });
  socket.bind(0, LOOPBACK);
  await once(socket, 'listening');
  return {
    address: `${LOOPBACK}:${socket.address().port}`,
    get queries() { return queries; },
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

function answerQuery(query: Buffer, zone: Record<string, DnsRecords>): Buffer | undefined {
  if (query.length < 12) return undefined;
  const labels: string[] = [];
  let offset = 12;
  for (let guard = 0; guard < 128 && offset < query.length; guard++) {
    const length = query[offset]!;
    offset += 1;
    if (length === 0) break;
    labels.push(query.toString('latin1', offset, offset + length));
    offset += length;
  }
  if (offset + 4 > query.length) return undefined;
  const questionEnd = offset + 4;
  const type = query.readUInt16BE(offset);
  const records = zone[labels.join('.').toLowerCase()];
  const answers = records ? encodeAnswers(records, type) : [];

  const header = Buffer.alloc(12);
  header.writeUInt16BE(query.readUInt16BE(0), 0);
  // QR, AA, RA, and RD copied from the query; rcode NXDOMAIN for unknown names.
  header.writeUInt16BE(0x8000 | 0x0400 | 0x0080 | (query.readUInt16BE(2) & 0x0100) | (records ? 0 : NXDOMAIN), 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(answers.length, 6);
  return Buffer.concat([header, query.subarray(12, questionEnd), ...answers]);
}

function encodeAnswers(records: DnsRecords, type: number): Buffer[] {
  const rdatas: Buffer[] = [];
  if (type === TYPE_CODES.A) for (const ip of records.A ?? []) rdatas.push(Buffer.from(ip.split('.').map(Number)));
  if (type === TYPE_CODES.AAAA) for (const ip of records.AAAA ?? []) rdatas.push(encodeIPv6(ip));
  if (type === TYPE_CODES.CNAME) for (const name of records.CNAME ?? []) rdatas.push(encodeName(name));
  if (type === TYPE_CODES.TXT) {
    for (const strings of records.TXT ?? []) {
      rdatas.push(Buffer.concat(strings.map((text) => Buffer.concat([Buffer.from([Buffer.byteLength(text)]), Buffer.from(text)]))));
    }
  }
  if (type === TYPE_CODES.MX) {
    for (const { priority, exchange } of records.MX ?? []) {
      const preference = Buffer.alloc(2);
      preference.writeUInt16BE(priority);
      rdatas.push(Buffer.concat([preference, encodeName(exchange)]));
    }
  }
  return rdatas.map((rdata) => {
    const fixed = Buffer.alloc(12);
    fixed.writeUInt16BE(0xc00c, 0); // name: pointer to the question's
    fixed.writeUInt16BE(type, 2);
    fixed.writeUInt16BE(1, 4); // class IN
    fixed.writeUInt32BE(60, 6); // ttl
    fixed.writeUInt16BE(rdata.length, 10);
    return Buffer.concat([fixed, rdata]);
  });
}

function encodeName(name: string): Buffer {
  const parts = name.split('.').filter(Boolean).map((label) => Buffer.concat([Buffer.from([label.length]), Buffer.from(label, 'latin1')]));
  return Buffer.concat([...parts, Buffer.from([0])]);
}

function encodeIPv6(ip: string): Buffer {
  if (!isIPv6(ip) || isIPv4(ip)) throw new Error(`not an IPv6 address: ${ip}`);
  const [head = '', tail] = ip.split('::');
  const groups = (text: string | undefined) => (text ? text.split(':') : []);
  const missing = 8 - groups(head).length - groups(tail).length;
  const all = [...groups(head), ...Array<string>(tail === undefined ? 0 : missing).fill('0'), ...groups(tail)];
  const bytes = Buffer.alloc(16);
  all.forEach((group, index) => bytes.writeUInt16BE(parseInt(group, 16), index * 2));
  return bytes;
}
