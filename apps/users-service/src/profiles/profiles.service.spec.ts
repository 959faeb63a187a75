import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import type { UserPrincipal } from '@jwt-ms/auth-jwt';
import { testPrincipal } from '@jwt-ms/auth-jwt/testing';
import { ProblemException, databaseOptions } from '@jwt-ms/service-core';
import { Profile } from './profile.entity';
import { ProfilesService } from './profiles.service';

const principal = (subject = randomUUID()): UserPrincipal => testPrincipal({ subject });

describe('ProfilesService (embedded SQLite)', () => {
  let dataSource: DataSource;
  let service: ProfilesService;

  beforeAll(async () => {
    dataSource = await new DataSource(
      databaseOptions({ sqlitePath: ':memory:', entities: [Profile], migrations: [] }),
    ).initialize();
    service = new ProfilesService(dataSource.getRepository(Profile));
  });

  afterAll(() => dataSource.destroy());

  it('creates the profile from the token claims on first use, once, even under concurrent first requests', async () => {
    const caller = principal();
    const views = await Promise.all(Array.from({ length: 5 }, () => service.me(caller)));
    expect(new Set(views.map((view) => view.id))).toEqual(new Set([caller.subject]));
    expect(views[0]).toMatchObject({ email: caller.email, displayName: null });
    expect(await dataSource.getRepository(Profile).countBy({ id: caller.subject })).toBe(1);
  });

  it('updates and clears the display name', async () => {
    const caller = principal();
    expect((await service.update(caller, 'Ada')).displayName).toBe('Ada');
    expect((await service.update(caller, null)).displayName).toBeNull();
  });

  it('answers an unknown id with a 404 problem', async () => {
    await expect(service.get(randomUUID())).rejects.toMatchObject({ code: 'not_found' });
    await expect(service.get(randomUUID())).rejects.toBeInstanceOf(ProblemException);
  });

  it('pages through profiles', async () => {
    for (let i = 0; i < 3; i += 1) await service.me(principal());
    const page = await service.list(2, 1);
    expect(page.items).toHaveLength(2);
    expect(page).toMatchObject({ limit: 2, offset: 1 });
    expect(page.total).toBeGreaterThanOrEqual(5);
  });
});
