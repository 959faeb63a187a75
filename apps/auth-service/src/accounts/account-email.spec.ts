import { parseAccountEmail } from './account-email';

describe('parseAccountEmail: one canonical form per mailbox, look-alikes refused', () => {
  const existing = 'carol-x@example.test';

  it.each([
    ['the canonical form itself', existing],
    ['another case', 'Carol-X@EXAMPLE.test'],
    ['surrounding spaces', '  carol-x@example.test '],
    ['a fullwidth c (U+FF43), NFKC width mapping', '\uff43arol-x@example.test'],
    ['a fullwidth @ (U+FF20)', 'carol-x\uff20example.test'],
    ['a quoted dot-atom local part (RFC 5321 §4.1.2: the same mailbox)', '"carol-x"@example.test'],
    ['a trailing dot-free domain in capitals', 'carol-x@EXAMPLE.TEST'],
  ])('%s → the existing account', (_case, input) => {
    expect(parseAccountEmail(input)).toEqual({ ok: true, email: existing });
  });

  it.each([
    ['a zero-width space (U+200B) inside', 'car\u200bol-x@example.test', /invisible/],
    ['a soft hyphen (U+00AD) inside', 'car\u00adol-x@example.test', /invisible/],
    ['a variation selector (U+FE0F) inside', 'car\ufe0fol-x@example.test', /invisible/],
    ['a right-to-left override (U+202E) prefix', '\u202ecarol-x@example.test', /bidirectional/],
    ['a left-to-right mark (U+200E)', 'carol-x\u200e@example.test', /bidirectional/],
    ['a zero-width joiner in the domain', 'carol-x@exam\u200dple.test', /invisible/],
    ['a BOM (U+FEFF) inside', 'carol\ufeff-x@example.test', /invisible/],
    ['a NUL', 'carol-x\u0000@example.test', /control/],
    ['a line feed', 'carol-x\n@example.test', /control/],
    ['an ANSI escape', '\u001b[31mcarol-x@example.test', /control/],
    ['a lone surrogate', 'carol\ud800-x@example.test', /invisible/],
    ['an em space (NFKC makes it a space)', 'carol\u2003-x@example.test', /spaces/],
    ['a Cyrillic с (U+0441) in the local part', '\u0441arol-x@example.test', /ASCII/],
    ['a Greek ο in the local part', 'car\u03bfl-x@example.test', /ASCII/],
    ['a Latin letter with a diacritic in the local part', 'carol-x\u00e9@example.test', /ASCII/],
    ['a Cyrillic а (U+0430) mixed into a Latin domain label', 'carol-x@ex\u0430mple.test', /mix/],
    ['a Greek ο mixed into a Latin domain label', 'carol-x@exam\u03bfple.test', /mix/],
    ['a Cherokee Ꮮ mixed into a Latin domain label', 'carol@examp\u13dee.com', /mix/],
    ['an Armenian ա mixed into a Latin domain label', 'carol@examp\u0561le.com', /mix/],
    ['a quoted local part with a space', '"carol x"@example.test', /spaces/],
    ['a quoted local part with an @', '"carol@x"@example.test', /quoted/],
    ['an unbalanced quote', '"carol-x@example.test', /quoted/],
    ['two dots in the local part', 'carol..x@example.test', /ASCII/],
    ['a leading dot', '.carol@example.test', /ASCII/],
    ['no @', 'carol.example.test', /local-part@domain/],
    ['nothing before @', '@example.test', /local-part@domain/],
    ['a one-label domain', 'carol@localhost', /domain/],
    ['an IPv4 domain', 'carol@127.0.0.1', /domain/],
    ['an address literal', 'carol@[127.0.0.1]', /domain/],
    ['a percent-encoded domain (URL hosts decode it)', 'carol@exa%6dple.test', /domain/],
    ['an underscore in the domain', 'carol@ex_ample.test', /domain/],
    ['a label starting with a hyphen', 'carol@-example.test', /domain/],
    ['an invalid A-label', 'carol@xn--zz.test', /domain/],
    ['a local part of 65 characters', `${'a'.repeat(65)}@example.test`, /64/],
    ['255 characters in all', `${'a'.repeat(64)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(57)}.test`, /254/],
    [
      'a Unicode domain of 226 characters whose Punycode has 254',
      `a@${Array.from({ length: 4 }, () => `\u00fc${'a'.repeat(54)}`).join('.')}.de`,
      /domain/,
    ],
    ['an absurdly long value', `${'a'.repeat(2000)}@example.test`, /254/],
  ])('%s → refused', (_case, input, reason) => {
    const parsed = parseAccountEmail(input);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.reason).toMatch(reason);
  });

  it('stores internationalised domains as A-labels, whatever their spelling', () => {
    expect(parseAccountEmail('user@b\u00fccher.example')).toEqual({ ok: true, email: 'user@xn--bcher-kva.example' });
    expect(parseAccountEmail('user@BU\u0308CHER.example')).toEqual({ ok: true, email: 'user@xn--bcher-kva.example' });
    expect(parseAccountEmail('user@xn--bcher-kva.example')).toEqual({ ok: true, email: 'user@xn--bcher-kva.example' });
    // A whole label in one other script is a different domain, and shows as visibly different Punycode.
    expect(parseAccountEmail('user@\u0430\u0440\u0440\u04cf\u0435.com')).toEqual({
      ok: true,
      email: 'user@xn--80ak6aa92e.com',
    });
  });

  it('is idempotent: a canonical form maps to itself', () => {
    for (const input of ['"carol-x"@EXAMPLE.test', 'user@b\u00fccher.example', 'x@\u4f8b\u3048.\u30c6\u30b9\u30c8']) {
      const first = parseAccountEmail(input);
      expect(first.ok).toBe(true);
      if (first.ok) expect(parseAccountEmail(first.email)).toEqual(first);
    }
  });

  it('accepts the longest address: 64 octets before @, 254 in all', () => {
    const longest = `${'a'.repeat(64)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(56)}.test`;
    expect(longest).toHaveLength(254);
    expect(parseAccountEmail(longest)).toEqual({ ok: true, email: longest });
  });
});
