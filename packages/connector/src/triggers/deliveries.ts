/**
 * The events a receiver has handled, by a key the caller chooses (the webhook trigger uses the
 * signed event id, stable across the DAM's retries), so a redelivery is acknowledged without
 * running the flow again. Bounded: past
 * `capacity` the oldest finished ids are forgotten (the DAM retries a delivery for minutes, not
 * for thousands of deliveries). A delivery is `in-flight` between `begin` and `complete` /
 * `abandon`: a redelivery arriving meanwhile must not be acknowledged (the first may still fail),
 * and one abandoned after a failure is processed again when the DAM retries it.
 */
export class DeliveryLog {
  private readonly done = new Map<string, true>();
  private readonly inFlight = new Set<string>();

  constructor(readonly capacity = 10_000) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('capacity must be a whole number >= 1.');
  }

  state(id: string): 'new' | 'in-flight' | 'done' {
    if (this.inFlight.has(id)) return 'in-flight';
    return this.done.has(id) ? 'done' : 'new';
  }

  /** Marks the delivery in flight; false when it is already in flight or done. */
  begin(id: string): boolean {
    if (this.state(id) !== 'new') return false;
    // In-flight ids are bounded by the receiver's concurrency; this cap only guards against misuse.
    if (this.inFlight.size >= this.capacity) throw new RangeError(`more than ${this.capacity} deliveries in flight.`);
    this.inFlight.add(id);
    return true;
  }

  /** The delivery was handled: later redeliveries are duplicates. */
  complete(id: string): void {
    this.inFlight.delete(id);
    this.done.delete(id);
    this.done.set(id, true);
    while (this.done.size > this.capacity) {
      const oldest = this.done.keys().next();
      if (oldest.done) break;
      this.done.delete(oldest.value);
    }
  }

  /** Handling failed: the DAM's retry is processed afresh. */
  abandon(id: string): void {
    this.inFlight.delete(id);
  }

  get size(): number {
    return this.done.size + this.inFlight.size;
  }
}
