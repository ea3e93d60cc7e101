/**
 * Client addresses this process refuses without asking Redis, each until
 * its failure window ends: once Redis has said an address used up its
 * failed authentications, its further requests cost no Redis call here.
 * Bounded: when full, expired entries go first, then the oldest.
 */
export class BlockedAddresses {
  private readonly until = new Map<string, number>();

  constructor(private readonly capacity: number) {}

  /** Whole seconds until the address may try again, or undefined when it is not blocked. */
  secondsLeft(address: string, now = Date.now()): number | undefined {
    const until = this.until.get(address);
    if (until === undefined) return undefined;
    if (until <= now) {
      this.until.delete(address);
      return undefined;
    }
    return Math.ceil((until - now) / 1000);
  }

  block(address: string, msLeft: number, now = Date.now()): void {
    this.until.delete(address);
    if (this.until.size >= this.capacity) this.makeRoom(now);
    this.until.set(address, now + msLeft);
  }

  get size(): number {
    return this.until.size;
  }

  private makeRoom(now: number): void {
    for (const [address, until] of this.until) if (until <= now) this.until.delete(address);
    if (this.until.size >= this.capacity) this.until.delete(this.until.keys().next().value as string);
  }
}
