/** The API's largest page (`limit` 1-4000 on files and folders). */
export const MAX_PAGE_SIZE = 4000;

export interface PageRequest {
  limit: number;
  offset: number;
}

export interface PagingOptions {
  /** First offset (default 0). */
  offset?: number;
  /** Page size when awaited (default: the API's default). */
  limit?: number;
  /** Page size when iterated (default 4000, the most the API gives). */
  pageSize?: number;
  /** Stop iterating after this many items. */
  maxItems?: number;
}

/**
 * A list call that is both awaitable (one page, as the API returned it) and async-iterable (every
 * item, page after page):
 *
 *   const page = await client.files.list({ folder: '/shoes' });
 *   for await (const file of client.files.list({ folder: '/shoes', recursive: true })) { ... }
 *
 * The API pages by offset only. Iteration asks for full pages and stops on the first short page,
 * on an empty page, or once `offset` reaches the total the API reported, whichever comes first.
 * Items added or removed while a walk is under way can shift offsets; walk a stable sort order
 * (the default `created_at`) for the fewest surprises.
 */
export class PagePromise<Page, Item> implements PromiseLike<Page>, AsyncIterable<Item> {
  private firstPage: Promise<Page> | undefined;

  constructor(
    private readonly fetchPage: (request: PageRequest) => Promise<Page>,
    private readonly itemsOf: (page: Page) => readonly Item[],
    private readonly totalOf: (page: Page) => number | undefined,
    private readonly options: PagingOptions & { defaultLimit: number },
  ) {}

  // Lazy: nothing is sent until the caller awaits or iterates.
  then<A = Page, B = never>(
    onFulfilled?: ((page: Page) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    this.firstPage ??= this.fetchPage({
      limit: this.options.limit ?? this.options.defaultLimit,
      offset: this.options.offset ?? 0,
    });
    return this.firstPage.then(onFulfilled, onRejected);
  }

  catch<B = never>(onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<Page | B> {
    return this.then(undefined, onRejected);
  }

  finally(onFinally?: (() => void) | null): Promise<Page> {
    return this.then().finally(onFinally);
  }

  /** Every page in turn. */
  async *pages(): AsyncGenerator<Page> {
    const pageSize = Math.min(MAX_PAGE_SIZE, Math.max(1, this.options.pageSize ?? MAX_PAGE_SIZE));
    let offset = this.options.offset ?? 0;
    let remaining = this.options.maxItems ?? Number.POSITIVE_INFINITY;
    while (remaining > 0) {
      const limit = Math.min(pageSize, remaining);
      const page = await this.fetchPage({ limit, offset });
      const items = this.itemsOf(page);
      yield page;
      offset += items.length;
      remaining -= items.length;
      const total = this.totalOf(page);
      if (items.length < limit || items.length === 0 || (total !== undefined && offset >= total)) return;
    }
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Item> {
    let remaining = this.options.maxItems ?? Number.POSITIVE_INFINITY;
    for await (const page of this.pages()) {
      for (const item of this.itemsOf(page)) {
        if (remaining-- <= 0) return;
        yield item;
      }
    }
  }

  /** Collects every item; `max` is required so an unexpectedly huge listing cannot exhaust memory. */
  async toArray(max: number): Promise<Item[]> {
    const items: Item[] = [];
    for await (const item of this) {
      if (items.length >= max) {
        throw new RangeError(
          `more than ${max} items; raise "max" or iterate with for await instead of toArray().`,
        );
      }
      items.push(item);
    }
    return items;
  }
}
