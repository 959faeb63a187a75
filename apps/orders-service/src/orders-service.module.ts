import { Module, type DynamicModule } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuthJwtModule, WhoamiController, authJwtOptionsFromEnv } from '@jwt-ms/auth-jwt';
import { HealthModule, databaseModuleOptions } from '@jwt-ms/service-core';
import type { OrdersServiceConfig } from './orders-service.config';
import { Order, OrderItem } from './orders/order.entity';
import { OrdersController } from './orders/orders.controller';
import { OrdersService } from './orders/orders.service';
import { OrdersSchema1764480000000 } from './migrations/1764480000000-orders-schema';

/** The orders resource service. Verifies tokens only through `@jwt-ms/auth-jwt`. */
@Module({})
export class OrdersServiceModule {
  /** @param config validated configuration (see `loadOrdersServiceConfig`) */
  static forRoot(config: OrdersServiceConfig): DynamicModule {
    return {
      module: OrdersServiceModule,
      imports: [
        TypeOrmModule.forRootAsync(
          databaseModuleOptions({
            url: config.DATABASE_URL,
            sqlitePath: config.SQLITE_PATH,
            entities: [Order, OrderItem],
            migrations: [OrdersSchema1764480000000],
          }),
        ),
        AuthJwtModule.forRoot(authJwtOptionsFromEnv(config)),
        HealthModule,
      ],
      controllers: [OrdersController, WhoamiController],
      providers: [OrdersService],
    };
  }
}
