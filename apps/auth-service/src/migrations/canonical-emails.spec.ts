import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { AuthSchema1764480000000 } from './1764480000000-auth-schema';
import { RefreshFamilyLifetime1764490000000 } from './1764490000000-refresh-family-lifetime';
import { CanonicalEmails1764500000000 } from './1764500000000-canonical-emails';

/** Real PostgreSQL: `E2E_POSTGRES_URL`, else postgres@127.0.0.1:5432. */
const ADMIN_URL = process.env['E2E_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

describe('CanonicalEmails migration (PostgreSQL): stored addresses move to the form login looks up', () => {
  const admin = new Client({ connectionString: ADMIN_URL });
  const name = `jwtms_test_emails_${randomUUID().slice(0, 8)}`;
  let dataSource: DataSource;

  beforeAll(async () => {
    await admin.connect();
    await admin.query(`CREATE DATABASE "${name}"`);
    const url = new URL(ADMIN_URL);
    url.pathname = `/${name}`;
    dataSource = await new DataSource({
      type: 'postgres',
      url: url.toString(),
      migrations: [AuthSchema1764480000000, RefreshFamilyLifetime1764490000000],
    }).initialize();
    await dataSource.runMigrations();
  }, 60_000);

  afterAll(async () => {
    await dataSource?.destroy();
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.end();
  }, 60_000);

  it('rewrites IDN domains, quoted dot-atoms and fullwidth letters; leaves addresses with no free canonical form', async () => {
    // As the former code stored them: NFC, trimmed, lower-cased.
    const stored: Record<string, string> = {
      plain: 'carol@example.test',
      idn: 'user@b\u00fccher.example',
      quoted: '"dave"@example.test',
      fullwidth: '\uff45ve@example.test',
      unicodeLocal: 'jos\u00e9@example.test',
      invisible: 'car\u200bol@example.test',
      lookalike: '"carol"@example.test', // its canonical form is taken by `plain`
      // Two rows that both need rewriting into one address: neither may take it, whatever order rows come in.
      victim: 'frank@b\u00fccher.example',
      attacker: '\uff46rank@b\u00fccher.example',
    };
    const ids = Object.fromEntries(Object.keys(stored).map((key) => [key, randomUUID()]));
    for (const [key, email] of Object.entries(stored))
      await dataSource.query(
        `INSERT INTO "accounts" ("id", "email", "password_hash", "roles") VALUES ($1, $2, 'x', 'user')`,
        [ids[key], email],
      );
    const runner = dataSource.createQueryRunner();
    try {
      await new CanonicalEmails1764500000000().up(runner);
    } finally {
      await runner.release();
    }
    const rows: Array<{ id: string; email: string }> = await dataSource.query(`SELECT "id", "email" FROM "accounts"`);
    const emailOf = (key: string) => rows.find((row) => row.id === ids[key])?.email;
    expect(Object.fromEntries(Object.keys(stored).map((key) => [key, emailOf(key)]))).toEqual({
      plain: 'carol@example.test',
      idn: 'user@xn--bcher-kva.example',
      quoted: 'dave@example.test',
      fullwidth: 'eve@example.test',
      unicodeLocal: 'jos\u00e9@example.test',
      invisible: 'car\u200bol@example.test',
      lookalike: '"carol"@example.test',
      victim: 'frank@b\u00fccher.example',
      attacker: '\uff46rank@b\u00fccher.example',
    });
  });
});
