/**
 * The floor the services' public path is held to (`npm run bench -- public`):
 * NestJS 11 on its Fastify adapter with nothing of this project's bootstrap
 * (no security headers, no hooks, no filter, no pipe, no guards), serving the
 * same route as the services' liveness probe, `GET /health/live` →
 * `{"status":"ok"}`.
 *
 * Environment: PORT (0: the kernel chooses). Prints `listening on http://…`.
 */
import 'reflect-metadata';
import { Controller, Get, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';

@Controller('health')
class BareHealthController {
  @Get('live')
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }
}

@Module({ controllers: [BareHealthController] })
class BareModule {}

async function main(): Promise<void> {
  const app = await NestFactory.create<NestFastifyApplication>(BareModule, new FastifyAdapter(), { logger: false });
  await app.listen(Number(process.env['PORT'] ?? 0), '127.0.0.1');
  process.stdout.write(`bare-nest listening on ${await app.getUrl()}\n`);
}

void main();
