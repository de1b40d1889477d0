/**
 * A helper process with the odd targets, from the test fakes: an HTTP server that answers 200,
 * one that sends headers and part of a body and then stalls, and a blackholed TCP port (SYNs
 * dropped, like a firewall's DROP). All on 127.0.0.1.
 */
import { startBlackholedPort, startHttpTarget, type BlackholedPort, type HttpTargetServer } from '../../test/fakes/targets.js';
import { serve } from './rpc.js';

let ok: HttpTargetServer | undefined;
let stall: HttpTargetServer | undefined;
const blackholes: BlackholedPort[] = [];

const api = {
  async httpOk(): Promise<{ url: string }> {
    ok ??= await startHttpTarget({ status: 200, body: 'ok' });
    return { url: ok.url };
  },
  async httpStall(): Promise<{ url: string }> {
    stall ??= await startHttpTarget({ status: 200, body: 'partial', then: 'stall' });
    return { url: stall.url };
  },
  async blackhole(): Promise<{ host: string; port: number }> {
    const port = await startBlackholedPort();
    blackholes.push(port);
    return { host: port.host, port: port.port };
  },
  counts(): { okConnections: number; okRequests: number; stallConnections: number } {
    return { okConnections: ok?.connections ?? 0, okRequests: ok?.requests.length ?? 0, stallConnections: stall?.connections ?? 0 };
  },
};

export type TargetsApi = typeof api;

serve(api, async () => {
  await Promise.all([ok?.close(), stall?.close(), ...blackholes.map((port) => port.close())]);
});
