import type { Filerobot } from '@sfx/client';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ConsoleOptions } from './options.js';

/** What every page module gets besides the /ui fastify instance. */
export interface ConsoleContext {
  options: ConsoleOptions;
  /**
   * Writes one error line to the service's log (ConsoleOptions.log) for a request that failed on
   * the server: its id (returned, for the page to show), method, path and the error, never its
   * headers, query or body.
   */
  logFailure(request: FastifyRequest, error: unknown, fields?: Record<string, unknown>): string;
  /**
   * One client per connection name, opened on first use, closed with the server, and opened again
   * when the stored connection changed (see ConsoleConnections.fingerprint). It is held for
   * `reply`: a client replaced meanwhile closes only once the replies it was handed to are over.
   */
  client(connection: string, reply: FastifyReply): Promise<Filerobot>;
  /**
   * Drops what is held for a connection (its client, its upload keys): it was changed or removed.
   * What requests still use closes when they end; the promise does not wait for them.
   */
  forgetConnection(connection: string): Promise<void>;
  /** Called with the name of each connection forgotten, to drop what a page holds for it. */
  onForget(listener: (connection: string) => void | Promise<void>): void;
  /**
   * Origins the pages may load images from or send uploads to (the DAM's CDN and upload hosts),
   * learnt from the connections and file URLs the console has seen. They go into the CSP.
   */
  allowImages(origin: string): void;
  allowConnect(origin: string): void;
}

/** A page module: registers its routes (without the /ui prefix) on the console's instance. */
export type ConsolePage = (ui: FastifyInstance, ctx: ConsoleContext) => void;
