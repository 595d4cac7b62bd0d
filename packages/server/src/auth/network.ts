import { createRequire } from 'node:module';
import ipaddr from 'ipaddr.js';
import { badRequest } from '../errors.js';

type Address = ipaddr.IPv4 | ipaddr.IPv6;
type Range = [Address, number];

/** `::ffff:10.1.2.3` is the IPv4 client 10.1.2.3: dual-stack sockets report IPv4 peers that way. */
function parseAddress(text: string): Address | undefined {
  const clean = text
    .trim()
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/%.*$/, '');
  if (!ipaddr.isValid(clean)) return undefined;
  return ipaddr.process(clean);
}

/** Parses a CIDR range (or a single address, meaning just that address); throws a 400 naming `field`. */
export function parseRange(raw: unknown, field: string): Range {
  if (typeof raw !== 'string')
    throw badRequest(
      'INVALID_IP_RANGE',
      `"${field}" must be a CIDR range such as 203.0.113.0/24 or 2001:db8::/32.`,
    );
  const text = raw.trim();
  try {
    if (text.includes('/')) {
      const [address, bits] = ipaddr.parseCIDR(text);
      // An IPv4-mapped IPv6 range covers IPv4 clients, which arrive here as plain IPv4.
      if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96) {
        return [(address as ipaddr.IPv6).toIPv4Address(), bits - 96];
      }
      return [address, bits];
    }
    const address = parseAddress(text);
    if (address) return [address, address.kind() === 'ipv4' ? 32 : 128];
  } catch {
    // Reported below with the field name.
  }
  throw badRequest(
    'INVALID_IP_RANGE',
    `"${field}" is not an IPv4 or IPv6 CIDR range: ${JSON.stringify(raw)}.`,
    'Write ranges as 203.0.113.0/24 or 2001:db8::/32, or a single address.',
  );
}

/** The canonical text of a range: the network address (host bits cleared) and the prefix length. */
export function formatRange([address, bits]: Range): string {
  const network =
    address.kind() === 'ipv4'
      ? ipaddr.IPv4.networkAddressFromCIDR(`${address.toString()}/${bits}`)
      : ipaddr.IPv6.networkAddressFromCIDR(`${address.toString()}/${bits}`);
  return `${network.toString()}/${bits}`;
}

export function inRanges(ip: string, ranges: readonly string[]): boolean {
  const address = parseAddress(ip);
  if (!address) return false;
  return ranges.some((text) => {
    const range = parseRange(text, 'ip_ranges');
    return range[0].kind() === address.kind() && address.match(range);
  });
}

/** Returns an ISO 3166-1 alpha-2 code (upper case), or undefined when the address has none. */
export type CountryResolver = (ip: string) => string | undefined;

export interface NetworkOptions {
  /** CIDR ranges of proxies whose `X-Forwarded-For` (and country header) are believed. */
  trustedProxies?: readonly string[];
  /** Header a trusted proxy sets to the client's country (e.g. `cf-ipcountry`). */
  countryHeader?: string;
  /** Replaces the bundled GeoIP database. */
  countryResolver?: CountryResolver;
  log?: (level: 'warn', message: string, fields?: Record<string, unknown>) => void;
}

interface RequestLike {
  headers: Record<string, string | string[] | undefined>;
  socket: { remoteAddress?: string | undefined };
}

const COUNTRY = /^[A-Z]{2}$/;

/**
 * Who is calling, as far as the server can tell: the socket peer, or, when that peer is a
 * configured trusted proxy, the right-most `X-Forwarded-For` hop that is not itself a trusted
 * proxy (hops to its left were written by the client and prove nothing).
 */
export class Network {
  private readonly trusted: string[];
  private readonly countryHeader: string | undefined;
  private resolver: CountryResolver | undefined;

  constructor(private readonly options: NetworkOptions = {}) {
    this.trusted = (options.trustedProxies ?? []).map((r, i) =>
      formatRange(parseRange(r, `trustedProxies[${i}]`)),
    );
    this.countryHeader = options.countryHeader?.trim().toLowerCase() || undefined;
    if (this.countryHeader && this.trusted.length === 0) {
      // Believed only from trusted proxies: without any, the header would silently never count.
      throw new Error(
        `The country header "${options.countryHeader}" needs trusted proxies (trustedProxies / --trusted-proxy) that set it.`,
      );
    }
    this.resolver = options.countryResolver;
  }

  private isTrusted(ip: string): boolean {
    return this.trusted.length > 0 && inRanges(ip, this.trusted);
  }

  private peer(req: RequestLike): string {
    const address = parseAddress(req.socket.remoteAddress ?? '');
    return address ? address.toString() : (req.socket.remoteAddress ?? '');
  }

  clientAddress(req: RequestLike): string {
    const peer = this.peer(req);
    if (!this.isTrusted(peer)) return peer;
    const raw = req.headers['x-forwarded-for'];
    const hops = (Array.isArray(raw) ? raw.join(',') : (raw ?? ''))
      .split(',')
      .map((h) => h.trim())
      .filter(Boolean);
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = parseAddress(hops[i]!);
      // A malformed hop ends the chain of trust: nothing to its left can be attributed.
      if (!hop) return peer;
      const text = hop.toString();
      if (!this.isTrusted(text)) return text;
    }
    return hops.length > 0 ? (parseAddress(hops[0]!)?.toString() ?? peer) : peer;
  }

  /** The caller's country: the trusted proxy's header when configured and present, else the resolver's answer. */
  country(req: RequestLike, clientIp: string): string | undefined {
    if (this.countryHeader && this.isTrusted(this.peer(req))) {
      const raw = req.headers[this.countryHeader];
      const value = (Array.isArray(raw) ? raw[0] : raw)?.trim().toUpperCase();
      if (value && COUNTRY.test(value)) return value;
    }
    const found = this.resolve(clientIp)?.toUpperCase();
    return found && COUNTRY.test(found) ? found : undefined;
  }

  private resolve(ip: string): string | undefined {
    this.resolver ??= loadGeoIp(this.options.log);
    return this.resolver(ip);
  }
}

/**
 * The bundled GeoIP country database (`geoip-country`, MaxMind GeoLite2 data shipped in the npm
 * package), loaded on first use: it costs ~18 MB of memory, which only projects with a country
 * rule need to pay. Loopback and private addresses have no country.
 */
function loadGeoIp(log: NetworkOptions['log']): CountryResolver {
  try {
    const geoip = createRequire(import.meta.url)('geoip-country') as {
      lookup(ip: string): { country?: string } | null;
    };
    return (ip) => geoip.lookup(ip)?.country || undefined;
  } catch (error) {
    // Without a database no country is known, so country rules refuse every caller: fail closed.
    log?.('warn', 'the GeoIP country database could not be loaded', { error: (error as Error).message });
    return () => undefined;
  }
}
