import { Module, type DynamicModule } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuthJwtModule, WhoamiController, authJwtOptionsFromEnv, revocationStatusController } from '@jwt-ms/auth-jwt';
import { HealthModule, MetricsModule, OpenApiModule, databaseModuleOptions } from '@jwt-ms/service-core';
import type { UsersServiceConfig } from './users-service.config';
import { Profile } from './profiles/profile.entity';
import { ProfilesService } from './profiles/profiles.service';
import { UsersController } from './profiles/users.controller';
import { UsersSchema1764480000000 } from './migrations/1764480000000-users-schema';

/** The users resource service: profiles. Verifies tokens only through `@jwt-ms/auth-jwt`. */
@Module({})
export class UsersServiceModule {
  /** @param config validated configuration (see `loadUsersServiceConfig`) */
  static forRoot(config: UsersServiceConfig): DynamicModule {
    return {
      module: UsersServiceModule,
      imports: [
        TypeOrmModule.forRootAsync(
          databaseModuleOptions({
            url: config.DATABASE_URL,
            sqlitePath: config.SQLITE_PATH,
            entities: [Profile],
            migrations: [UsersSchema1764480000000],
          }),
        ),
        TypeOrmModule.forFeature([Profile]),
        AuthJwtModule.forRoot(authJwtOptionsFromEnv(config)),
        HealthModule,
        MetricsModule.forRoot({ enabled: config.METRICS === 'on' }),
        OpenApiModule.forRoot({
          title: 'users-service',
          description: 'User profiles. Every operation but the health probes needs an access token from auth-service.',
        }),
      ],
      controllers: [UsersController, WhoamiController, revocationStatusController('users')],
      providers: [ProfilesService],
    };
  }
}
