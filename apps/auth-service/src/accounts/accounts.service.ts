import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import * as argon2 from 'argon2';
import { randomUUID } from 'node:crypto';
import { QueryFailedError, Repository } from 'typeorm';
import { ROLE_USER, type Role } from '@jwt-ms/contracts';
import { ProblemException, invalidRequest } from '@jwt-ms/service-core';
import { Account } from './account.entity';
import { canonicalEmail } from './account-email';
import { normalisePassword } from './password-policy';

/** argon2id with the library's defaults (m = 64 MiB, t = 3, p = 4), the OWASP-recommended family. */
const HASH_OPTIONS = { type: argon2.argon2id } as const;

/**
 * The key an email is known by: its canonical form (`parseAccountEmail`), or, for
 * an address that has none, the NFC lower-cased form it would have had before
 * (such an address matches no account: only rate-limit keys use it).
 */
export function normaliseEmail(email: string): string {
  return canonicalEmail(email) ?? email.normalize('NFC').trim().toLowerCase();
}

/**
 * Accounts and their passwords (argon2id). Login answers the same, in about
 * the same time, whether or not the email exists: an unknown email is checked
 * against a dummy hash.
 */
@Injectable()
export class AccountsService implements OnApplicationBootstrap {
  private dummyHash?: Promise<string>;

  constructor(@InjectRepository(Account) private readonly accounts: Repository<Account>) {}

  /** Starts hashing the dummy password at start, so the first unknown-email login costs no more than the others. */
  onApplicationBootstrap(): void {
    void this.dummy();
  }

  /**
   * Registers an account with the `user` role.
   *
   * @param email as typed: stored in its canonical form (`parseAccountEmail`)
   * @param password as typed: hashed in its NFKC form (`normalisePassword`)
   * @returns the new account
   * @throws ProblemException 409 `email_taken` when the email is registered;
   *   400 `invalid_request` when it has no canonical form
   */
  async register(email: string, password: string): Promise<Account> {
    return this.create(email, password, [ROLE_USER]);
  }

  /**
   * Creates an account with the given roles (the configured admin).
   *
   * @throws ProblemException as {@link register}
   */
  async create(email: string, password: string, roles: Role[]): Promise<Account> {
    const canonical = canonicalEmail(email);
    if (canonical === null) throw invalidRequest('The email address has no canonical form.');
    const account = this.accounts.create({
      id: randomUUID(),
      email: canonical,
      passwordHash: await hash(password),
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

  /**
   * @param email as typed; one with no canonical form matches no account
   * @returns the account when email and password match, otherwise null (never says which was wrong)
   */
  async verifyCredentials(email: string, password: string): Promise<Account | null> {
    const account = await this.findByEmail(email);
    if (!account) {
      // As many argon2 checks as passwordMatches would make.
      const dummy = await this.dummy();
      await argon2.verify(dummy, normalisePassword(password)).catch(() => false);
      if (normalisePassword(password) !== password) await argon2.verify(dummy, password).catch(() => false);
      return null;
    }
    return (await this.passwordMatches(account, password)) ? account : null;
  }

  /**
   * Checks a password against the account's hash, in its NFKC form (NIST SP
   * 800-63B §3.1.1.2). Hashes made before passwords were normalised hold the
   * password as it was typed: when the NFKC form fails and differs from the typed
   * one, the typed one is tried, and on a match the hash is replaced by one of the
   * NFKC form, so each such account moves over at its next login. Dropping the
   * fallback instead would lock out everyone whose password was not already
   * NFKC (an NFD keyboard, a fullwidth character) with no way to tell them apart;
   * it accepts nothing that is not the user's password, byte for byte.
   *
   * @returns true when `password` is the account's password
   */
  async passwordMatches(account: Account, password: string): Promise<boolean> {
    const normalised = normalisePassword(password);
    if (await verify(account.passwordHash, normalised)) return true;
    if (normalised === password || !(await verify(account.passwordHash, password))) return false;
    // Lost to a racing change: fine. Won: the caller's copy holds the new hash, for its own compare-and-set.
    const rehashed = await this.replacePassword(account.id, account.passwordHash, password);
    if (rehashed) account.passwordHash = rehashed;
    return true;
  }

  /**
   * Replaces the account's password hash (argon2id of the NFKC form), only if
   * it is still `expectedHash`, the hash the caller verified (compare-and-set).
   * Every password write is conditional: a change that verified the old
   * password must not land after another write (the configured admin taking the
   * account over, a concurrent change) and bring a stale credential back.
   *
   * @param expectedHash the stored hash the caller checked the current password against
   * @returns the new hash, or null when the stored hash had changed meanwhile (nothing written)
   */
  async replacePassword(accountId: string, expectedHash: string, password: string): Promise<string | null> {
    const passwordHash = await hash(password);
    const result = await this.accounts.update({ id: accountId, passwordHash: expectedHash }, { passwordHash });
    return result.affected === 1 ? passwordHash : null;
  }

  /**
   * Gives an existing account a new password and exactly these roles, in one
   * write (the configured admin taking over an address). The caller revokes its tokens.
   *
   * @returns the hash written, for {@link setRolesIfPassword}
   */
  async resetCredentials(accountId: string, password: string, roles: Role[]): Promise<string> {
    const passwordHash = await hash(password);
    await this.accounts.update({ id: accountId }, { passwordHash, roles });
    return passwordHash;
  }

  /**
   * Replaces the account's roles, only if its password hash is still `expectedHash`.
   *
   * @returns whether the roles were written
   */
  async setRolesIfPassword(accountId: string, expectedHash: string, roles: Role[]): Promise<boolean> {
    const result = await this.accounts.update({ id: accountId, passwordHash: expectedHash }, { roles });
    return result.affected === 1;
  }

  /** Deletes the account. */
  async delete(accountId: string): Promise<void> {
    await this.accounts.delete({ id: accountId });
  }

  /** @returns the account, or null when it does not exist (any more) */
  findById(id: string): Promise<Account | null> {
    return this.accounts.findOne({ where: { id } });
  }

  /** @returns the account of this email (canonicalised), or null; null for an email with no canonical form */
  async findByEmail(email: string): Promise<Account | null> {
    const canonical = canonicalEmail(email);
    return canonical === null ? null : this.accounts.findOne({ where: { email: canonical } });
  }

  private dummy(): Promise<string> {
    this.dummyHash ??= argon2.hash(randomUUID(), HASH_OPTIONS);
    return this.dummyHash;
  }
}

/** argon2id of the password's NFKC form. */
function hash(password: string): Promise<string> {
  return argon2.hash(normalisePassword(password), HASH_OPTIONS);
}

function verify(passwordHash: string, password: string): Promise<boolean> {
  return argon2.verify(passwordHash, password).catch(() => false);
}
