/**
 * ICMP echo requests this network namespace has received (InEchos in /proc/net/snmp): every ping
 * to a loopback address is one, so the difference over a window counts the ICMP probes sent,
 * whoever sent them, without trusting the prober's own count.
 */
import { readFile } from 'node:fs/promises';

export async function icmpEchoesReceived(): Promise<number> {
  const lines = (await readFile('/proc/net/snmp', 'utf8')).split('\n').filter((line) => line.startsWith('Icmp:'));
  const [names, values] = lines.map((line) => line.split(/\s+/).slice(1));
  const at = names?.indexOf('InEchos') ?? -1;
  const value = at >= 0 ? Number(values?.[at]) : Number.NaN;
  if (!Number.isFinite(value)) throw new Error('no Icmp InEchos counter in /proc/net/snmp');
  return value;
}
