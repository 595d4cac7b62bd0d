/**
 * Runs short write transactions that arrive close together as savepoints of one transaction.
 * Uploads finish in bursts (a bulk client sends dozens at once); one commit for the burst writes
 * the shared pages (folder, indexes, full-text index) to the WAL once instead of once per file.
 * Each unit keeps its own outcome: one that throws rolls back its savepoint only, and its caller
 * gets the error; the others commit. Callers wait for the commit, so a reply still means the row
 * is durable (read-after-write holds).
 */
export class GroupCommit {
  private queue: Array<Unit<unknown>> = [];
  private scheduled = false;

  /**
   * @param transaction runs work in a transaction; nested calls must become savepoints (as
   *   better-sqlite3's transaction functions do).
   * @param maxUnits most units in one transaction, so a huge burst cannot hold the writer long.
   */
  constructor(
    private readonly transaction: <T>(work: () => T) => T,
    private readonly maxUnits = 256,
  ) {}

  run<T>(work: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve, reject } as Unit<unknown>);
      if (!this.scheduled) {
        this.scheduled = true;
        // setImmediate: lets the I/O callbacks already due (other uploads' renames) join the batch.
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    const batch = this.queue.splice(0, this.maxUnits);
    this.scheduled = this.queue.length > 0;
    if (this.scheduled) setImmediate(() => this.flush());
    const outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
    try {
      this.transaction(() => {
        for (const unit of batch) {
          try {
            outcomes.push({ ok: true, value: this.transaction(unit.work) });
          } catch (error) {
            outcomes.push({ ok: false, error });
          }
        }
      });
    } catch (error) {
      // The commit itself failed (disk full, I/O error): nothing of the batch is in.
      for (const unit of batch) unit.reject(error);
      return;
    }
    batch.forEach((unit, index) => {
      const outcome = outcomes[index]!;
      if (outcome.ok) unit.resolve(outcome.value);
      else unit.reject(outcome.error);
    });
  }
}

interface Unit<T> {
  work: () => T;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}
