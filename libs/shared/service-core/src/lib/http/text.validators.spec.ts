import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { CodePointLength, PlainText, codePointLength, isPlainText } from './text.validators';

class Named {
  @CodePointLength(1, 3)
  @PlainText()
  name!: string;
}

const errorsOf = (name: unknown) =>
  validateSync(plainToInstance(Named, { name })).flatMap((error) => Object.values(error.constraints ?? {}));

describe('text validators: limits in code points, one line of plain text', () => {
  it.each<[string, number]>([
    ['abc', 3],
    ['a\ufe0f', 2],
    ['\u{1F600}', 1],
    ['e\u0301', 2],
    ['\ud800', 1],
    ['\udc00\ud800', 2],
  ])('codePointLength(%j) = %d, as PostgreSQL varchar counts', (value, expected) => {
    expect(codePointLength(value)).toBe(expected);
    expect(codePointLength(value)).toBe([...value].length);
  });

  it('CodePointLength counts what class-validator isLength does not', () => {
    expect(errorsOf('\u{1F600}\u{1F600}\u{1F600}')).toEqual([]);
    expect(errorsOf('a\ufe0fa\ufe0f')).toEqual(['name must be 1 to 3 characters']);
    expect(errorsOf('')).toEqual(['name must be 1 to 3 characters']);
    expect(errorsOf(7)).toContain('name must be 1 to 3 characters');
  });

  it.each([
    'a\rb',
    'a\nb',
    'a\tb',
    '\u001b[',
    '\u009b',
    '\u007f',
    '\u0085',
    'a\u2028',
    'a\u2029',
    '\u202e',
    '\u2066',
    '\u200f',
    '\u061c',
    '\ud800',
  ])('isPlainText refuses %j', (value) => {
    expect(isPlainText(value)).toBe(false);
    expect(errorsOf(value.slice(0, 3))).toContain(
      'name must not contain control characters (line breaks, tabs, escapes) or bidirectional formatting characters',
    );
  });

  it('isPlainText keeps what names need: letters of any script, emoji with joiners and variation selectors', () => {
    for (const value of ['Zoë', '\u05e2\u05d1', '\u{1F469}\u200d\u{1F4BB}', '\u2764\ufe0f', 'Ada Lovelace'])
      expect(isPlainText(value)).toBe(true);
  });
});
