import {
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  OneToMany,
  PrimaryColumn,
  UpdateDateColumn,
} from 'typeorm';

/** `placed` until cancelled; cancelled is final. */
export type OrderStatus = 'placed' | 'cancelled';

/** An order. Money is integer cents, never floating point. */
@Entity({ name: 'orders' })
export class Order {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  /** The token `sub` of the user who placed it. */
  @Index()
  @Column({ name: 'owner_id', type: 'varchar', length: 36 })
  ownerId!: string;

  /**
   * The customer's display name when the order was placed, read from users-service on their
   * behalf (RFC 8693 token exchange); null when they had none. A copy: a later rename does not
   * change past orders, as on an invoice.
   */
  @Column({ name: 'customer_name', type: 'varchar', length: 100, nullable: true })
  customerName!: string | null;

  @Column({ type: 'varchar', length: 16 })
  status!: OrderStatus;

  /** Sum of the items' quantity × unit price, in cents. */
  @Column({ name: 'total_cents', type: 'integer' })
  totalCents!: number;

  @OneToMany(() => OrderItem, (item) => item.order, { cascade: ['insert'], eager: true })
  items!: OrderItem[];

  @CreateDateColumn({ name: 'created_at' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at' })
  updatedAt!: Date;
}

/** One line of an order. */
@Entity({ name: 'order_items' })
export class OrderItem {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Index()
  @ManyToOne(() => Order, (order) => order.items, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn({ name: 'order_id' })
  order!: Order;

  /** Position in the order, from 0, so items come back in the order they were sent. */
  @Column({ type: 'integer' })
  position!: number;

  @Column({ type: 'varchar', length: 64 })
  sku!: string;

  @Column({ type: 'integer' })
  quantity!: number;

  @Column({ name: 'unit_price_cents', type: 'integer' })
  unitPriceCents!: number;
}
