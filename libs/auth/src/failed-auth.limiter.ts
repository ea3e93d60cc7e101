import { Injectable, Logger } from '@nestjs/common';
import { RelayConfig } from '@relay/config';
import { RedisKeys } from '@relay/redis';
import { ApiKeyStore } from './api-key.store.js';
import { BlockedAddresses } from './blocked-addresses.js';
import { clientAddressKey } from './client-address.js';
import type { Principal } from './principal.js';

/** Addresses one process remembers as blocked; beyond it the oldest are forgotten (and cost a Redis call again). */
const BLOCKED_ADDRESSES_KEPT = 10_000;

/** The caller's principal; neither when the key does not verify; retryAfterSeconds when the address is over its limit. */
export interface Authentication {
  principal?: Principal;
  retryAfterSeconds?: number;
}

/**
 * Failed authentications per client address, counted in Redis so the limit
 * holds across API replicas (AUTH_FAILURES_MAX per AUTH_FAILURES_WINDOW_MS).
 * Checking a key and counting a failure take one round trip together; an
 * address over the limit is refused (429) until its window ends, whatever
 * key it sends, and this process then refuses it without asking Redis.
 */
@Injectable()
export class FailedAuthLimiter {
  private readonly logger = new Logger('FailedAuthLimiter');
  private readonly blocked = new BlockedAddresses(BLOCKED_ADDRESSES_KEPT);

  constructor(
    private readonly keys: ApiKeyStore,
    private readonly config: RelayConfig,
  ) {}

  /** The principal of the presented key; else, when the address is over its limit, the seconds until it may try again. */
  async authenticate(ip: string, presentedKey: string | undefined): Promise<Authentication> {
    const limit = this.config.AUTH_FAILURES_MAX;
    if (limit === 0) {
      const principal = presentedKey === undefined ? undefined : await this.keys.verify(presentedKey);
      return principal ? { principal } : {};
    }
    const address = clientAddressKey(ip);
    const secondsLeft = this.blocked.secondsLeft(address);
    if (secondsLeft !== undefined) return { retryAfterSeconds: secondsLeft };

    const result = await this.keys.verifyCountingFailures(presentedKey, {
      counterKey: RedisKeys.rateLimit(`auth-failures:${address}`),
      windowMs: this.config.AUTH_FAILURES_WINDOW_MS,
      limit,
    });
    if (result.outcome === 'verified') return { principal: result.principal };
    // A counter without a time to live (-1) would block for good; treat it as a full window.
    const msLeft = result.msLeft > 0 ? result.msLeft : this.config.AUTH_FAILURES_WINDOW_MS;
    if (result.failures >= limit) {
      if (result.outcome === 'failed') {
        this.logger.warn(`client ${address}: ${result.failures} failed authentications; refused for ${Math.ceil(msLeft / 1000)} s`);
      }
      this.blocked.block(address, msLeft);
    }
    return result.outcome === 'blocked' ? { retryAfterSeconds: Math.max(1, Math.ceil(msLeft / 1000)) } : {};
  }
}
