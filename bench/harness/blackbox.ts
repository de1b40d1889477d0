/**
 * Prometheus blackbox_exporter (Debian's prometheus-blackbox-exporter 0.23), the peer probebot's
 * probe cost is compared with. Installed with apt-get when missing, only when running as root and
 * not in the quick run; otherwise the comparison is skipped with the reason.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { stopChild } from './stop-child.js';
import { writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);
const BINARIES = ['prometheus-blackbox-exporter', 'blackbox_exporter'];
const APT_TIMEOUT_MS = 300_000;

/** Every module times out like probebot's default target (3 s), IPv4 as the targets are. */
const MODULES = `modules:
  tcp_connect:
    prober: tcp
    timeout: 3s
    tcp: { preferred_ip_protocol: ip4 }
  http_2xx:
    prober: http
    timeout: 3s
    http: { preferred_ip_protocol: ip4 }
  icmp:
    prober: icmp
    timeout: 3s
    icmp: { preferred_ip_protocol: ip4 }
`;

export type BlackboxLookup = { path: string; installed: boolean } | { path: undefined; reason: string };

export async function findBlackbox(options: { mayInstall: boolean; log(message: string): void }): Promise<BlackboxLookup> {
  const found = await onPath();
  if (found) return { path: found, installed: false };
  if (!options.mayInstall) return { path: undefined, reason: 'prometheus-blackbox-exporter is not installed (the full run installs it with apt-get when root)' };
  if (process.getuid?.() !== 0) return { path: undefined, reason: 'prometheus-blackbox-exporter is not installed and installing it needs root' };
  options.log('probe-cost: installing prometheus-blackbox-exporter with apt-get');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () => run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'prometheus-blackbox-exporter'], { env, timeout: APT_TIMEOUT_MS });
  try {
    await install().catch(async () => {
      await run('apt-get', ['update', '-qq'], { env, timeout: APT_TIMEOUT_MS });
      await install();
    });
  } catch (error) {
    return { path: undefined, reason: `apt-get install prometheus-blackbox-exporter failed: ${String((error as Error).message).split('\n')[0]}` };
  }
  const installed = await onPath();
  return installed ? { path: installed, installed: true } : { path: undefined, reason: 'apt-get installed prometheus-blackbox-exporter but no binary is on PATH' };
}

export class Blackbox {
  private constructor(private readonly child: ChildProcess, readonly port: number) {}

  static async start(path: string, dir: string): Promise<Blackbox> {
    const configPath = join(dir, 'blackbox.yml');
    await writeFile(configPath, MODULES);
    const port = await freePort();
    const child = spawn(path, [`--config.file=${configPath}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      if (stderr.length < 4000) stderr += chunk.toString();
    });
    for (const deadline = Date.now() + 10_000; Date.now() < deadline;) {
      if (child.exitCode !== null) throw new Error(`blackbox_exporter exited ${child.exitCode}: ${stderr.slice(0, 500)}`);
      const ready = await fetch(`http://127.0.0.1:${port}/-/healthy`).then((response) => response.ok, () => false);
      if (ready) return new Blackbox(child, port);
      await sleep(50);
    }
    child.kill('SIGKILL');
    throw new Error(`blackbox_exporter did not answer on 127.0.0.1:${port}: ${stderr.slice(0, 500)}`);
  }

  get pid(): number {
    return this.child.pid!;
  }

  probeUrl(module: 'tcp_connect' | 'http_2xx' | 'icmp', target: string): string {
    return `http://127.0.0.1:${this.port}/probe?module=${module}&target=${encodeURIComponent(target)}`;
  }

  stop(): Promise<void> {
    return stopChild(this.child);
  }
}

async function onPath(): Promise<string | undefined> {
  for (const name of BINARIES) {
    const found = await run('sh', ['-c', `command -v ${name}`]).then(({ stdout }) => stdout.trim(), () => '');
    if (found) return found;
  }
  return undefined;
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
