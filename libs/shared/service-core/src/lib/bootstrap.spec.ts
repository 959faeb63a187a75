import { Controller, Get, Module } from '@nestjs/common';
import { Agent, get } from 'node:http';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { createServiceApp } from './bootstrap';

/** Resolves when a request has reached the handler: the shutdown must begin with it in flight, however slow the machine. */
let handlerEntered: Promise<void>;
let enterHandler: () => void;
function expectRequest(): void {
  handlerEntered = new Promise((resolve) => (enterHandler = resolve));
}

@Controller()
class SlowController {
  /** Answers 300 ms after it was reached: a request in flight when the shutdown begins. */
  @Get('slow')
  async slow() {
    enterHandler();
    await sleep(300);
    return { done: true };
  }
}

@Module({ controllers: [SlowController] })
class SlowModule {}

/** Opens a connection and sends only part of a request's headers: a client that never finishes. */
function halfRequest(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write('GET /slow HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Half: ');
      resolve(socket);
    });
    socket.on('error', reject);
  });
}

describe('createServiceApp: shutdown', () => {
  it('finishes the requests in flight, then closes a connection that never completes its request', async () => {
    const drainMs = 1000;
    const app = await createServiceApp(SlowModule, { logger: false, shutdownDrainMs: drainMs });
    await app.listen(0, '127.0.0.1');
    const port = Number(new URL(await app.getUrl()).port);
    expectRequest();
    const stuck = await halfRequest(port);
    const stuckClosed = new Promise<void>((resolve) => stuck.on('close', () => resolve()));
    const inFlight = fetch(`http://127.0.0.1:${port}/slow`).then(async (response) => ({
      status: response.status,
      body: await response.json(),
    }));
    await handlerEntered;

    const started = Date.now();
    await app.close();
    const tookMs = Date.now() - started;

    await expect(inFlight).resolves.toEqual({ status: 200, body: { done: true } });
    await stuckClosed;
    // Not before the deadline (the drain is real), not much after it (the stuck client does not hold it).
    expect(tookMs).toBeGreaterThanOrEqual(drainMs - 50);
    expect(tookMs).toBeLessThan(drainMs + 2000);
  });

  it('answers the requests in flight with Connection: close, so a keep-alive client does not hold the close', async () => {
    const drainMs = 5000;
    const app = await createServiceApp(SlowModule, { logger: false, shutdownDrainMs: drainMs });
    await app.listen(0, '127.0.0.1');
    const port = Number(new URL(await app.getUrl()).port);
    const agent = new Agent({ keepAlive: true });
    expectRequest();
    const inFlight = new Promise<{ status?: number; connection?: string }>((resolve, reject) => {
      get({ host: '127.0.0.1', port, path: '/slow', agent }, (response) => {
        response.resume();
        response.on('end', () => resolve({ status: response.statusCode, connection: response.headers.connection }));
      }).on('error', reject);
    });
    await handlerEntered;

    const started = Date.now();
    await app.close();
    const tookMs = Date.now() - started;

    await expect(inFlight).resolves.toEqual({ status: 200, connection: 'close' });
    expect(tookMs).toBeLessThan(drainMs / 2); // the connection went with its last answer, not at the deadline
    agent.destroy();
  });
});
