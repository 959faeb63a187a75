import { domainToASCII } from 'node:url';

/**
 * The one canonical form of an account's email address, used for storage, for
 * lookup (register, login, ADMIN_EMAIL) and in the `email` claim.
 *
 * The model is PRECIS (RFC 8264): an identifier is mapped (width, case, Unicode
 * normalisation) and then checked against a restrictive repertoire, so that two
 * addresses that render alike are either one account or refused. Choices:
 *
 * - **Local part: ASCII only** (RFC 5322 §3.2.3 `dot-atom`, lower-cased), not RFC
 *   8265's UsernameCaseMapped profile. UsernameCaseMapped admits every letter of
 *   every script, so `сarol` with a Cyrillic `с` (U+0441) would still be a second
 *   account beside `carol`; keeping it out needs confusable tables (UTS #39) that
 *   change with each Unicode version. Non-ASCII local parts also need SMTPUTF8
 *   (RFC 6531) end to end, which most mail systems still lack, so they cost few
 *   real users. Letters are lower-cased: RFC 5321 §2.4 lets a server treat local
 *   parts case-sensitively, but no mainstream one does, and two accounts
 *   `Carol`/`carol` would render as one person.
 * - **Quoted local parts** (RFC 5321 §4.1.2 `Quoted-string`) name the same mailbox
 *   as the unquoted form when their content is a plain dot-atom (RFC 5321 §4.1.2:
 *   "the quoted form SHOULD NOT be used" then), so the quotes are dropped; any
 *   other quoted content is refused.
 * - **Domain: IDNA** through UTS #46 (`url.domainToASCII`, non-transitional), stored
 *   as its A-labels (`xn--…`), so the stored address is ASCII throughout and a
 *   look-alike domain in another script shows as visibly different Punycode. A
 *   label that mixes Latin, Greek and Cyrillic letters, or Latin with any script
 *   but Han, kana, Hangul and Bopomofo (Cherokee `Ꮮ`, Armenian `ա`), is refused
 *   (UTS #39 §5.2 "Highly Restrictive" forbids those mixes; they exist only to deceive).
 * - **Refused anywhere**: control, format, private-use, unassigned and surrogate
 *   code points, default-ignorable ones (U+200B, U+00AD, U+FE0F…), bidirectional
 *   controls (U+202E…) and whitespace inside the address. They are refused rather
 *   than dropped: UTS #46 silently ignores some of them, and an address that
 *   renders as another should not quietly become that other one.
 * - **Width**: Unicode NFKC first (RFC 8264 §9.3 width mapping and §9.4 NFC), so a
 *   fullwidth `ｃ` (U+FF43) becomes `c` and finds the existing account.
 *
 * Lengths are counted after mapping, in octets of the ASCII result, as RFC 5321
 * §4.5.3.1 does: at most 64 before the `@`, 254 in all (the `varchar(254)` column).
 */
export type AccountEmail = { ok: true; email: string } | { ok: false; reason: string };

/** Longest input looked at, in UTF-16 code units: bounds the work of normalising a hostile value. */
const MAX_INPUT_LENGTH = 1024;
/** RFC 5321 §4.5.3.1.1 and §4.5.3.1.3 (a path of 256 octets, less the angle brackets). */
const MAX_LOCAL_OCTETS = 64;
const MAX_EMAIL_OCTETS = 254;
const MAX_DOMAIN_OCTETS = 253;

const ATEXT = "[a-z0-9!#$%&'*+/=?^_`{|}~-]+";
/** RFC 5322 §3.2.3 `dot-atom-text`, ASCII only (already lower-cased). */
const DOT_ATOM = new RegExp(`^${ATEXT}(?:\\.${ATEXT})*$`);
/** A label as it may be typed: letters, marks and digits of any script, and hyphens (no `%`, `_`, brackets). */
const TYPED_DOMAIN = /^[\p{L}\p{M}\p{N}.-]+$/u;
/** RFC 5890 §2.3.1 LDH label (A-labels included), after UTS #46. */
const LDH_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
/** Code points that are invisible, reorder text, or are not characters at all. */
const REFUSED =
  /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}\p{Bidi_Control}\p{White_Space}]/u;
