/**
 * Where the bench's targets live: all on loopback. Each TCP target gets an address of its own
 * (127.20.0.1, 127.20.0.2, …; Linux answers the whole 127.0.0.0/8 on lo), all on one port, so
 * a listener knows which target connected and the bot's outgoing connects never run short of
 * source ports (each destination is a different 4-tuple).
 */

const PER_OCTET = 250;
/** Targets per value of the second octet: 127.<20+k>.x.y. */
const PER_BLOCK = PER_OCTET * PER_OCTET;

export function tcpTargetHost(index: number): string {
  return `127.${20 + Math.floor(index / PER_BLOCK)}.${Math.floor(index / PER_OCTET) % PER_OCTET}.${(index % PER_OCTET) + 1}`;
}

/** ICMP targets, away from the TCP ones: 127.90.x.y. */
export function icmpTargetHost(index: number): string {
  return `127.90.${Math.floor(index / PER_OCTET) % PER_OCTET}.${(index % PER_OCTET) + 1}`;
}
