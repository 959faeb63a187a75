import { ACCESS_TOKEN_TYPE, REQUIRED_ACCESS_TOKEN_CLAIMS, SCOPES_BY_ROLE } from './access-token';
import { ERROR_CODES } from './problem-details';

describe('contracts', () => {
  it('names the RFC 9068 token type', () => {
    expect(ACCESS_TOKEN_TYPE).toBe('at+jwt');
  });

  it('requires every claim RFC 9068 §2.2 makes mandatory', () => {
    expect(REQUIRED_ACCESS_TOKEN_CLAIMS).toEqual(
      expect.arrayContaining(['iss', 'exp', 'aud', 'sub', 'client_id', 'iat', 'jti']),
    );
  });

  it('gives admins no user scope implicitly: an admin token carries both role sets', () => {
    expect(SCOPES_BY_ROLE.admin).not.toContain('orders:write');
    expect(new Set(SCOPES_BY_ROLE.user).size).toBe(SCOPES_BY_ROLE.user.length);
  });

  it('spells OAuth error codes as RFC 6749/6750 do', () => {
    expect(ERROR_CODES).toEqual(
      expect.arrayContaining(['invalid_token', 'insufficient_scope', 'invalid_request', 'invalid_grant']),
    );
  });
});
