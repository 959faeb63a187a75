import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import * as argon2 from 'argon2';
import { randomUUID } from 'node:crypto';
import { QueryFailedError, Repository } from 'typeorm';
import { ROLE_ADMIN, ROLE_USER } from '@jwt-ms/contracts';
import { ProblemException } from '@jwt-ms/service-core';
import { AUTH_SERVICE_CONFIG, type AuthServiceConfig } from '../auth-service.config';
import { Account } from './account.entity';

/** argon2id with the library's defaults (m = 64 MiB, t = 3, p = 4), the OWASP-recommended family. */
const HASH_OPTIONS = { type: argon2.argon2id } as const;

/**
 * Normalises an email for storage and lookup: Unicode NFC (so precomposed and
 * decomposed spellings are one address), trimmed, lower-cased.
 */
export function normaliseEmail(email: string): string {
  return email.normalize('NFC').trim().toLowerCase();
}

/**
 * Accounts and their passwords (argon2id). Login answers the same, in about
 * the same time, whether or not the email exists: an unknown email is checked
 * against a dummy hash.
 */
@Injectable()
export class AccountsService implements OnApplicationBootstrap {
  private readonly logger = new Logger('Accounts');
  private dummyHash?: Promise<string>;

  constructor(
    @InjectRepository(Account) private readonly accounts: Repository<Account>,
    @Inject(AUTH_SERVICE_CONFIG) private readonly config: AuthServiceConfig,
  ) {}

  /** Ensures the configured admin account exists (ADMIN_EMAIL / ADMIN_PASSWORD). */
  async onApplicationBootstrap(): Promise<void> {
    this.dummyHash = argon2.hash(randomUUID(), HASH_OPTIONS);
    const { ADMIN_EMAIL: email, ADMIN_PASSWORD: password } = this.config;
    if (!email || !password) return;
    const existing = await this.accounts.findOne({ where: { email: normaliseEmail(email) } });
    if (existing) {
      if (!existing.roles.includes(ROLE_ADMIN)) {
        await this.accounts.update({ id: existing.id }, { roles: [...existing.roles, ROLE_ADMIN] });
        this.logger.log(`granted the admin role to the configured ADMIN_EMAIL account`);
      }
      return;
    }
    await this.create(email, password, [ROLE_USER, ROLE_ADMIN]);
    this.logger.log(`created the admin account from ADMIN_EMAIL`);
  }

  /**
   * Registers an account with the `user` role.
   *
   * @returns the new account
   * @throws ProblemException 409 `email_taken` when the email is registered
   */
  async register(email: string, password: string): Promise<Account> {
    return this.create(email, password, [ROLE_USER]);
  }

  /**
   * @returns the account when email and password match, otherwise null (never says which was wrong)
   */
  async verifyCredentials(email: string, password: string): Promise<Account | null> {
    const account = await this.accounts.findOne({ where: { email: normaliseEmail(email) } });
    if (!account) {
      await argon2.verify(await this.dummy(), password).catch(() => false);
      return null;
    }
    return (await this.passwordMatches(account, password)) ? account : null;
  }

  /** @returns true when `password` is the account's password */
  passwordMatches(account: Account, password: string): Promise<boolean> {
    return argon2.verify(account.passwordHash, password).catch(() => false);
  }

  /** Replaces the account's password hash (argon2id). */
  async setPassword(accountId: string, password: string): Promise<void> {
    await this.accounts.update({ id: accountId }, { passwordHash: await argon2.hash(password, HASH_OPTIONS) });
  }

  /** Deletes the account. */
  async delete(accountId: string): Promise<void> {
    await this.accounts.delete({ id: accountId });
  }

  /** @returns the account, or null when it does not exist (any more) */
  findById(id: string): Promise<Account | null> {
    return this.accounts.findOne({ where: { id } });
  }

  private async create(email: string, password: string, roles: Account['roles']): Promise<Account> {
    const account = this.accounts.create({
      id: randomUUID(),
      email: normaliseEmail(email),
      passwordHash: await argon2.hash(password, HASH_OPTIONS),
      roles,
    });
    try {
      await this.accounts.insert(account);
    } catch (error) {
      if (error instanceof QueryFailedError && /unique|duplicate/i.test(error.message)) {
        throw new ProblemException({
          status: 409,
          code: 'email_taken',
          detail: 'An account with this email already exists.',
        });
      }
      throw error;
    }
    return account;
  }

  private dummy(): Promise<string> {
    this.dummyHash ??= argon2.hash(randomUUID(), HASH_OPTIONS);
    return this.dummyHash;
  }
}
