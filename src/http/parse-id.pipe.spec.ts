import { BadRequestException } from '@nestjs/common';
import { ParseIdPipe } from './parse-id.pipe';

describe('ParseIdPipe', () => {
  const pipe = new ParseIdPipe();

  it.each([
    ['1', 1],
    ['42', 42],
    ['2147483647', 2147483647],
  ])('accepts %s', (raw, id) => expect(pipe.transform(raw)).toBe(id));

  it.each(['0', '-1', '01', '1.0', '1e3', '0x1f', 'abc', '', ' 1', '2147483648', '99999999999'])(
    'refuses "%s" with a 400',
    (raw) => {
      expect(() => pipe.transform(raw)).toThrow(BadRequestException);
    },
  );
});
