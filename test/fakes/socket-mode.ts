/**
 * A fake of Slack's Socket Mode on loopback: `apps.connections.open` (checks the app token,
 * answers `ws://127.0.0.1:<port>/link/?ticket=…`) and a minimal WebSocket server (RFC 6455:
 * handshake, text frames, ping/pong, close) that lets a test play Slack's side of the socket.
 */
import { createHash } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export interface SocketPeer {
  /** Sends one text frame of JSON, as Slack does. */
  send(message: Record<string, unknown>): void;
  /** The next JSON message from the app (bounded wait). */
  next(timeoutMs?: number): Promise<Record<string, unknown>>;
  readonly closed: boolean;
}

export interface FakeSocketMode {
  /** `<url>/api/`: the value for slack.apiUrl. */
  apiUrl: string;
  appToken: string;
  /** apps.connections.open calls so far. */
  readonly opens: number;
  /** The next `count` apps.connections.open calls answer HTTP 503. */
  failOpens(count: number): void;
  /** Waits (bounded) for the app's next WebSocket connection. */
  connection(timeoutMs?: number): Promise<SocketPeer>;
  close(): Promise<void>;
}

export async function startFakeSocketMode(options: { appToken?: string } = {}): Promise<FakeSocketMode> {
  const appToken = options.appToken ?? 'xapp-1-fake';
  const events = new EventEmitter();
  const sockets = new Set<Socket>();
  const peers: SocketPeer[] = [];
  let opens = 0;
  let failing = 0;

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    request.resume();
    request.on('end', () => {
      const json = (status: number, body: unknown) => {
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(JSON.stringify(body));
      };
      if (!(request.url ?? '').startsWith('/api/apps.connections.open')) return json(200, { ok: false, error: 'unknown_method' });
      opens++;
      if (failing > 0) {
        failing--;
        return json(503, { ok: false, error: 'service_unavailable' });
      }
      if (request.headers.authorization !== `Bearer ${appToken}`) return json(200, { ok: false, error: 'invalid_auth' });
      json(200, { ok: true, url: `ws://127.0.0.1:${port}/link/?ticket=fake-ticket` });
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('upgrade', (request: IncomingMessage, socket: Socket) => {
    const key = request.headers['sec-websocket-key'];
    if (typeof key !== 'string') return socket.destroy();
    const accept = createHash('sha1').update(key + GUID).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    const peer = webSocketPeer(socket);
    peers.push(peer);
    events.emit('peer', peer);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;

  return {
    apiUrl: `http://127.0.0.1:${port}/api/`,
    appToken,
    get opens() { return opens; },
    failOpens(count) {
      failing = count;
    },
    async connection(timeoutMs = 5000) {
      const [peer] = (await once(events, 'peer', { signal: AbortSignal.timeout(timeoutMs) })) as [SocketPeer];
      return peer;
    },
    close: () => new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    }),
  };
}

/** The server side of one WebSocket: client frames are masked, ours are not. */
function webSocketPeer(socket: Socket): SocketPeer {
  const messages: Array<Record<string, unknown>> = [];
  const events = new EventEmitter();
  let buffer = Buffer.alloc(0);
  let closed = false;
  const sendFrame = (opcode: number, payload: Buffer) => {
    if (closed && opcode !== 0x8) return;
    const length = payload.length;
    const head = length < 126 ? Buffer.from([0x80 | opcode, length]) : length < 65_536 ? Buffer.from([0x80 | opcode, 126, length >> 8, length & 0xff]) : Buffer.concat([Buffer.from([0x80 | opcode, 127]), bigLength(length)]);
    socket.write(Buffer.concat([head, payload]));
  };
  socket.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    for (let frame = readFrame(buffer); frame !== undefined; frame = readFrame(buffer)) {
      buffer = buffer.subarray(frame.size);
      if (frame.opcode === 0x1) {
        messages.push(JSON.parse(frame.payload.toString('utf8')) as Record<string, unknown>);
        events.emit('message');
      } else if (frame.opcode === 0x9) sendFrame(0xa, frame.payload);
      else if (frame.opcode === 0x8) {
        sendFrame(0x8, frame.payload.subarray(0, 2));
        closed = true;
        socket.end();
      }
    }
  });
  socket.on('close', () => {
    closed = true;
  });
  socket.on('error', () => undefined);
  return {
    send: (message) => sendFrame(0x1, Buffer.from(JSON.stringify(message))),
    async next(timeoutMs = 5000) {
      const deadline = AbortSignal.timeout(timeoutMs);
      while (messages.length === 0) await once(events, 'message', { signal: deadline });
      return messages.shift()!;
    },
    get closed() { return closed; },
  };
}

function readFrame(buffer: Buffer): { opcode: number; payload: Buffer; size: number } | undefined {
  if (buffer.length < 2) return undefined;
  const opcode = buffer[0]! & 0x0f;
  const masked = (buffer[1]! & 0x80) !== 0;
  let length = buffer[1]! & 0x7f;
  let offset = 2;
  if (length === 126) {
    if (buffer.length < 4) return undefined;
    length = buffer.readUInt16BE(2);
    offset = 4;
  } else if (length === 127) {
    if (buffer.length < 10) return undefined;
    length = Number(buffer.readBigUInt64BE(2));
    offset = 10;
  }
  const maskLength = masked ? 4 : 0;
  if (buffer.length < offset + maskLength + length) return undefined;
  const mask = buffer.subarray(offset, offset + maskLength);
  const payload = Buffer.from(buffer.subarray(offset + maskLength, offset + maskLength + length));
  if (masked) for (let index = 0; index < payload.length; index++) payload[index] = payload[index]! ^ mask[index % 4]!;
  return { opcode, payload, size: offset + maskLength + length };
}

function bigLength(length: number): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.writeBigUInt64BE(BigInt(length));
  return bytes;
}
