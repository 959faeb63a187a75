import { Logger } from '@nestjs/common';
import { RevocationUnavailableError, type RevocationFailurePolicy } from './revocation';

/** What readiness (`revocation-list` in `GET /health/ready`) reports: nothing about the list's contents. */
export interface RevocationReadiness {
  up: boolean;
  details: {
    fresh: boolean;
    loaded: boolean;
    lost: boolean;
    /** Whether entries were refused for the memory bound (`revocationMaxEntries`): the copy is incomplete. */
    full: boolean;
    /** Milliseconds since the instant the copy is known complete as of; null before the first full read. */
    stalenessMs: number | null;
    maxStalenessMs: number;
    policy: RevocationFailurePolicy;
  };
}

/**
 * Whether this process's copy of the revocation list may be trusted, and
 * what to do when it may not. Holds no entries and does no I/O:
 * {@link RevocationSync} reports what it observed (a full read, a PONG, a
 * lost list), and this class turns it into answers.
 *
 * - **Fresh**: every revocation made before `freshAsOf` is in the copy; the
 *   copy is stale once that instant is more than `maxStalenessMs` old.
 * - **Loaded**: a full read has succeeded at least once.
 * - **Lost**: the generation marker in Redis is gone, not established, or
 *   replaced; a loss is counted once, until the issuer establishes a new generation.
 * - **Full**: the list refused an entry at its memory bound, so the copy
 *   lacks a revocation; until a full read fits again. A replica that stops
 *   growing and says why, rather than one the kernel kills in a loop.
 *
 * Policy (see {@link RevocationFailurePolicy}): a copy never loaded refuses
 * every token whatever the policy (there is no last copy); under
 * `fail-closed` a stale, lost or full copy refuses too; under `fail-open` it
 * answers, and readiness still reports the staleness. All times are on the
 * monotonic clock, in milliseconds.
 */
export class RevocationFreshness {
  private readonly logger = new Logger('RevocationView');
  /** Every revocation completed before this instant (monotonic ms) is in the copy; -Infinity: never loaded. */
  private freshAsOf = Number.NEGATIVE_INFINITY;
  private loaded = false;
  /** Since when the list is lost (monotonic ms), or null. */
  private lostSince: number | null = null;
  private lostCount = 0;
  /** The memory bound an entry was refused at, or null while every entry fits. */
  private fullAt: number | null = null;
  private reportedStale = false;
  /** Why the last full read failed ('' after a success): said when the copy turns stale. */
  lastReadError = '';

  /**
   * @param maxStalenessMs the staleness bound, in milliseconds
   * @param policy what a stale or lost copy does
   * @param monotonicMs the clock, monotonic milliseconds (injectable for tests)
   */
  constructor(
    readonly maxStalenessMs: number,
    readonly policy: RevocationFailurePolicy,
    private readonly monotonicMs: () => number = () => performance.now(),
  ) {}

  /**
   * Called before every check of a token: refuses when the copy may not be used.
   * Logs once when the copy turns stale (and once when it is fresh again).
   *
   * @throws RevocationUnavailableError when never loaded; under `fail-closed` also when stale, lost or full
   */
  assertUsable(): void {
    const now = this.monotonicMs();
    if (now - this.freshAsOf > this.maxStalenessMs) this.onStale(now);
    if (this.policy !== 'fail-closed') return;
    if (this.lostSince !== null) throw new RevocationUnavailableError(new Error('revocation list lost'));
    if (this.fullAt !== null) throw new RevocationUnavailableError(new Error('revocation list over its memory bound'));
  }

  /** Whether an entry was refused at the memory bound since the last full read that fitted. */
  isFull(): boolean {
    return this.fullAt !== null;
  }

  /**
   * Records that the list refused an entry at its memory bound (logged once, as an error, until it fits again).
   *
   * @param maxEntries the bound, in entries
   */
  markOverflow(maxEntries: number): void {
    if (this.fullAt !== null) return;
    this.fullAt = maxEntries;
    this.logger.error(
      `revocation list reached its bound of ${maxEntries} entries (REVOCATION_MAX_ENTRIES): revocations past it are ` +
        'not held; ' +
        (this.policy === 'fail-closed'
          ? 'refusing every token (fail closed) until entries expire and a full read fits'
          : 'answering without them (fail open)') +
        '. Raise the bound and the memory limit together (docs/scaling.md)',
    );
  }

