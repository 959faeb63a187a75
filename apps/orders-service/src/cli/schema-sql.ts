/**
 * `npm run schema-sql:orders`: prints the PostgreSQL DDL of orders-service's
 * entities, as TypeORM would create them, to start a hand-checked migration
 * (see `printSchemaSql` for the database it reads).
 */
import 'reflect-metadata';
import { printSchemaSql } from '@jwt-ms/service-core';
import { Order, OrderItem } from '../orders/order.entity';

void printSchemaSql([Order, OrderItem]);
