import { lookup as systemLookup } from 'node:dns/promises';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';
import { Agent, buildConnector, fetch } from 'undici';

/** Answers every address a host name resolves to (like `dns.lookup(name, {all: true})`). */
export type HostResolver = (hostname: string) => Promise<Array<{ address: string; family: number }>>;

export const systemResolver: HostResolver = (hostname) => systemLookup(hostname, { all: true });

/** A connection refused because its host is, or resolves to, a loopback, private or other non-public address. */
export class AddressNotAllowedError extends Error {
  readonly code = 'ERR_ADDRESS_NOT_ALLOWED';
  constructor(
    readonly hostname: string,
    readonly range: string,
    purpose: string,
  ) {
    super(`${hostname} resolves to a ${range} address, which ${purpose} may not reach`);
    this.name = 'AddressNotAllowedError';
  }
}

/** The range of a non-public address (`loopback`, `private`, ...), or undefined for a public unicast one. */
function refusedRange(address: string): string | undefined {
  const range = ipaddr.process(address).range();
  return range === 'unicast' ? undefined : range;
}

/**
 * Decides which addresses outgoing requests may reach, and connects only to those. The check runs
 * on the very addresses the socket connects to (a custom `lookup`), so a name that answers a public
 * address first and a loopback one next (DNS rebinding) cannot slip through between check and connect.
 */
export class AddressGuard {
  /** Pass as `dispatcher` to undici's `fetch` (see `guardedFetch`). */
  readonly agent: Agent;

  constructor(
    /** Words for error messages: "<host> resolves to a loopback address, which <purpose> may not reach". */
    private readonly purpose: string,
    /** Lets requests reach loopback and private addresses (tests, local demos). */
    readonly allowPrivate: boolean,
    private readonly resolve: HostResolver = systemResolver,
  ) {
    const lookup: LookupFunction = (hostname, options, callback) => {
      this.addresses(hostname).then(
        (all) => {
          const wanted =
            options.family === 4 || options.family === 6
              ? all.filter((a) => a.family === options.family)
              : all;
          if (wanted.length === 0) {
            callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '', 0);
          } else if (options.all) {
            callback(null, wanted);
          } else {
            callback(null, wanted[0]!.address, wanted[0]!.family);
          }
        },
        (error: NodeJS.ErrnoException) => callback(error, '', 0),
      );
    };
    const connector = buildConnector({ lookup });
    this.agent = new Agent({
      connect: (options, callback) => {
        // An address literal never reaches `lookup` (net connects to it directly): check it here.
        const host = options.hostname.replace(/^\[|\]$/g, '');
        const range = !this.allowPrivate && isIP(host) ? refusedRange(host) : undefined;
        if (range) callback(new AddressNotAllowedError(options.hostname, range, this.purpose), null);
        else connector(options, callback);
      },
    });
  }

  /** Resolves `hostname` (or takes an address literal as is); rejects if any address is not allowed. */
  async addresses(hostname: string): Promise<Array<{ address: string; family: number }>> {
    const host = hostname.replace(/^\[|\]$/g, '');
    const family = isIP(host);
    const all = family ? [{ address: host, family }] : await this.resolve(host);
    if (!this.allowPrivate) {
      for (const { address } of all) {
        const range = refusedRange(address);
        if (range) throw new AddressNotAllowedError(hostname, range, this.purpose);
      }
    }
    return all;
  }

  /** Early feedback (e.g. when a webhook is saved); the connection itself is checked again when made. */
  async check(url: URL): Promise<void> {
    if (!this.allowPrivate) await this.addresses(url.hostname);
  }
}

/** undici's `fetch`, the one `AddressGuard.agent` is built for (Node's bundled copy may be another version). */
export const guardedFetch = fetch;

/** The guard's refusal behind a failed fetch ("fetch failed" with it as cause), if that is why it failed. */
export function addressRefusal(error: unknown): AddressNotAllowedError | undefined {
  let e = error;
  for (let depth = 0; depth < 5 && e instanceof Error; depth++, e = e.cause)
    if (e instanceof AddressNotAllowedError) return e;
  return undefined;
}
