/**
 * The HTTP server under the Slack, PagerDuty and webhook fakes: loopback only, a random port,
 * whole bodies read before the handler runs, and an outage switch (refuse connections, or 503).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type FakeHandler = (request: IncomingMessage, body: Buffer, response: ServerResponse) => void | Promise<void>;

export type OutageMode = 'refuse' | 'unavailable';

export interface FakeServer {
  /** http://127.0.0.1:<port> (no trailing slash). */
  url: string;
  port: number;
  /** Refuse connections (listener closed) or answer every request 503 until up(). */
  down(mode?: OutageMode): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 10 * 1024 * 1024;

export async function startFakeServer(handler: FakeHandler): Promise<FakeServer> {
  let outage: OutageMode | undefined;
  const sockets = new Set<Socket>();
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    request.on('end', () => {
      if (outage === 'unavailable') {
        response.writeHead(503, { 'content-type': 'text/plain' }).end('service unavailable');
        return;
      }
      Promise.resolve(handler(request, Buffer.concat(chunks), response)).catch((error: unknown) => {
        if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain' });
        response.end(`fake server error: ${String(error)}`);
      });
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await listen(server, 0);
  const port = (server.address() as AddressInfo).port;
  const dropConnections = () => {
    for (const socket of sockets) socket.destroy();
  };
  const stopListening = () => new Promise<void>((resolve) => {
    server.close(() => resolve());
    dropConnections();
  });
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    async down(mode = 'refuse') {
      outage = mode;
      if (mode === 'refuse' && server.listening) await stopListening();
    },
    async up() {
      outage = undefined;
      if (!server.listening) await listen(server, port);
    },
    async close() {
      if (server.listening) await stopListening();
      else dropConnections();
    },
  };
}

function listen(server: ReturnType<typeof createServer>, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}

export function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  response.end(text);
}
