import { ApiResponse } from '@nestjs/swagger';
import { ERROR_CODES, PROBLEM_CONTENT_TYPE, type ErrorCode } from '@jwt-ms/contracts';
import { STATUS_CODES } from 'node:http';

/** Name of the RFC 9457 problem schema under `components.schemas`. */
export const PROBLEM_SCHEMA = 'Problem';

/**
 * JSON Schema of the problem+json body every error here is (RFC 9457 §3, `ProblemDetails` of
 * `@jwt-ms/contracts`): its `code` is one of {@link ERROR_CODES}, the stable codes clients switch on.
 * Written in the subset that OpenAPI 3.0 and 3.1 read alike.
 */
export const PROBLEM_JSON_SCHEMA = {
  type: 'object',
  description:
    'RFC 9457 problem details. `code` is the stable machine-readable error; `title` and `detail` are for people.',
  required: ['type', 'title', 'status', 'code'],
  properties: {
    type: { type: 'string', description: 'RFC 9457 §3.1.1; `about:blank`: the title is the status phrase.' },
    title: { type: 'string', description: 'RFC 9457 §3.1.4.' },
    status: { type: 'integer', minimum: 400, maximum: 599, description: 'RFC 9457 §3.1.2: the HTTP status.' },
    detail: { type: 'string', description: 'RFC 9457 §3.1.3: this occurrence, in words.' },
    instance: { type: 'string', description: 'RFC 9457 §3.1.5: the request path.' },
    code: { type: 'string', enum: [...ERROR_CODES], description: 'The stable error code.' },
    errors: {
      type: 'array',
      maxItems: 10,
      description: 'For `validation_failed`: the invalid fields (at most 10).',
      items: {
        type: 'object',
        required: ['field', 'message'],
        properties: { field: { type: 'string' }, message: { type: 'string' } },
      },
    },
    errors_omitted: { type: 'integer', minimum: 1, description: 'How many more invalid fields than `errors` lists.' },
    checks: { type: 'object', description: 'For a failed readiness check: the result of each dependency.' },
    error: { type: 'string', description: 'OAuth endpoints: the RFC 6749 §5.2 error code.' },
    error_description: { type: 'string', description: 'OAuth endpoints: RFC 6749 §5.2 `error_description`.' },
  },
  additionalProperties: true,
} as const;

/**
 * An example problem body, as {@link problemOf} of the problem module builds them.
 *
 * @param status the HTTP status (4xx or 5xx)
 * @param code the stable code
 * @param detail what happened, for a person
 */
export function problemExample(status: number, code: ErrorCode, detail: string): Record<string, unknown> {
  return { type: 'about:blank', title: STATUS_CODES[status] ?? 'Error', status, detail, code };
}

/**
 * The OpenAPI response object of an error answer: problem+json whose `code` is one of `codes`.
 *
 * @param status the HTTP status
 * @param codes the stable codes this answer may carry (the first is the example's)
 * @param description when the answer is given
 * @param mediaType `application/problem+json`, or `application/json` on the OAuth endpoints (RFC 6749 §5.2)
 */
export function problemResponse(
  status: number,
  codes: readonly ErrorCode[],
  description: string,
  mediaType: string = PROBLEM_CONTENT_TYPE,
): { description: string; content: Record<string, { schema: object; example: object }> } {
  return {
    description,
    content: {
      [mediaType]: {
        schema: {
          allOf: [
            { $ref: `#/components/schemas/${PROBLEM_SCHEMA}` },
            { type: 'object', properties: { code: { type: 'string', enum: [...codes] } } },
          ],
        },
        example: problemExample(status, codes[0], description),
      },
    },
  };
}

/**
 * Documents an error answer of a handler (or of every handler of a controller):
 * `@ApiProblemResponse(404, ['not_found'], 'No such order, or not the caller's.')`.
 * The schema is the shared {@link PROBLEM_SCHEMA}, narrowed to `codes`.
 *
 * @param status the HTTP status
 * @param codes the stable codes this answer may carry (the first is the example's)
 * @param description when the answer is given
 * @param headers the answer's headers worth naming (`Retry-After`, `WWW-Authenticate`): name → description
 */
export function ApiProblemResponse(
  status: number,
  codes: readonly [ErrorCode, ...ErrorCode[]],
  description: string,
  headers: Readonly<Record<string, string>> = {},
): MethodDecorator & ClassDecorator {
  const named = Object.fromEntries(
    Object.entries(headers).map(([name, text]) => [name, { description: text, schema: { type: 'string' as const } }]),
  );
  return ApiResponse({
    status,
    ...problemResponse(status, codes, description),
    ...(Object.keys(named).length > 0 && { headers: named }),
  });
}

/** The `headers` of {@link ApiProblemResponse} for a 429 or 503 that says when to come back. */
export const RETRY_AFTER: Readonly<Record<string, string>> = {
  'Retry-After': 'Seconds until the request may succeed (RFC 9110 §10.2.3).',
};
