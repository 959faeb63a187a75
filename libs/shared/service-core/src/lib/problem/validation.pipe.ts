import { ParseUUIDPipe, ValidationError, ValidationPipe, type ArgumentMetadata } from '@nestjs/common';
import { getMetadataStorage } from 'class-validator';
import type { FieldError } from '@jwt-ms/contracts';
import { MAX_LISTED_ERRORS, ProblemException, invalidRequest } from './problem.exception';

/**
 * The request-body validation pipe every service installs: class-validator
 * rules on DTO classes, unknown properties rejected, values transformed to
 * the DTO's types.
 *
 * A body's own members are compared with the DTO's before class-validator
 * runs, whose cost is per member: more than {@link MAX_LISTED_ERRORS} unknown
 * members are refused at once (the first ten listed, the rest counted), and a
 * DTO that ignores unknown members gets them dropped here, not one by one by
 * class-validator. Nested objects are bounded by the body parser's value cap
 * (`MAX_JSON_VALUES`).
 *
 * @returns a ValidationPipe whose failures are 400 `validation_failed`
 *   problem details listing the first {@link MAX_LISTED_ERRORS} invalid fields
 *   (RFC 9457 §3.2 extension `errors`) and counting the rest (`errors_omitted`).
 */
export function createValidationPipe(): ValidationPipe {
  return new ProblemValidationPipe();
}

/** Marks a DTO whose unknown properties are dropped rather than refused (see {@link IgnoreUnknownProperties}). */
const IGNORES_UNKNOWN = Symbol('jwtms:ignoresUnknownProperties');

/**
 * On a DTO class: unknown properties are dropped instead of refused. For
 * protocol endpoints whose standard says so, e.g. RFC 6749 §3.2: "The
 * authorization server MUST ignore unrecognized request parameters."
 */
export function IgnoreUnknownProperties(): ClassDecorator {
  return (target) => {
    Reflect.defineMetadata(IGNORES_UNKNOWN, true, target);
  };
}

class ProblemValidationPipe extends ValidationPipe {
  private readonly lenient = new ValidationPipe(pipeOptions(false));

  constructor() {
    super(pipeOptions(true));
  }

  override transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'body' && metadata.data === undefined && isDto(metadata.metatype)) {
      // Checked before class-validator, which would turn a missing body into an empty object and
      // report every field of it.
      if (value === undefined) throw invalidRequest('The request body is missing.');
      if (typeof value !== 'object' || value === null || Array.isArray(value))
        throw invalidRequest('The request body must be a JSON object.');
    }
    const lenient = metadata.metatype && Reflect.getMetadata(IGNORES_UNKNOWN, metadata.metatype);
    if (metadata.type === 'body' && metadata.data === undefined && isDto(metadata.metatype)) {
      const body = value as Record<string, unknown>;
      const known = knownProperties(metadata.metatype as DtoClass);
      if (lenient) return this.lenient.transform(onlyKnown(body, known), metadata);
      refuseManyUnknown(body, known);
    }
    return lenient ? this.lenient.transform(value, metadata) : super.transform(value, metadata);
  }
}

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- class-validator's metadata is keyed by Function
type DtoClass = Function;

/** The properties each DTO class declares, as class-validator's whitelist sees them: those with a decorator. */
const KNOWN_PROPERTIES = new WeakMap<DtoClass, ReadonlySet<string>>();

function knownProperties(dto: DtoClass): ReadonlySet<string> {
  let known = KNOWN_PROPERTIES.get(dto);
  if (!known) {
    // The same call class-validator's whitelist makes (no schema, no groups, `always` off).
    const metadatas = getMetadataStorage().getTargetValidationMetadatas(dto, '', false, false);
    known = new Set(metadatas.map((metadata) => metadata.propertyName));
    KNOWN_PROPERTIES.set(dto, known);
  }
  return known;
}

/** A copy of `body` with only the members the DTO declares. */
function onlyKnown(body: Record<string, unknown>, known: ReadonlySet<string>): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  for (const name of Object.keys(body)) if (known.has(name)) kept[name] = body[name];
  return kept;
}

/**
 * Throws a 400 `validation_failed` when the body has more unknown members than
 * one answer lists, without running class-validator on any of them; fewer are
 * left to class-validator, which reports them beside the other errors.
 */
function refuseManyUnknown(body: Record<string, unknown>, known: ReadonlySet<string>): void {
  let unknown = 0;
  const listed: FieldError[] = [];
  for (const name of Object.keys(body)) {
    if (known.has(name)) continue;
    unknown += 1;
    if (listed.length < MAX_LISTED_ERRORS) listed.push({ field: name, message: `property ${name} should not exist` });
  }
  if (unknown <= MAX_LISTED_ERRORS) return;
  throw new ProblemException({
    status: 400,
    code: 'validation_failed',
    detail: 'The request is not valid; see `errors`.',
    errors: listed,
    errorsOmitted: unknown - listed.length,
  });
}

/** A DTO class, as opposed to a primitive wrapper (`String`, `Number`…) or no type at all. */
function isDto(metatype: ArgumentMetadata['metatype']): boolean {
  return typeof metatype === 'function' && ![String, Number, Boolean, Array, Object].includes(metatype as never);
}

function pipeOptions(forbidUnknown: boolean): ConstructorParameters<typeof ValidationPipe>[0] {
  return {
    whitelist: true,
    forbidNonWhitelisted: forbidUnknown,
    transform: true,
    // The value is kept to tell a missing field from a wrong one; it never reaches the answer.
    validationError: { target: false, value: true },
    exceptionFactory: (errors) =>
      new ProblemException({
        status: 400,
        code: 'validation_failed',
        detail: 'The request is not valid; see `errors`.',
        errors: flatten(errors),
      }),
  };
}

/**
 * One entry per broken rule of each field, except a field that is missing
 * altogether: one entry saying it is required, not one per rule it would
 * have had to meet (an optional field that is absent has no error at all).
 */
function flatten(errors: ValidationError[], parent = ''): FieldError[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    if (error.value === undefined && error.constraints) return [{ field, message: `${field} is required` }];
    const own = Object.values(error.constraints ?? {}).map((message) => ({ field, message }));
    return [...own, ...flatten(error.children ?? [], field)];
  });
}

/** UUIDs are stored lower-case: an upper-case spelling of the same id finds the same row. */
class LowerCaseUuidPipe extends ParseUUIDPipe {
  override async transform(value: string, metadata: ArgumentMetadata): Promise<string> {
    return (await super.transform(value, metadata)).toLowerCase();
  }
}

/**
 * Validates a path parameter as a UUID: `@Param('id', parseUuid('id'))`.
 * A bad value is a 400 `validation_failed` naming the parameter.
 */
export function parseUuid(field: string): ParseUUIDPipe {
  return new LowerCaseUuidPipe({
    exceptionFactory: () =>
      new ProblemException({
        status: 400,
        code: 'validation_failed',
        detail: 'The request is not valid; see `errors`.',
        errors: [{ field, message: `${field} must be a UUID` }],
      }),
  });
}