  /** Records a full read during which every entry fitted: the copy is complete again. */
  clearOverflow(): void {
    if (this.fullAt === null) return;
    this.fullAt = null;
    this.logger.log('revocation list fits its memory bound again');
  }

  /** Whether every revocation made up to `maxStalenessMs` ago is known. */
  isFresh(): boolean {
    return this.monotonicMs() - this.freshAsOf <= this.maxStalenessMs;
  }

  /** Whether a full read has ever succeeded. */
  isLoaded(): boolean {
    return this.loaded;
  }

  /** Whether the list is lost now (see the class). */
  isLost(): boolean {
    return this.lostSince !== null;
  }

  /** How many times the list was found lost. */
  losses(): number {
    return this.lostCount;
  }

  /** The current monotonic time, in milliseconds, on the clock every other method uses. */
  now(): number {
    return this.monotonicMs();
  }

  /**
   * Records a successful full read that began at `asOf`.
   *
   * @param asOf monotonic ms when the read began: the copy holds every revocation made before it
   */
  markLoaded(asOf: number): void {
    this.loaded = true;
    this.lastReadError = '';
    this.markFresh(asOf);
  }

  /**
   * Records that every revocation made before `asOf` is in the copy (a PONG,
   * a full read). Freshness never moves backwards.
   *
   * @param asOf monotonic ms
   */
  markFresh(asOf: number): void {
    if (asOf <= this.freshAsOf) return;
    this.freshAsOf = asOf;
    if (this.reportedStale) {
      this.reportedStale = false;
      this.logger.log('revocation list fresh again');
    }
  }

  /**
   * Records that the list in Redis is lost (counted once per loss, logged as an error).
   *
   * @param why how the generation marker showed it, e.g. `gone`
   */
  markLost(why: string): void {
    if (this.lostSince !== null) return;
    this.lostSince = this.monotonicMs();
    this.lostCount += 1;
    this.logger.error(
      `revocation list lost in Redis (generation marker ${why}): tokens revoked before the loss could be accepted; ` +
        (this.policy === 'fail-closed'
          ? 'refusing every token (fail closed) until the issuer re-establishes it'
          : "answering from this replica's own copy (fail open)"),
    );
  }

  /**
   * Records that an established generation was read in full: a loss, if any, is over.
   *
   * @param generationId the generation's id, for the log
   */
  markEstablished(generationId: string): void {
    if (this.lostSince === null) return;
    this.logger.log(
      `revocation list re-established by the issuer (generation ${generationId}) after ` +
        `${Math.round((this.monotonicMs() - this.lostSince) / 1000)} s`,
    );
    this.lostSince = null;
  }

  /** Milliseconds since the newest proof that the copy is complete; null before the first full read. */
  stalenessMs(): number | null {
    return this.loaded ? this.monotonicMs() - this.freshAsOf : null;
  }

  /**
   * Readiness: down when never loaded, and under `fail-closed` when stale,
   * lost or full. The route is public, so the details say nothing about the list's contents.
   */
  probe(): RevocationReadiness {
    const stalenessMs = this.monotonicMs() - this.freshAsOf;
    const fresh = stalenessMs <= this.maxStalenessMs;
    const lost = this.lostSince !== null;
    const full = this.fullAt !== null;
    const usable = this.loaded && ((fresh && !lost && !full) || this.policy === 'fail-open');
    return {
      up: usable,
      details: {
        fresh,
        loaded: this.loaded,
        lost,
        full,
        stalenessMs: this.loaded ? Math.round(stalenessMs) : null,
        maxStalenessMs: this.maxStalenessMs,
        policy: this.policy,
      },
    };
  }

  private onStale(now: number): void {
    const failClosed = this.policy === 'fail-closed' || !this.loaded;
    if (!this.reportedStale) {
      this.reportedStale = true;
      this.logger.warn(
        `revocation list is ${this.loaded ? `${Math.round(now - this.freshAsOf)} ms old` : 'not loaded'} ` +
          `(bound ${this.maxStalenessMs} ms): ${failClosed ? 'refusing every token (fail closed)' : 'answering from the last copy (fail open)'}` +
          (this.lastReadError ? `; last read failed: ${this.lastReadError}` : ''),
      );
    }
    if (failClosed) throw new RevocationUnavailableError(new Error('revocation list stale'));
  }
}
