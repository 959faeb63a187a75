import { Controller, Get, Inject, Optional } from '@nestjs/common';
import {
  HealthCheck,
  HealthCheckService,
  HealthIndicatorService,
  TypeOrmHealthIndicator,
  type HealthCheckResult,
} from '@nestjs/terminus';
import { REDIS_CLIENT, type RedisClient } from '../redis/redis.module';
import { ApiOkResponse, ApiOperation } from '@nestjs/swagger';
import { Public } from '../public.decorator';
import { ApiProblemResponse } from '../openapi/problem-schema';
import { withTimeout } from '../async/with-timeout';
import { READINESS_PROBES, type ReadinessProbe } from './readiness-probe';

/** How long a readiness dependency may take to answer, in milliseconds. */
const READY_TIMEOUT_MS = 1000;

/**
 * Liveness and readiness probes (Kubernetes semantics): `live` says the
 * process answers; `ready` says it can serve, i.e. its database and Redis answer.
 * and every {@link ReadinessProbe} the app registers (the verifier's in-process
 * revocation list) is up. Not ready → 503 problem details with the
 * per-dependency results in `checks`.
 */
@Controller('health')
@Public()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: TypeOrmHealthIndicator,
    private readonly indicators: HealthIndicatorService,
    @Inject(REDIS_CLIENT) private readonly redis: RedisClient,
    @Optional() @Inject(READINESS_PROBES) private readonly probes: ReadinessProbe[] | null,
  ) {}

  /** `GET /health/live` → 200 `{status: "ok"}` while the event loop turns. */
  @Get('live')
  @ApiOperation({ summary: 'Liveness: the process answers' })
  @ApiOkResponse({
    schema: { type: 'object', properties: { status: { type: 'string', enum: ['ok'] } } },
    example: { status: 'ok' },
  })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /**
   * `GET /health/ready` → 200 when the database and Redis answer within 1000 ms
   * each and every registered {@link ReadinessProbe} is up, else 503.
   */
  @Get('ready')
  @ApiOperation({ summary: 'Readiness: the database, Redis and every readiness probe answer' })
  @ApiProblemResponse(503, ['dependency_unavailable'], 'Not ready: a dependency failed; `checks` has each result.')
  @HealthCheck()
  ready(): Promise<HealthCheckResult> {
    return this.health.check([
      () => this.database.pingCheck('database', { timeout: READY_TIMEOUT_MS }),
      async () => {
        const indicator = this.indicators.check('redis');
        try {
          await withTimeout(this.redis.ping(), READY_TIMEOUT_MS);
          return indicator.up();
        } catch {
          return indicator.down({ message: 'Redis does not answer' });
        }
      },
      ...(this.probes ?? []).map((probe) => async () => {
        const { up, details } = probe.probe();
        const indicator = this.indicators.check(probe.name);
        return up ? indicator.up(details) : indicator.down(details);
      }),
    ]);
  }
}
