import { DataSource } from 'typeorm';
import type { UserPrincipal } from '@jwt-ms/auth-jwt';
import { testPrincipal } from '@jwt-ms/auth-jwt/testing';
import { databaseOptions } from '@jwt-ms/service-core';
import { Order, OrderItem } from './order.entity';
import { OrdersService } from './orders.service';

const principal = (roles: UserPrincipal['roles'] = ['user']): UserPrincipal => testPrincipal({ roles });

describe('OrdersService (embedded SQLite)', () => {
  let dataSource: DataSource;
  let service: OrdersService;
  const alice = principal();
  const bob = principal();
  const admin = principal(['user', 'admin']);

  beforeAll(async () => {
    dataSource = await new DataSource(
      databaseOptions({ sqlitePath: ':memory:', entities: [Order, OrderItem], migrations: [] }),
    ).initialize();
    service = new OrdersService(dataSource);
  });

  afterAll(() => dataSource.destroy());

  it('computes the total in integer cents and keeps item order', async () => {
    const order = await service.create(alice, [
      { sku: 'B', quantity: 3, unitPriceCents: 333 },
      { sku: 'A', quantity: 1, unitPriceCents: 1 },
    ]);
    expect(order).toMatchObject({ ownerId: alice.subject, status: 'placed', totalCents: 1000 });
    expect(order.items.map((item) => item.sku)).toEqual(['B', 'A']);
  });

  it("hides another user's order as not found, for reading and cancelling", async () => {
    const order = await service.create(alice, [{ sku: 'A', quantity: 1, unitPriceCents: 100 }]);
    await expect(service.get(bob, order.id)).rejects.toMatchObject({ code: 'not_found' });
    await expect(service.cancel(bob, order.id)).rejects.toMatchObject({ code: 'not_found' });
    expect((await service.get(alice, order.id)).status).toBe('placed');
    expect((await service.get(admin, order.id)).id).toBe(order.id);
  });

  it('cancels once; a second cancel is a conflict', async () => {
    const order = await service.create(alice, [{ sku: 'A', quantity: 1, unitPriceCents: 100 }]);
    expect((await service.cancel(alice, order.id)).status).toBe('cancelled');
    await expect(service.cancel(alice, order.id)).rejects.toMatchObject({ code: 'conflict' });
  });

  it('places 30 concurrent orders of one user, each whole, on the single SQLite connection', async () => {
    const buyer = principal();
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, index) =>
        service.create(buyer, [
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
