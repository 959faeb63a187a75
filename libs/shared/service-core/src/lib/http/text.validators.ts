import { registerDecorator, type ValidationArguments, type ValidationOptions } from 'class-validator';

/**
 * Length in Unicode code points: the unit PostgreSQL's `varchar(n)` enforces in a
 * UTF8 database. Neither `string.length` (UTF-16 code units: an emoji counts 2)
 * nor class-validator's `isLength` (which does not count U+FE0E/U+FE0F, so
 * 100 × `a\uFE0F` passes a limit of 100 with 200 code points) is.
 *
 * @param value any string
 * @returns the number of code points; a lone surrogate counts as one
 */
export function codePointLength(value: string): number {
  // A surrogate pair is one code point; a lone surrogate counts as one too.
  let count = 0;
  for (let index = 0; index < value.length; index += 1) {
    const unit = value.charCodeAt(index);
    if (unit >= 0xd800 && unit <= 0xdbff && index + 1 < value.length) {
      const next = value.charCodeAt(index + 1);
      if (next >= 0xdc00 && next <= 0xdfff) index += 1;
    }
    count += 1;
  }
  return count;
}

/**
 * Property decorator: a string of `min` to `max` Unicode code points
 * ({@link codePointLength}), so that every accepted value fits a `varchar(max)`
 * column. Non-strings fail too (pair it with `@IsString()` for that message).
 *
 * @param min fewest code points
 * @param max most code points: the column's `n`
 */
export function CodePointLength(min: number, max: number, options?: ValidationOptions): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'codePointLength',
      target: target.constructor,
      propertyName: String(propertyName),
      constraints: [min, max],
      options: {
        message: ({ property }: ValidationArguments) => `${property} must be ${min} to ${max} characters`,
        ...options,
      },
      validator: {
        validate: (value: unknown) =>
          typeof value === 'string' && codePointLength(value) >= min && codePointLength(value) <= max,
      },
    });
}

/**
 * What free text must not hold: C0 and C1 controls (CR, LF, TAB, NUL, ESC and so
 * ANSI escape sequences, DEL), line and paragraph separators, bidirectional
 * formatting characters (U+202A–U+202E, U+2066–U+2069, U+200E/U+200F, U+061C:
 * "Trojan Source", CVE-2021-42574), and lone surrogates (not text; PostgreSQL
 * would store U+FFFD). Joiners and variation selectors stay: emoji need them.
 */
const NOT_PLAIN_TEXT = /[\p{Cc}\p{Zl}\p{Zp}\p{Bidi_Control}\p{Cs}]/u;

/**
 * @param value any string
 * @returns true when it holds none of the characters a single line of displayed text must not hold
 */
export function isPlainText(value: string): boolean {
  return !NOT_PLAIN_TEXT.test(value);
}

/**
 * Property decorator for a one-line free-text field shown to people (a display
 * name): refuses control characters, line breaks, ANSI escapes and bidirectional
 * controls ({@link isPlainText}), which would forge log lines, move a terminal's
 * cursor or reorder what a reader sees.
 */
export function PlainText(options?: ValidationOptions): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'plainText',
      target: target.constructor,
      propertyName: String(propertyName),
      options: {
        message: ({ property }: ValidationArguments) =>
          `${property} must not contain control characters (line breaks, tabs, escapes) or bidirectional formatting characters`,
        ...options,
      },
      validator: { validate: (value: unknown) => typeof value === 'string' && isPlainText(value) },
    });
}
