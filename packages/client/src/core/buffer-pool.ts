/**
 * Reusable buffers for small uploads. Thousands of 100 KiB files sent one after the other would
 * otherwise allocate a fresh buffer each: V8 frees them only at its next collection, so tens of MB
 * pile up, and the allocator keeps the holes they leave. With the buffers lent and given back,
 * memory is about one buffer per upload in flight, whatever the number of files.
 *
 * A lent buffer goes back only when nothing can still read it: its owner (the upload) is done with
 * it, and every write of it by the default transport has reached the socket. A buffer handed to any
 * other transport is never given back (the garbage collector frees it as before), since nothing
 * says when that transport is done with it.
 */
export class BufferPool {
  private readonly free = new Map<number, Buffer[]>();
  private freeBytes = 0;

  constructor(private readonly maxFreeBytes = 8 * 1024 * 1024) {}

  /** A buffer of at least `size` bytes (rounded up to a multiple of 16 KiB), lent until `release()`. */
  lend(size: number): Lease {
    const capacity = Math.ceil(Math.max(size, 1) / GRAIN) * GRAIN;
    const reused = this.free.get(capacity)?.pop();
    if (reused) this.freeBytes -= capacity;
    return new Lease(reused ?? Buffer.allocUnsafeSlow(capacity), this);
  }

  /** @internal */
  giveBack(buffer: Buffer): void {
    const capacity = buffer.byteLength;
    if (this.freeBytes + capacity > this.maxFreeBytes) return; // left to the garbage collector
    let list = this.free.get(capacity);
    if (!list) this.free.set(capacity, (list = []));
    list.push(buffer);
    this.freeBytes += capacity;
  }
}

const GRAIN = 16 * 1024;

const leases = new WeakMap<Uint8Array, Lease>();

export class Lease {
  private writing = 0;
  private written = false;
  private lost = false;
  private ownerDone = false;

  constructor(
    readonly buffer: Buffer,
    private readonly pool: BufferPool,
  ) {}

  /** A view of the buffer, sent as a request body, that the default transport will report writes of. */
  view(start: number, end: number): Buffer {
    const view = this.buffer.subarray(start, end);
    leases.set(view, this);
    return view;
  }

  /** The owner will not read or send the buffer again. */
  release(): void {
    this.ownerDone = true;
    this.settle();
  }

  /** @internal The default transport begins writing it; call the result once the write ended. */
  writeStarted(): (flushed: boolean) => void {
    this.writing++;
    let ended = false;
    return (flushed) => {
      if (ended) return;
      ended = true;
      this.writing--;
      if (flushed) this.written = true;
      // A write cut short may still be queued in the socket: never reuse what it points to.
      else this.lost = true;
      this.settle();
    };
  }

  private settle(): void {
    if (!this.ownerDone || this.writing > 0 || !this.written || this.lost) return;
    this.lost = true; // given back once
    this.pool.giveBack(this.buffer);
  }
}

/** The lease a request body was cut from, if any (the default transport reports its writes). */
export function leaseOf(body: Uint8Array): Lease | undefined {
  return leases.get(body);
}
