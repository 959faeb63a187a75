import {
  Inject,
  Injectable,
  Logger,
  Optional,
  type OnApplicationBootstrap,
  type OnModuleInit,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import type { Repository } from 'typeorm';
import { formatRevocationGeneration, parseRevocationGeneration, type RevocationGeneration } from '@jwt-ms/contracts';
import { REVOCATION_TTL_MARGIN_SECONDS } from '@jwt-ms/auth-jwt';
import { AUTH_SERVICE_CONFIG, type AuthServiceConfig } from '../auth-service.config';
import { RevocationGenerationRecord } from './revocation-generation.entity';
import { RevocationStore } from './revocation.store';

/** How often the marker is checked, in milliseconds. */
export const GENERATION_CHECK_INTERVAL_MS = 1000;

/** Injection token of the keeper's clock (milliseconds since the epoch); tests move one. */
export const GENERATION_CLOCK = Symbol('GENERATION_CLOCK');

/** What one {@link RevocationGenerationKeeper.reconcile} found and did. */
export type GenerationState =
  | { state: 'established'; id: string }
  | { state: 'waiting'; id: string; establishesAt: number }
  | { state: 'unknown' };

/**
 * Keeps the revocation list's generation marker (`REVOCATION_GENERATION_KEY`
 * in `@jwt-ms/contracts`), so that no verifier mistakes a list Redis lost for
 * an empty one. Once a second, and at start:
 * - marker established → nothing to do (its id is recorded in the database,
 *   and its covered token lifetime updated to this issuer's
 *   `ACCESS_TOKEN_TTL_SECONDS` if it differs);
 * - marker absent and no generation ever recorded in the database → a first
 *   start: established at once (no token can have been revoked before);
 * - marker absent (or unreadable) although one was recorded → **Redis lost the
 *   list**: an error is logged, and a marker with `established: false` is
 *   written, that says when the list will be established again. Verifiers
 *   treat the list as lost meanwhile (fail closed by default);
 * - marker waiting and its time reached → a new generation is established.
 *
 * The wait (`REVOCATION_LOSS_WAIT_SECONDS`, by default and at least in production) is one access-token lifetime plus {@link REVOCATION_TTL_MARGIN_SECONDS}
 * (the verifiers' clock tolerance) from the moment the loss was seen: a token
 * revoked before the loss was issued before it, so it has expired by then. A
 * second loss during the wait removes the waiting marker too, is seen the same
 * way, and starts the wait again. Writes are compare-and-set, so several issuer
 * replicas agree on one marker. The issuer cannot rebuild the list from its own
 * records (`jti` and watermark entries live only in Redis), so it always waits.
 */
@Injectable()
export class RevocationGenerationKeeper implements OnModuleInit, OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('RevocationGeneration');
  private timer?: NodeJS.Timeout;
  private last: GenerationState = { state: 'unknown' };
  private running: Promise<GenerationState> | null = null;
  private readonly now: () => number;

  constructor(
    private readonly store: RevocationStore,
    @InjectRepository(RevocationGenerationRecord) private readonly records: Repository<RevocationGenerationRecord>,
    @Inject(AUTH_SERVICE_CONFIG) private readonly config: AuthServiceConfig,
    @Optional() @Inject(GENERATION_CLOCK) now?: () => number,
  ) {
    this.now = now ?? Date.now;
  }

  /**
   * Reconciles once, before any bootstrap hook: this issuer's own revocation
   * view waits for an established list in its bootstrap, so a first start must
   * establish it before then.
   */
  async onModuleInit(): Promise<void> {
    await this.reconcile();
  }

  /** Then every second. */
  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.reconcile(), GENERATION_CHECK_INTERVAL_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** What the last {@link reconcile} found or did. */
  state(): GenerationState {
    return this.last;
  }

  /**
   * Reads the marker and acts on it (see the class). Redis or the database
   * unreachable: nothing changes, the next tick tries again.
   *
   * @returns what was found or done
   */
  reconcile(): Promise<GenerationState> {
    this.running ??= this.step()
      .catch((error: unknown) => {
        this.logger.warn(`cannot check the revocation list's generation: ${(error as Error).message}`);
        return { state: 'unknown' } as GenerationState;
      })
      .then((state) => (this.last = state))
      .finally(() => (this.running = null));
    return this.running;
  }

  private async step(): Promise<GenerationState> {
    const raw = await this.store.readGeneration();
    const current = parseRevocationGeneration(raw);
    const lifetime = this.config.ACCESS_TOKEN_TTL_SECONDS;
    if (current?.established) {
      await this.record(current.id);
      if (current.tokenLifetimeSeconds !== lifetime)
        await this.swap({ ...current, tokenLifetimeSeconds: lifetime }, raw);
      return { state: 'established', id: current.id };
    }
    if (current && current.establishesAt !== undefined) {
      if (this.now() < current.establishesAt)
        return { state: 'waiting', id: current.id, establishesAt: current.establishesAt };
      return this.establish(raw, 'the wait after the loss is over');
    }
    if ((await this.records.count()) === 0) return this.establish(raw, 'first start');
    const waitSeconds = this.config.REVOCATION_LOSS_WAIT_SECONDS ?? lifetime + REVOCATION_TTL_MARGIN_SECONDS;
    const establishesAt = this.now() + waitSeconds * 1000;
    const waiting: RevocationGeneration = {
      id: randomUUID(),
      established: false,
      tokenLifetimeSeconds: lifetime,
      establishesAt,
    };
    if (waitSeconds === 0) {
      this.logger.error(
        'Redis has lost the revocation list; REVOCATION_LOSS_WAIT_SECONDS=0, so it is established again at once: ' +
          'tokens revoked before the loss are accepted until they expire (development only)',
      );
      return this.establish(raw, 'after a loss, without waiting (REVOCATION_LOSS_WAIT_SECONDS=0)');
    }
    const stored = parseRevocationGeneration(await this.swap(waiting, raw));
    if (stored?.id === waiting.id) {
      this.logger.error(
        `Redis has lost the revocation list (its generation marker is gone): tokens revoked before the loss ` +
          `would be accepted again. Verifiers refuse tokens (fail closed) or answer from their own copy (fail open) ` +
          `until ${new Date(establishesAt).toISOString()}, when every such token has expired and the list is ` +
          `established again. Make Redis persist its data (docs/security.md).`,
      );
      return { state: 'waiting', id: waiting.id, establishesAt };
    }
    return { state: 'unknown' }; // another issuer replica acted first: the next tick reads its marker
  }

  private async establish(expected: string | null, why: string): Promise<GenerationState> {
    const next: RevocationGeneration = {
      id: randomUUID(),
      established: true,
      tokenLifetimeSeconds: this.config.ACCESS_TOKEN_TTL_SECONDS,
    };
    const stored = parseRevocationGeneration(await this.swap(next, expected));
    if (stored?.id !== next.id) return { state: 'unknown' };
    await this.record(next.id);
    this.logger.log(`revocation list established (generation ${next.id}): ${why}`);
    return { state: 'established', id: next.id };
  }

  private swap(next: RevocationGeneration, expected: string | null): Promise<string | null> {
    return this.store.replaceGeneration(formatRevocationGeneration(next), expected);
  }

  private async record(id: string): Promise<void> {
    if (!(await this.records.existsBy({ id }))) {
      await this.records.upsert({ id, establishedAt: new Date(this.now()) }, ['id']);
    }
  }
}
