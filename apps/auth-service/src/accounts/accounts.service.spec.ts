import * as argon2 from 'argon2';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { databaseOptions } from '@jwt-ms/service-core';
import { RefreshToken } from '../tokens/refresh-token.entity';
import { Account } from './account.entity';
import { AccountsService } from './accounts.service';

describe('AccountsService (embedded SQLite): canonical emails, normalised passwords', () => {
  let dataSource: DataSource;
  let service: AccountsService;
  const run = Date.now().toString(36);

  beforeAll(async () => {
    dataSource = await new DataSource(
      databaseOptions({ sqlitePath: ':memory:', entities: [Account, RefreshToken], migrations: [] }),
    ).initialize();
    service = new AccountsService(dataSource.getRepository(Account));
  }, 30_000);

  afterAll(() => dataSource.destroy());

  it('a password registered as NFC matches when typed as NFD, and the reverse', async () => {
    const nfc = 'Cr\u00e8me br\u00fbl\u00e9e au caf\u00e9';
    const first = await service.register(`nfc.${run}@example.test`, nfc);
    expect(await service.verifyCredentials(first.email, nfc.normalize('NFD'))).toMatchObject({ id: first.id });
    const second = await service.register(`nfd.${run}@example.test`, nfc.normalize('NFD'));
    expect(await service.verifyCredentials(second.email, nfc)).toMatchObject({ id: second.id });
    expect(await service.verifyCredentials(second.email, 'Creme brulee au cafe')).toBeNull();
  });

  it('a hash made before normalisation (of the password as typed) still verifies, and is replaced by an NFKC one', async () => {
    const typed = 'Cr\u00e8me br\u00fbl\u00e9e \uff12\uff10\uff12\uff14'.normalize('NFD'); // NFD, fullwidth digits
    const id = randomUUID();
    const email = `legacy.${run}@example.test`;
    await dataSource.getRepository(Account).insert({
      id,
      email,
      passwordHash: await argon2.hash(typed, { type: argon2.argon2id }),
      roles: ['user'],
    });
    expect(await service.verifyCredentials(email, typed)).toMatchObject({ id });
    const rehashed = (await service.findById(id))?.passwordHash ?? '';
    expect(await argon2.verify(rehashed, typed.normalize('NFKC'))).toBe(true);
    // Now any spelling with the same NFKC form matches.
    expect(await service.verifyCredentials(email, 'Cr\u00e8me br\u00fbl\u00e9e 2024')).toMatchObject({ id });
    expect(await service.verifyCredentials(email, 'Creme brulee 2024')).toBeNull();
  });

  it('a password change that verified the old password cannot land after a takeover (compare-and-set)', async () => {
    const email = `race.${run}@example.test`;
    const attacker = await service.register(email, 'the attacker chose this one');
    const verified = (await service.findById(attacker.id))?.passwordHash ?? ''; // what changePassword checked
    const written = await service.resetCredentials(attacker.id, 'the operator passphrase 9', ['user']);

    // The attacker's change, in flight since before the takeover, arrives now: it writes nothing.
    expect(await service.replacePassword(attacker.id, verified, 'the attacker keeps this one')).toBeNull();
    expect(await service.setRolesIfPassword(attacker.id, written, ['user', 'admin'])).toBe(true);
    expect(await service.verifyCredentials(email, 'the attacker keeps this one')).toBeNull();
    expect(await service.verifyCredentials(email, 'the operator passphrase 9')).toMatchObject({
      roles: ['user', 'admin'],
    });

    // And the admin role is never given over a hash the takeover did not write.
    const again = await service.resetCredentials(attacker.id, 'the operator passphrase 9', ['user']);
    expect(await service.replacePassword(attacker.id, again, 'a change that knew the new one')).not.toBeNull();
    expect(await service.setRolesIfPassword(attacker.id, again, ['user', 'admin'])).toBe(false);
  });

  it('look-alikes of an address find its account, or none; never a second one', async () => {
    const account = await service.register(`carol-x.${run}@example.test`, 'correct horse battery staple');
    for (const alike of [`\uff43arol-x.${run}@example.test`, `"carol-x.${run}"@EXAMPLE.test`])
      await expect(service.register(alike, 'another long password')).rejects.toMatchObject({ code: 'email_taken' });
    await expect(service.register(`car\u200bol-x.${run}@example.test`, 'another long password')).rejects.toMatchObject({
      code: 'invalid_request',
    });
    expect(
      await service.verifyCredentials(`"CAROL-X.${run}"@example.test`, 'correct horse battery staple'),
    ).toMatchObject({ id: account.id });
    expect(
      await service.verifyCredentials(`\u0441arol-x.${run}@example.test`, 'correct horse battery staple'),
    ).toBeNull();
  });
});
