import { Logger } from '@nestjs/common';
import type { MigrationInterface, QueryRunner } from 'typeorm';
import { canonicalEmail } from '../accounts/account-email';

/**
 * Rewrites stored emails into their canonical form (`parseAccountEmail`), which
 * login now looks up. Addresses used to be stored NFC and lower-cased; they
 * differ from the canonical form only when they had an internationalised domain
 * (now its A-labels), a quoted dot-atom local part (now unquoted), or characters
 * NFKC maps (fullwidth letters). Left as they were, and listed by id in the log:
 * addresses with no canonical form (a non-ASCII local part, invisible or
 * bidirectional characters) and those whose canonical form another account
 * already holds (a look-alike of it), or that several accounts would share
(none of them gets it: which one is the look-alike cannot be told). None
of those can log in any more; an admin
 * deletes or re-registers them. Data only; `down` leaves the rewritten values,
 * which the former code reads as well.
 */
export class CanonicalEmails1764500000000 implements MigrationInterface {
  name = 'CanonicalEmails1764500000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const logger = new Logger('Migration');
    const rows: Array<{ id: string; email: string }> = await queryRunner.query(`SELECT "id", "email" FROM "accounts"`);
    // Grouped by canonical form first, so that the outcome never depends on the order rows come back in:
    // a row already in canonical form keeps its address; when several rows need rewriting into one
    // address, none gets it (any of them may be a look-alike registered to take the other's place).
    const byCanonical = new Map<string, Array<{ id: string; email: string }>>();
    const stranded: string[] = [];
    for (const row of rows) {
      const canonical = canonicalEmail(row.email);
      if (canonical === null) stranded.push(row.id);
      else byCanonical.set(canonical, [...(byCanonical.get(canonical) ?? []), row]);
    }
    for (const [canonical, group] of byCanonical) {
      const rewrite = group.filter((row) => row.email !== canonical);
      if (rewrite.length === 0) continue;
      if (rewrite.length === group.length && rewrite.length === 1) {
        await queryRunner.query(`UPDATE "accounts" SET "email" = $1 WHERE "id" = $2`, [canonical, rewrite[0].id]);
      } else {
        stranded.push(...rewrite.map((row) => row.id));
      }
    }
    if (stranded.length > 0) {
      logger.warn(
        `${stranded.length} account(s) keep an email with no free canonical form and cannot log in: ${stranded.join(', ')}`,
      );
    }
  }

  async down(): Promise<void> {
    // Nothing to undo: a canonical address is also a valid address in the former form.
  }
}
