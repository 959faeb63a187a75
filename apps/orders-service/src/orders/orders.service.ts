import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource, type FindOptionsWhere } from 'typeorm';
import { isAdmin, type UserPrincipal } from '@jwt-ms/auth-jwt';
import { ProblemException, inTransaction, notFound, type Page } from '@jwt-ms/service-core';
import { Order, OrderItem } from './order.entity';
import type { OrderItemDto, OrderView, PlacedOrderView } from './order.dto';
import { CustomerDirectory } from '../customers/customer-directory';

/**
 * Orders. A user sees and changes only their own; an admin sees all. An order
 * someone may not see is reported as not found, so ids don't leak.
 */
@Injectable()
export class OrdersService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly customers: CustomerDirectory,
  ) {}

  /**
   * Places an order for the caller, stamped with their display name from users-service. The call
   * comes first and the order and its items are then written in one transaction, so a failed or
   * slow call leaves nothing written, and no transaction is held open across the network.
   *
   * @param subjectToken the caller's access token, exchanged for the users call (RFC 8693)
   * @param options `explainExchange`: the answer also carries `exchange` ({@link CustomerDirectory.lookUp})
   * @returns the order as {@link get} shows it, plus `exchange` when asked
   * @throws ProblemException 401 / 503 from {@link CustomerDirectory.lookUp}
   */
  async create(
    principal: UserPrincipal,
    subjectToken: string,
    items: OrderItemDto[],
    options: { explainExchange?: boolean } = {},
  ): Promise<PlacedOrderView> {
    const { displayName: customerName, ...explained } = await this.customers.lookUp(principal, subjectToken, options);
    const id = randomUUID();
    const totalCents = items.reduce((sum, item) => sum + item.quantity * item.unitPriceCents, 0);
    await inTransaction(this.dataSource, async (manager) => {
      await manager.insert(Order, { id, ownerId: principal.subject, customerName, status: 'placed', totalCents });
      await manager.insert(
        OrderItem,
        items.map((item, position) => ({ id: randomUUID(), order: { id }, position, ...item })),
      );
    });
    return { ...(await this.get(principal, id)), ...explained };
  }

  /** The caller's orders, newest first; all orders for an admin. */
  async list(principal: UserPrincipal, limit: number, offset: number): Promise<Page<OrderView>> {
    const where: FindOptionsWhere<Order> = isAdmin(principal) ? {} : { ownerId: principal.subject };
    const [orders, total] = await this.dataSource.getRepository(Order).findAndCount({
      where,
      order: { createdAt: 'DESC', id: 'ASC' },
      take: limit,
      skip: offset,
    });
    return { items: orders.map(view), total, limit, offset };
  }

  /**
   * @throws ProblemException 404 when the order does not exist or is not the caller's (and the caller is no admin)
   */
  async get(principal: UserPrincipal, id: string): Promise<OrderView> {
    return view(await this.find(principal, id));
  }

  /**
   * Cancels a placed order.
   *
   * @throws ProblemException 404 as {@link get}; 409 `conflict` when it is already cancelled
   */
  async cancel(principal: UserPrincipal, id: string): Promise<OrderView> {
    const order = await this.find(principal, id);
    const result = await this.dataSource
      .getRepository(Order)
      .update({ id: order.id, status: 'placed' }, { status: 'cancelled' });
    if (result.affected !== 1) {
      throw new ProblemException({ status: 409, code: 'conflict', detail: 'The order is already cancelled.' });
    }
    return this.get(principal, id);
  }

  private async find(principal: UserPrincipal, id: string): Promise<Order> {
    const order = await this.dataSource.getRepository(Order).findOne({ where: { id } });
    if (!order || (order.ownerId !== principal.subject && !isAdmin(principal))) throw notFound('order');
    return order;
  }
}

function view(order: Order): OrderView {
  return {
    id: order.id,
    ownerId: order.ownerId,
    customerName: order.customerName,
    status: order.status,
    totalCents: order.totalCents,
    items: [...order.items]
      .sort((a, b) => a.position - b.position)
      .map(({ sku, quantity, unitPriceCents }) => ({ sku, quantity, unitPriceCents })),
    createdAt: order.createdAt.toISOString(),
    updatedAt: order.updatedAt.toISOString(),
  };
}
