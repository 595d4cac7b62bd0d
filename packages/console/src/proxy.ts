/**
 * Reverse proxies the console believes (`trustedProxies`, `sfx serve --trusted-proxy`): only when
 * the socket peer is one of them do its X-Forwarded-Proto (is the browser on HTTPS: the session
 * cookie gets Secure) and X-Forwarded-For (who is logging in: the login throttle) count. Without
 * any, those headers are ignored: anyone can send them.
 */
import { BlockList, isIP } from 'node:net';
import type { FastifyRequest } from 'fastify';

/** `::ffff:10.0.0.1` is the IPv4 peer 10.0.0.1, as dual-stack sockets report it. */
function plain(address: string): string {
  const trimmed = address.trim().replace(/^\[(.*)\]$/, '$1');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(trimmed);
  return mapped ? mapped[1]! : trimmed;
}

function family(address: string): 'ipv4' | 'ipv6' | undefined {
  const kind = isIP(address);
  return kind === 4 ? 'ipv4' : kind === 6 ? 'ipv6' : undefined;
}

export class TrustedProxies {
  private readonly list = new BlockList();
  readonly size: number;

  /** `ranges`: CIDR ranges or single addresses; throws naming a malformed one. */
  constructor(ranges: readonly string[] = []) {
    for (const range of ranges) {
      const [address = '', bits, extra] = range.trim().split('/');
      const ip = plain(address);
      const kind = family(ip);
      const max = kind === 'ipv4' ? 32 : 128;
      const prefix = bits === undefined ? max : /^\d{1,3}$/.test(bits) ? Number(bits) : NaN;
      if (!kind || extra !== undefined || !(prefix >= 0 && prefix <= max))
        throw new Error(
          `trusted proxy "${range}" is not an IPv4 or IPv6 CIDR range: write it as 10.0.0.0/8, 2001:db8::/32 or a single address.`,
        );
      this.list.addSubnet(ip, prefix, kind);
    }
    this.size = ranges.length;
  }

  trusts(address: string | undefined): boolean {
    if (!this.size || !address) return false;
    const ip = plain(address);
    const kind = family(ip);
    return kind !== undefined && this.list.check(ip, kind);
  }

  /** The browser reached us over HTTPS: a TLS socket here, or a trusted proxy's word for it. */
  isHttps(request: FastifyRequest): boolean {
    if (request.protocol === 'https') return true;
    if (!this.trusts(request.socket.remoteAddress)) return false;
    // The last value is the one the proxy next to us wrote; earlier ones came from further away.
    return lastValue(request.headers['x-forwarded-proto'])?.toLowerCase() === 'https';
  }

  /**
   * Who sent the request: the socket peer, or behind trusted proxies the right-most
   * X-Forwarded-For hop that is not one of them (hops to its left are the client's own words).
   */
  clientAddress(request: FastifyRequest): string {
    const peer = plain(request.socket.remoteAddress ?? '');
    if (!this.trusts(peer)) return peer;
    const header = request.headers['x-forwarded-for'];
    const hops = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',').map((h) => plain(h)).filter(Boolean);
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hops[i]!;
      if (!family(hop)) return peer; // a malformed hop ends what can be attributed
      if (!this.trusts(hop)) return hop;
    }
    return hops[0] ?? peer;
  }
}

function lastValue(header: string | string[] | undefined): string | undefined {
  const joined = Array.isArray(header) ? header.join(',') : header;
  return joined?.split(',').at(-1)?.trim();
}
