import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import type { UserPrincipal } from '@jwt-ms/auth-jwt';
import { notFound, type Page } from '@jwt-ms/service-core';
import { Profile } from './profile.entity';
import type { ProfileView } from './profile.dto';

/** Profiles, keyed by the token subject. */
@Injectable()
export class ProfilesService {
  constructor(@InjectRepository(Profile) private readonly profiles: Repository<Profile>) {}

  /**
   * The caller's profile, created from the token's `sub` and `email` on first
   * use. Concurrent first requests are safe: the insert ignores a conflict.
   */
  async me(principal: UserPrincipal): Promise<ProfileView> {
    const existing = await this.profiles.findOne({ where: { id: principal.subject } });
    if (existing) return view(existing);
    await this.profiles
      .createQueryBuilder()
      .insert()
      .values({ id: principal.subject, email: principal.email, displayName: null })
      .orIgnore()
      .execute();
    return view(await this.profiles.findOneOrFail({ where: { id: principal.subject } }));
  }

  /** Sets the caller's display name (`null` clears it). */
  async update(principal: UserPrincipal, displayName: string | null): Promise<ProfileView> {
    await this.me(principal);
    await this.profiles.update({ id: principal.subject }, { displayName });
    return view(await this.profiles.findOneOrFail({ where: { id: principal.subject } }));
  }

  /**
   * @throws ProblemException 404 when no profile has this id
   */
  async get(id: string): Promise<ProfileView> {
    const profile = await this.profiles.findOne({ where: { id } });
    if (!profile) throw notFound('user');
    return view(profile);
  }

  /** All profiles, oldest first. */
  async list(limit: number, offset: number): Promise<Page<ProfileView>> {
    const [items, total] = await this.profiles.findAndCount({
      order: { createdAt: 'ASC', id: 'ASC' },
      take: limit,
      skip: offset,
    });
    return { items: items.map(view), total, limit, offset };
  }
}

function view(profile: Profile): ProfileView {
  return {
    id: profile.id,
    email: profile.email,
    displayName: profile.displayName,
    createdAt: profile.createdAt.toISOString(),
    updatedAt: profile.updatedAt.toISOString(),
  };
}