const CONFUSABLE_SCRIPTS = [/\p{Script=Latin}/u, /\p{Script=Greek}/u, /\p{Script=Cyrillic}/u];
/** A letter of a script UTS #39 "Highly Restrictive" does not let Latin mix with (all but Han, kana, Hangul, Bopomofo). */
const NOT_WITH_LATIN =
  /(?![\p{Script=Latin}\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\p{Script=Bopomofo}])\p{L}/u;

const refused = (reason: string): AccountEmail => ({ ok: false, reason });

/**
 * Maps and checks an email address (see {@link AccountEmail} for the rules).
 *
 * @param input the address as typed; surrounding whitespace is ignored
 * @returns `{ok: true, email}` with the canonical ASCII form, or `{ok: false, reason}`
 *   where `reason` completes "email must be an email address: …"
 */
export function parseAccountEmail(input: string): AccountEmail {
  if (input.length > MAX_INPUT_LENGTH) return refused(`at most ${MAX_EMAIL_OCTETS} characters`);
  const typed = input.trim();
  if (REFUSED.test(typed))
    return refused('spaces, invisible, control and bidirectional formatting characters are not allowed');
  const mapped = typed.normalize('NFKC');
  // NFKC can itself produce such characters (U+2000–U+200A map to U+0020).
  if (REFUSED.test(mapped))
    return refused('spaces, invisible, control and bidirectional formatting characters are not allowed');
  const at = mapped.lastIndexOf('@');
  if (at <= 0 || at === mapped.length - 1) return refused('expected local-part@domain');
  const local = unquote(mapped.slice(0, at).toLowerCase());
  if (local === null) return refused('a quoted local part is accepted only when it needs no quotes');
  if (!DOT_ATOM.test(local))
    return refused(
      "the part before @ must be ASCII letters, digits or !#$%&'*+/=?^_`{|}~- in runs separated by single dots",
    );
  if (local.length > MAX_LOCAL_OCTETS) return refused(`at most ${MAX_LOCAL_OCTETS} characters before @`);
  const domain = canonicalDomain(mapped.slice(at + 1));
  if (!domain.ok) return domain;
  const email = `${local}@${domain.email}`;
  if (email.length > MAX_EMAIL_OCTETS)
    return refused(`at most ${MAX_EMAIL_OCTETS} characters (internationalised domains counted as Punycode)`);
  return { ok: true, email };
}

/**
 * @param input the address as typed
 * @returns its canonical form, or null when {@link parseAccountEmail} refuses it
 */
export function canonicalEmail(input: string): string | null {
  const parsed = parseAccountEmail(input);
  return parsed.ok ? parsed.email : null;
}

/** `"carol"` → `carol` when the content is a dot-atom; null for any other quoted content; others unchanged. */
function unquote(local: string): string | null {
  if (!local.startsWith('"')) return local;
  if (local.length < 2 || !local.endsWith('"')) return null;
  const content = local.slice(1, -1);
  return DOT_ATOM.test(content) ? content : null;
}

/** UTS #46 to A-labels, then LDH and script checks; `email` holds the domain. */
function canonicalDomain(typed: string): AccountEmail {
  const invalid = refused('the domain is not a valid domain name (IDNA, UTS #46)');
  if (!TYPED_DOMAIN.test(typed)) return invalid;
  for (const label of typed.toLowerCase().split('.')) {
    const scripts = CONFUSABLE_SCRIPTS.filter((script) => script.test(label)).length;
    if (scripts > 1) return refused('a domain label must not mix Latin, Greek and Cyrillic letters');
    if (CONFUSABLE_SCRIPTS[0].test(label) && NOT_WITH_LATIN.test(label))
      return refused('a domain label must not mix Latin letters with those of another script');
  }
  const ascii = domainToASCII(typed);
  if (!ascii || ascii.length > MAX_DOMAIN_OCTETS) return invalid;
  const labels = ascii.split('.');
  // At least a name and a top-level domain, and a TLD that is not numeric (that would be an IPv4 address).
  if (labels.length < 2 || !labels.every((label) => LDH_LABEL.test(label)) || /^[0-9]+$/.test(labels.at(-1) ?? ''))
    return invalid;
  return { ok: true, email: ascii };
}
