/** Any JSON object of an OpenAPI document. */
type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Rewrites one OpenAPI 3.0 Schema Object, and every schema inside it, as the JSON Schema 2020-12 that
 * OpenAPI 3.1 uses (OAS 3.1 §4.8.24; the changes listed in the 3.0 → 3.1 migration guide):
 * - `nullable: true` → `null` among the `type`s (or `anyOf [schema, {type: null}]` without a `type`), and in `enum`;
 * - `example` → `examples: [example]` (3.1 deprecates the former in schemas);
 * - boolean `exclusiveMinimum`/`exclusiveMaximum` → the bound itself.
 *
 * @param schema a 3.0 Schema Object (not modified)
 * @returns a new 3.1 Schema Object
 */
export function schemaTo31(schema: unknown): unknown {
  if (!isObject(schema)) return schema;
  const out: Json = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'properties' || key === 'patternProperties') {
      out[key] = isObject(value)
        ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, schemaTo31(v)]))
        : value;
    } else if (key === 'allOf' || key === 'anyOf' || key === 'oneOf') {
      out[key] = Array.isArray(value) ? value.map(schemaTo31) : value;
    } else if (key === 'items' || key === 'not' || key === 'additionalProperties') {
      out[key] = schemaTo31(value);
    } else if (key !== 'nullable' && key !== 'example') {
      out[key] = value;
    }
  }
  if ('example' in schema && !('examples' in schema)) out['examples'] = [schema['example']];
  for (const [flag, bound] of [
    ['exclusiveMinimum', 'minimum'],
    ['exclusiveMaximum', 'maximum'],
  ] as const) {
    if (typeof schema[flag] === 'boolean') {
      delete out[flag];
      if (schema[flag] === true && typeof schema[bound] === 'number') {
        out[flag] = schema[bound];
        delete out[bound];
      }
    }
  }
  if (schema['nullable'] !== true) return out;
  if (Array.isArray(out['enum']) && !out['enum'].includes(null)) out['enum'] = [...out['enum'], null];
  if (typeof out['type'] === 'string') return { ...out, type: [out['type'], 'null'] };
  if (Array.isArray(out['type']))
    return out['type'].includes('null') ? out : { ...out, type: [...out['type'], 'null'] };
  return { anyOf: [out, { type: 'null' }] };
}

/** Rewrites the schema of every media type in a `content` map. */
function contentTo31(content: unknown): unknown {
  if (!isObject(content)) return content;
  return Object.fromEntries(
    Object.entries(content).map(([type, media]) => [
      type,
      isObject(media) && 'schema' in media ? { ...media, schema: schemaTo31(media['schema']) } : media,
    ]),
  );
}

/** A Parameter or Header Object with its schema rewritten. */
function parameterTo31(parameter: unknown): unknown {
  if (!isObject(parameter)) return parameter;
  const out: Json = { ...parameter };
  if ('schema' in parameter) out['schema'] = schemaTo31(parameter['schema']);
  if ('content' in parameter) out['content'] = contentTo31(parameter['content']);
  return out;
}

/** A Response Object with its headers' and contents' schemas rewritten. */
function responseTo31(response: unknown): unknown {
  if (!isObject(response)) return response;
  const out: Json = { ...response };
  if ('content' in response) out['content'] = contentTo31(response['content']);
  if (isObject(response['headers'])) {
    out['headers'] = Object.fromEntries(Object.entries(response['headers']).map(([n, h]) => [n, parameterTo31(h)]));
  }
  return out;
}

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/**
 * Converts the OpenAPI 3.0 document `@nestjs/swagger` builds into an OpenAPI 3.1.0 one: every schema
 * (components, parameters, bodies, responses, headers) through {@link schemaTo31}, and `openapi: 3.1.0`.
 * Media-type and parameter `example`s stay: 3.1 keeps them there.
 *
 * @param document a 3.0 document (not modified)
 * @returns a new 3.1 document
 */
export function toOpenApi31<T extends object>(document: T): T & { openapi: '3.1.0' } {
  const source = document as unknown as Json;
  const paths: Json = {};
  for (const [path, item] of Object.entries(isObject(source['paths']) ? source['paths'] : {})) {
    if (!isObject(item)) continue;
    const next: Json = { ...item };
    if (Array.isArray(item['parameters'])) next['parameters'] = item['parameters'].map(parameterTo31);
    for (const method of HTTP_METHODS) {
      const operation = item[method];
      if (!isObject(operation)) continue;
      const op: Json = { ...operation };
      if (Array.isArray(operation['parameters'])) op['parameters'] = operation['parameters'].map(parameterTo31);
      if (isObject(operation['requestBody'])) {
        op['requestBody'] = { ...operation['requestBody'], content: contentTo31(operation['requestBody']['content']) };
      }
      if (isObject(operation['responses'])) {
        op['responses'] = Object.fromEntries(
          Object.entries(operation['responses']).map(([status, response]) => [status, responseTo31(response)]),
        );
      }
      next[method] = op;
    }
    paths[path] = next;
  }
  const components: Json = isObject(source['components']) ? { ...source['components'] } : {};
  if (isObject(components['schemas'])) {
    components['schemas'] = Object.fromEntries(
      Object.entries(components['schemas']).map(([name, schema]) => [name, schemaTo31(schema)]),
    );
  }
  return { ...document, openapi: '3.1.0', paths, components } as T & { openapi: '3.1.0' };
}
