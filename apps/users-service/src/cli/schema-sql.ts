/**
 * `npm run schema-sql:users`: prints the PostgreSQL DDL of users-service's
 * entities, as TypeORM would create them, to start a hand-checked migration
 * (see `printSchemaSql` for the database it reads).
 */
import 'reflect-metadata';
import { printSchemaSql } from '@jwt-ms/service-core';
import { Profile } from '../profiles/profile.entity';

void printSchemaSql([Profile]);
