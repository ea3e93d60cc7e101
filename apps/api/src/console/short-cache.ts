/**
 * One value computed at most once per `ttlMs`, shared by every caller of
 * the process: concurrent callers wait for the same computation (single
 * flight), and a failure is not kept, so the next caller tries again. The
 * console's reads walk whole structures (a keyspace SCAN, the retry and
 * dead-letter lists), so however many operators poll, Redis pays once per
 * interval.
 */
export class ShortCache<T> {
  private value?: { at: number; data: T };
  private pending?: Promise<T>;

  constructor(
    private readonly ttlMs: number,
    private readonly compute: () => Promise<T>,
    private readonly now: () => number = Date.now,
  ) {}

  get(): Promise<T> {
    if (this.value && this.now() - this.value.at < this.ttlMs) return Promise.resolve(this.value.data);
    this.pending ??= this.compute()
      .then((data) => {
        this.value = { at: this.now(), data };
        return data;
      })
      .finally(() => {
        this.pending = undefined;
      });
    return this.pending;
  }
}
