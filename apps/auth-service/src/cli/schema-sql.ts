/**
 * `npm run schema-sql:auth`: prints the PostgreSQL DDL of auth-service's
 * entities, as TypeORM would create them, to start a hand-checked migration
 * (see `printSchemaSql` for the database it reads).
 */
import 'reflect-metadata';
import { printSchemaSql } from '@jwt-ms/service-core';
import { Account } from '../accounts/account.entity';
import { RevocationGenerationRecord } from '../revocation/revocation-generation.entity';
import { RefreshToken } from '../tokens/refresh-token.entity';

void printSchemaSql([Account, RefreshToken, RevocationGenerationRecord]);
