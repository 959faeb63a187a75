import type { RegisteredClient } from './clients/client-registry';
import { oauthError } from './oauth-error';

/**
 * The resource indicator (RFC 8707 §2: an absolute URI) of the service whose
 * audience identifier is `<audience>`: `urn:jwt-ms:<audience>`, e.g.
 * `urn:jwt-ms:users-service`. A URN rather than the service's URL, which
 * differs between `npm start`, compose and a cluster; the token's `aud` is the
 * audience identifier the service checks.
 */
export const RESOURCE_URI_PREFIX = 'urn:jwt-ms:';

/** @returns the resource indicator of an audience (see {@link RESOURCE_URI_PREFIX}) */
export function resourceIndicatorOf(audience: string): string {
  return `${RESOURCE_URI_PREFIX}${audience}`;
}

/**
 * The audiences a token request names, within what the client may ask for.
 *
 * - `resource` (RFC 8707 §2), any grant: absolute URIs without a fragment, each
 *   the indicator of a known service ({@link RESOURCE_URI_PREFIX});
 * - `audience` (RFC 8693 §2.1), token exchange only: the services' logical names.
 *
 * Nothing named: all the audiences the client is registered for (RFC 8707 §2:
 * the server's default).
 *
 * @param client the authenticated client
 * @param resources the `resource` parameters (none, one or several)
 * @param audiences the `audience` parameters, for token exchange; pass [] elsewhere
 * @returns the audiences, each once, in the client's registration order
 * @throws ProblemException 400 `invalid_target` for a malformed, unknown or not permitted target;
 *   `invalid_request` for a `resource` that is not an absolute URI or has a fragment
 */
export function grantedAudiences(
  client: RegisteredClient,
  resources: readonly string[],
  audiences: readonly string[],
): string[] {
  const named = new Set(audiences);
  for (const resource of resources) named.add(audienceOfResource(resource));
  if (named.size === 0) {
    if (client.audiences.length === 0) throw oauthError('invalid_target', 'This client may not ask for any audience.');
    return [...client.audiences];
  }
  for (const audience of named) {
    if (!client.audiences.includes(audience)) {
      throw oauthError('invalid_target', `This client may not ask for a token for "${clip(audience)}".`);
    }
  }
  return client.audiences.filter((audience) => named.has(audience));
}

function audienceOfResource(resource: string): string {
  let uri: URL;
  try {
    uri = new URL(resource);
  } catch {
    throw oauthError('invalid_target', 'A resource must be an absolute URI (RFC 8707 §2).');
  }
  if (uri.hash !== '' || resource.includes('#')) {
    throw oauthError('invalid_target', 'A resource must not have a fragment (RFC 8707 §2).');
  }
  if (!resource.startsWith(RESOURCE_URI_PREFIX) || resource.length === RESOURCE_URI_PREFIX.length) {
    throw oauthError(
      'invalid_target',
      `Unknown resource "${clip(resource)}"; resources are named ${RESOURCE_URI_PREFIX}<service>.`,
    );
  }
  return resource.slice(RESOURCE_URI_PREFIX.length);
}

/**
 * The scopes a token is issued with (RFC 6749 §3.3): the requested ones, all
 * within `allowed`; without a request, all of `allowed` (the documented default).
 *
 * @param requested the `scope` parameter (space-separated), or undefined when absent
 * @param allowed what this client may be given here (its registration, narrowed by roles or the subject token)
 * @returns the scopes, each once, in `allowed`'s order; never empty
 * @throws ProblemException 400 `invalid_scope` for a scope outside `allowed`, or when nothing would be granted
 */
export function grantedScopes(requested: string | undefined, allowed: readonly string[]): string[] {
  if (requested === undefined) {
    if (allowed.length === 0) throw oauthError('invalid_scope', 'No scope can be granted to this client here.');
    return [...allowed];
  }
  if (!/^[\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*$/.test(requested)) {
    throw oauthError('invalid_scope', 'The scope must be scope tokens separated by single spaces (RFC 6749 §3.3).');
  }
  const asked = new Set(requested.split(' '));
  for (const scope of asked) {
    if (!allowed.includes(scope))
      throw oauthError('invalid_scope', `The scope "${clip(scope)}" cannot be granted here.`);
  }
  return allowed.filter((scope) => asked.has(scope));
}

/** Quotes at most 64 characters of a client-supplied value back. */
function clip(value: string): string {
  return value.length > 64 ? `${value.slice(0, 64)}…` : value;
}
