import { DataSource } from 'typeorm';
import type { UserPrincipal } from '@jwt-ms/auth-jwt';
import { testPrincipal } from '@jwt-ms/auth-jwt/testing';
import { ProblemException, databaseOptions } from '@jwt-ms/service-core';
import type { CustomerDirectory, CustomerLookup } from '../customers/customer-directory';
import { Order, OrderItem } from './order.entity';
import { OrdersService } from './orders.service';

const principal = (roles: UserPrincipal['roles'] = ['user']): UserPrincipal => testPrincipal({ roles });

/**
 * The directory's contract without the network (its HTTP side is tested end to end in
 * system-e2e/orders-downstream): each customer's name by subject, or a refusal.
 */
class NamesBySubject {
  readonly names = new Map<string, string | null>();
  failure: ProblemException | null = null;
  async lookUp(
    customer: UserPrincipal,
    subjectToken: string,
    options: { explainExchange?: boolean } = {},
  ): Promise<CustomerLookup> {
    if (subjectToken !== `token of ${customer.subject}`) throw new Error('the wrong subject token was passed on');
    if (this.failure) throw this.failure;
    const displayName = this.names.get(customer.subject) ?? null;
    if (!options.explainExchange) return { displayName };
    return {
      displayName,
      exchange: {
        header: { alg: 'ES256', typ: 'at+jwt' },
        claims: { sub: customer.subject, act: { sub: 'orders-service' } },
        audience: 'users-service',
        scope: 'profile:read',
      },
    };
  }
}
const tokenOf = (customer: UserPrincipal) => `token of ${customer.subject}`;

describe('OrdersService (embedded SQLite)', () => {
  let dataSource: DataSource;
  let service: OrdersService;
  const directory = new NamesBySubject();
  const alice = principal();
  const bob = principal();
  const admin = principal(['user', 'admin']);

  beforeAll(async () => {
    dataSource = await new DataSource(
      databaseOptions({ sqlitePath: ':memory:', entities: [Order, OrderItem], migrations: [] }),
    ).initialize();
    service = new OrdersService(dataSource, directory as unknown as CustomerDirectory);
  });

  afterAll(() => dataSource.destroy());

  it('computes the total in integer cents and keeps item order', async () => {
    const order = await service.create(alice, tokenOf(alice), [
      { sku: 'B', quantity: 3, unitPriceCents: 333 },
      { sku: 'A', quantity: 1, unitPriceCents: 1 },
    ]);
    expect(order).toMatchObject({ ownerId: alice.subject, status: 'placed', totalCents: 1000 });
    expect(order.items.map((item) => item.sku)).toEqual(['B', 'A']);
  });

  it("stamps the order with the customer's display name, or null without one", async () => {
    const named = principal();
    directory.names.set(named.subject, 'Ada Lovelace');
    expect(
      (await service.create(named, tokenOf(named), [{ sku: 'A', quantity: 1, unitPriceCents: 1 }])).customerName,
    ).toBe('Ada Lovelace');
    expect(
      (await service.create(alice, tokenOf(alice), [{ sku: 'A', quantity: 1, unitPriceCents: 1 }])).customerName,
    ).toBeNull();
  });

  it('adds the exchange view to the placed order only when asked, and stores nothing of it', async () => {
    const buyer = principal();
    const items = [{ sku: 'A', quantity: 1, unitPriceCents: 1 }];
    const plain = await service.create(buyer, tokenOf(buyer), items);
    expect('exchange' in plain).toBe(false);
    const explained = await service.create(buyer, tokenOf(buyer), items, { explainExchange: true });
    const { exchange, ...order } = explained;
    expect(exchange).toMatchObject({ claims: { sub: buyer.subject, act: { sub: 'orders-service' } } });
    expect(await service.get(buyer, explained.id)).toEqual(order);
  });

  it('writes nothing when the users call fails', async () => {
    const buyer = principal();
    const itemsBefore = await dataSource.getRepository(OrderItem).count();
    directory.failure = new ProblemException({ status: 503, code: 'dependency_unavailable', detail: 'down' });
    try {
      await expect(service.create(buyer, tokenOf(buyer), [{ sku: 'A', quantity: 1, unitPriceCents: 1 }])).rejects.toBe(
        directory.failure,
      );
    } finally {
      directory.failure = null;
    }
    expect((await service.list(buyer, 100, 0)).total).toBe(0);
    expect(await dataSource.getRepository(OrderItem).count()).toBe(itemsBefore);
  });

  it("hides another user's order as not found, for reading and cancelling", async () => {
    const order = await service.create(alice, tokenOf(alice), [{ sku: 'A', quantity: 1, unitPriceCents: 100 }]);
    await expect(service.get(bob, order.id)).rejects.toMatchObject({ code: 'not_found' });
    await expect(service.cancel(bob, order.id)).rejects.toMatchObject({ code: 'not_found' });
    expect((await service.get(alice, order.id)).status).toBe('placed');
    expect((await service.get(admin, order.id)).id).toBe(order.id);
  });

  it('cancels once; a second cancel is a conflict', async () => {
    const order = await service.create(alice, tokenOf(alice), [{ sku: 'A', quantity: 1, unitPriceCents: 100 }]);
    expect((await service.cancel(alice, order.id)).status).toBe('cancelled');
    await expect(service.cancel(alice, order.id)).rejects.toMatchObject({ code: 'conflict' });
  });

  it('places 30 concurrent orders of one user, each whole, on the single SQLite connection', async () => {
    const buyer = principal();
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, index) =>
        service.create(buyer, tokenOf(buyer), [
          { sku: 'A', quantity: 1, unitPriceCents: index },
          { sku: 'B', quantity: 2, unitPriceCents: 100 },
        ]),
      ),
    );
    expect(results.map((order) => order.totalCents).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 30 }, (_, index) => index + 200),
    );
    const listed = await service.list(buyer, 100, 0);
    expect(listed.total).toBe(30);
    expect(listed.items.every((order) => order.items.length === 2)).toBe(true);
  });

  it('lists own orders for a user and all orders for an admin', async () => {
    const own = await service.list(alice, 100, 0);
    expect(own.items.every((order) => order.ownerId === alice.subject)).toBe(true);
    expect((await service.list(bob, 100, 0)).total).toBe(0);
    expect((await service.list(admin, 100, 0)).total).toBe(await dataSource.getRepository(Order).count());
    expect(own.total).toBeGreaterThan(0);
  });
});
