import { applyDecorators } from '@nestjs/common';
import { IsDefined, ValidateBy, ValidateIf, ValidationArguments, isEmail } from 'class-validator';
import { MAX_ID } from './parse-id.pipe';

/**
 * Field validators for request DTOs. Each one gives one clear message naming the field for
 * every way a value can be wrong, so bad input is a 400 that says what to fix — never a 500
 * from the database (PostgreSQL refuses NUL in text) or from a validator that throws (the
 * e-mail validator on a lone UTF-16 surrogate).
 */

/** C0 control characters (NUL included) and DEL; `\t`, `\n`, `\r` are allowed where `multiline`. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_SINGLE_LINE = /[\u0000-\u001f\u007f]/;
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_MULTILINE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

export interface TextRules {
  min: number;
  max: number;
  /** Allow tab, line feed and carriage return (body text); other control characters never. */
  multiline?: boolean;
}

/** Why a text value is refused, or undefined when it is fine. */
export function textProblem(value: unknown, rules: TextRules): string | undefined {
  if (typeof value !== 'string') return 'must be a string';
  if (!value.isWellFormed())
    return 'must be valid Unicode text (it contains a lone UTF-16 surrogate)';
  if (value.includes('\u0000')) return 'must not contain NUL characters';
  if ((rules.multiline ? CONTROL_MULTILINE : CONTROL_SINGLE_LINE).test(value))
    return rules.multiline
      ? 'must not contain control characters other than tab and line breaks'
      : 'must not contain control characters or line breaks';
  if (value.length < rules.min || value.length > rules.max)
    return `must be ${rules.min}-${rules.max} characters long`;
  if (value.trim() === '') return 'must not be blank';
  return undefined;
}

function message(check: (value: unknown) => string | undefined) {
  return (args: ValidationArguments): string =>
    `${args.property} ${check(args.value) ?? 'is invalid'}`;
}

/** Marks a field required: a missing or null value is "<field> is required" (checked before the rest). */
export const Required = (): PropertyDecorator =>
  IsDefined({ message: (a: ValidationArguments) => `${a.property} is required` });

/**
 * An optional field of a partial update: absent is fine, but `null` is validated (and refused by
 * the field's rules) instead of silently meaning "no change".
 */
export const OptionalField = (): PropertyDecorator =>
  ValidateIf((_o: unknown, v: unknown) => v !== undefined);

/** A text field: a string of `min`–`max` characters, not blank, well-formed, no NUL or control characters. */
export const IsText = (rules: TextRules): PropertyDecorator =>
  ValidateBy({
    name: 'isText',
    validator: {
      validate: (value: unknown) => textProblem(value, rules) === undefined,
      defaultMessage: message((v) => textProblem(v, rules)),
    },
  });

export const MIN_PASSWORD_LENGTH = 8;
export const MAX_PASSWORD_LENGTH = 128;

function passwordProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return 'must be a string';
  if (!value.isWellFormed())
    return 'must be valid Unicode text (it contains a lone UTF-16 surrogate)';
  if (value.includes('\u0000')) return 'must not contain NUL characters';
  const length = [...value].length; // characters, not UTF-16 units
  if (length < MIN_PASSWORD_LENGTH || length > MAX_PASSWORD_LENGTH)
    return `must be ${MIN_PASSWORD_LENGTH}-${MAX_PASSWORD_LENGTH} characters long`;
  return undefined;
}

/** A password: 8–128 characters of any kind (spaces and symbols welcome), no NUL. */
export const IsPassword = (): PropertyDecorator =>
  ValidateBy({
    name: 'isPassword',
    validator: {
      validate: (value: unknown) => passwordProblem(value) === undefined,
      defaultMessage: message(passwordProblem),
    },
  });

export const MAX_EMAIL_LENGTH = 254;

/**
 * The `email` format of JSON Schema and OpenAPI as validators implement it (ajv-formats' full
 * mode): an ASCII dot-atom local part and a domain of letter-digit-hyphen labels. An address
 * must pass it as well as class-validator's `isEmail`, so what the API accepts is exactly what
 * its document's `format: email` promises: no quoted local parts, no non-ASCII characters
 * (lookalikes such as full-width letters included; a domain can be written in its `xn--` form).
 */
const EMAIL_FORMAT =
  /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/i;

function emailProblem(value: unknown): string | undefined {
  const text = textProblem(value, { min: 3, max: MAX_EMAIL_LENGTH });
  if (text) return text;
  const invalid =
    'must be a valid e-mail address (ASCII: an internationalised domain in its xn-- form)';
  try {
    return EMAIL_FORMAT.test(value as string) && isEmail(value) ? undefined : invalid;
  } catch {
    return invalid;
  }
}

/** An e-mail address (RFC 5321 length limit); never throws on odd input. */
export const IsEmailAddress = (): PropertyDecorator =>
  ValidateBy({
    name: 'isEmailAddress',
    validator: {
      validate: (value: unknown) => emailProblem(value) === undefined,
      defaultMessage: message(emailProblem),
    },
  });

/** A positive integer id that fits PostgreSQL `integer` (the body twin of `ParseIdPipe`). */
export const IsId = (): PropertyDecorator =>
  ValidateBy({
    name: 'isId',
    validator: {
      validate: (value: unknown) =>
        typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= MAX_ID,
      defaultMessage: (a: ValidationArguments) =>
        `${a.property} must be a positive integer (1-${MAX_ID})`,
    },
  });

/**
 * A required field (see {@link Required}) plus its rules. With the app's `stopAtFirstError`,
 * "is required" is checked first, then the rules in the order given; the first failure is the message.
 */
export const RequiredField = (...rules: PropertyDecorator[]): PropertyDecorator =>
  applyDecorators(Required(), ...rules);
