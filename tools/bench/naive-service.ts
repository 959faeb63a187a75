/**
 * The naive design, for comparison only (`npm run bench`): the same NestJS on
 * Fastify bootstrap as the real services, but each request runs jose's
 * `jwtVerify` against the issuer's JWKS and then asks Redis whether the token
 * is revoked (one HGET per request). No header checks, no verified-token cache,
 * no in-process revocation list: what a first implementation usually is.
 *
 * Environment: PORT, AUTH_ISSUER, AUTH_AUDIENCE, AUTH_JWKS_URI, AUTH_ALGORITHMS, REDIS_URL.
 */
import 'reflect-metadata';
import {
  Controller,
  Get,
  Inject,
  Injectable,
  Module,
  UnauthorizedException,
  UseGuards,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import { REDIS_CLIENT, RedisModule, createServiceApp, type RedisClient } from '@jwt-ms/service-core';
import { REVOCATION_ENTRIES_KEY, revocationField } from '@jwt-ms/contracts';

const env = (name: string, fallback?: string): string => {
  const value = process.env[name] ?? fallback;
  if (value === undefined) throw new Error(`${name} is required`);
  return value;
};

@Injectable()
class NaiveGuard implements CanActivate {
  private readonly jwks = createRemoteJWKSet(new URL(env('AUTH_JWKS_URI')));
  private readonly options = {
    issuer: env('AUTH_ISSUER'),
    audience: env('AUTH_AUDIENCE', 'users-service'),
    algorithms: env('AUTH_ALGORITHMS', 'ES256').split(','),
  };

  constructor(@Inject(REDIS_CLIENT) private readonly redis: RedisClient) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<{ headers: Record<string, string>; user?: JWTPayload }>();
    const token = /^Bearer (.+)$/.exec(request.headers['authorization'] ?? '')?.[1];
    if (!token) throw new UnauthorizedException();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.jwks, this.options));
    } catch {
      throw new UnauthorizedException();
    }
    if ((await this.redis.hGet(REVOCATION_ENTRIES_KEY, revocationField('token', String(payload.jti)))) !== null)
      throw new UnauthorizedException();
    request.user = payload;
    return true;
  }
}

@Controller()
class NaiveController {
  @Get('whoami')
  @UseGuards(NaiveGuard)
  whoami(): { ok: true } {
    return { ok: true };
  }

  @Get('health/live')
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }
}

@Module({
  imports: [RedisModule.forRoot({ url: env('REDIS_URL', 'redis://127.0.0.1:6379') })],
  controllers: [NaiveController],
  providers: [NaiveGuard],
})
class NaiveModule {}

async function main(): Promise<void> {
  const app = await createServiceApp(NaiveModule, { logger: ['error', 'warn'] });
  await app.listen(Number(env('PORT', '0')), '127.0.0.1');
  process.stdout.write(`naive-service listening on ${await app.getUrl()}\n`);
}

void main();
