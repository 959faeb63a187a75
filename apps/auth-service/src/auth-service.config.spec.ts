import { loadAuthServiceConfig } from './auth-service.config';

describe('ADMIN_EMAIL and ADMIN_PASSWORD follow the rules of every account', () => {
  const admin = (email: string, password: string) => () =>
    loadAuthServiceConfig({ DATA_DIR: '/nonexistent', ADMIN_EMAIL: email, ADMIN_PASSWORD: password });

  it.each<[string, string, RegExp]>([
    ['password', 'password', /ADMIN_PASSWORD: it is one of the most common or breached passwords/],
    ['12345678', '12345678', /ADMIN_PASSWORD: it is one of the most common or breached passwords/],
    ['eight spaces', ' '.repeat(8), /ADMIN_PASSWORD: it must contain visible characters/],
    ['eight zero-width spaces', '\u200b'.repeat(8), /ADMIN_PASSWORD: it must contain visible characters/],
    ['too short', 'short', /ADMIN_PASSWORD: it must be at least 8 characters/],
    ['the email address', 'Boss@Example.test', /ADMIN_PASSWORD: it must not be the email address/],
  ])('refuses an ADMIN_PASSWORD that is %s, in every environment', (_case, password, message) => {
    expect(admin('boss@example.test', password)).toThrow(message);
  });

  it('refuses an ADMIN_EMAIL that no account could have', () => {
    expect(admin('b\u200boss@example.test', 'a long admin passphrase')).toThrow(/ADMIN_EMAIL: /);
    expect(admin('\u0431oss@example.test', 'a long admin passphrase')).toThrow(/ADMIN_EMAIL: /);
  });

  it('accepts a fine pair', () => {
    expect(admin('Boss@Example.test', 'a long admin passphrase')()).toMatchObject({ ADMIN_EMAIL: 'Boss@Example.test' });
  });
});
