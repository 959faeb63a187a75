import { normalisePassword, passwordPolicyViolation } from './password-policy';

describe('passwordPolicyViolation (NIST SP 800-63B §3.1.1.2)', () => {
  it.each([
    ['password', /most common or breached/],
    ['PassWord', /most common or breached/],
    ['12345678', /most common or breached/],
    ['iloveyou2', /most common or breached/],
    ['\uff50\uff41\uff53\uff53\uff57\uff4f\uff52\uff44', /most common or breached/], // fullwidth "password": NFKC first
    ['        ', /visible characters/],
    ['\u200b'.repeat(8), /visible characters/],
    ['\u3000\u00a0\u2003\u200b\u200d\ufeff\u2060\u00ad', /visible characters/],
    ['\u2800'.repeat(8), /visible characters/], // Braille blank: a symbol that renders as a space
    ['\u0301'.repeat(8), /visible characters/], // combining marks with nothing to combine with
    ['password123\u200b', /most common or breached/], // invisible padding does not leave the blocklist
    ['pass\u00adword123', /most common or breached/],
    ['short', /at least 8 characters/],
    ['\u{1F600}'.repeat(4), /at least 8 characters/], // 8 UTF-16 code units, 4 code points
    ['a'.repeat(129), /at most 128 characters/],
    ['tab\tinside it', /control characters/],
    ['carol.smith', /email address/],
    ['carol.smith@example.test', /email address/],
  ])('%j → refused', (password, reason) => {
    expect(passwordPolicyViolation(password, 'password', { email: 'carol.smith@example.test' })).toMatch(reason);
  });

  it.each([
    ['correct horse battery staple'],
    ['Tr0ub4dor&3-but-longer'],
    ['\u{1F600}'.repeat(8)],
    ['\u{1F600}'.repeat(128)],
    ['a'.repeat(128)],
    ['Cr\u00e8me br\u00fbl\u00e9e 2024!'],
    ['        x'],
  ])('%j → accepted (no composition rules)', (password) => {
    expect(passwordPolicyViolation(password, 'password', { email: 'carol.smith@example.test' })).toBeNull();
  });

  it('names the field in its message', () => {
    expect(passwordPolicyViolation('password', 'new_password')).toBe(
      'new_password is one of the most common or breached passwords: choose another',
    );
  });

  it('normalises to NFKC, so NFC and NFD spellings are one password', () => {
    const nfc = 'Cr\u00e8me br\u00fbl\u00e9e';
    const nfd = nfc.normalize('NFD');
    expect(nfd).not.toBe(nfc);
    expect(normalisePassword(nfd)).toBe(normalisePassword(nfc));
    expect(normalisePassword('\uff21')).toBe('A');
  });
});
