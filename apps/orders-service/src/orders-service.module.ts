import { Module, type DynamicModule } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import {
  AuthJwtModule,
  TokenExchangeClient,
  WhoamiController,
  authJwtOptionsFromEnv,
  revocationStatusController,
} from '@jwt-ms/auth-jwt';
import { HealthModule, MetricsModule, OpenApiModule, databaseModuleOptions } from '@jwt-ms/service-core';
import { ORDERS_SERVICE_CONFIG, type OrdersServiceConfig } from './orders-service.config';
import { CustomerDirectory } from './customers/customer-directory';
import { Order, OrderItem } from './orders/order.entity';
import { OrdersController } from './orders/orders.controller';
import { OrdersService } from './orders/orders.service';
import { OrdersSchema1764480000000 } from './migrations/1764480000000-orders-schema';
import { OrderCustomerName1764530000000 } from './migrations/1764530000000-order-customer-name';

/**
 * The orders resource service. Verifies tokens only through `@jwt-ms/auth-jwt`;
 * calls users-service on the customer's behalf when an order is placed ({@link CustomerDirectory}).
 */
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
            migrations: [OrdersSchema1764480000000, OrderCustomerName1764530000000],
          }),
        ),
        AuthJwtModule.forRoot(authJwtOptionsFromEnv(config)),
        HealthModule,
        MetricsModule.forRoot({ enabled: config.METRICS === 'on' }),
        OpenApiModule.forRoot({
          title: 'orders-service',
          description: 'Orders. Every operation but the health probes needs an access token from auth-service.',
        }),
      ],
      controllers: [OrdersController, WhoamiController, revocationStatusController('orders')],
      providers: [
        OrdersService,
        CustomerDirectory,
        { provide: ORDERS_SERVICE_CONFIG, useValue: config },
        {
          provide: TokenExchangeClient,
          useValue: new TokenExchangeClient({
            tokenEndpoint: config.AUTH_TOKEN_ENDPOINT,
            clientId: config.OAUTH_CLIENT_ID,
            clientSecret: config.OAUTH_CLIENT_SECRET,
          }),
        },
      ],
    };
  }
}
