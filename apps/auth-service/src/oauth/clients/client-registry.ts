import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { SCOPES_BY_ROLE } from '@jwt-ms/contracts';
import { ConfigError } from '@jwt-ms/service-core';
import type { AuthServiceConfig } from '../../auth-service.config';
import { DEVELOPMENT_CLIENTS, DEVELOPMENT_SECRET_HASHES } from './development-clients';

/** The grant types the token endpoint offers (RFC 6749 §4.1.3, §4.4, §6; RFC 8693 §2.1). */
export const GRANT_TYPES = {
  authorizationCode: 'authorization_code',
  refreshToken: 'refresh_token',
  clientCredentials: 'client_credentials',
  tokenExchange: 'urn:ietf:params:oauth:grant-type:token-exchange',
} as const;
export type GrantType = (typeof GRANT_TYPES)[keyof typeof GRANT_TYPES];
const GRANT_TYPE_VALUES = Object.values(GRANT_TYPES) as [GrantType, ...GrantType[]];

/**
 * One registered client, as the token, revocation and introspection
 * endpoints use it.
 */
export interface RegisteredClient {
  /** `client_id` (RFC 6749 §2.2). */
  id: string;
  /**
   * RFC 6749 §2.1: `confidential` clients authenticate with a secret
   * (`client_secret_basic` or `client_secret_post`, §2.3.1); `public` ones
   * only identify themselves (`none`).
   */
  type: 'public' | 'confidential';
  /** argon2id hash (PHC string) of the secret; null for a public client. The secret itself is never held. */
  secretHash: string | null;
  /** The grants it may use at the token endpoint. */
  grantTypes: readonly GrantType[];
  /** The scopes it may be given: an upper bound on every token issued to it (RFC 6749 §3.3). */
  scopes: readonly string[];
  /** The audiences (resource services) it may ask tokens for (RFC 8707); a request naming none gets all of them. */
  audiences: readonly string[];
  /**
   * Token exchange (RFC 8693): the audiences a subject token must have been
   * issued for, i.e. the service this client is. orders-service may exchange
   * only tokens that were sent to orders-service.
   */
  subjectTokenAudiences: readonly string[];
  /**
   * The authorization-code grant's redirect URIs (RFC 6749 §3.1.2), compared
   * exactly (RFC 9700 §4.1.3), except the port of a loopback IP literal
   * (RFC 8252 §7.3; see `redirectUriMatches`). Empty for a client without that grant.
   */
  redirectUris: readonly string[];
}

/** Grants a public client may use: none of them needs a secret (RFC 6749 §4.1, §6). */
const PUBLIC_GRANTS: readonly GrantType[] = [GRANT_TYPES.authorizationCode, GRANT_TYPES.refreshToken];

/** Client ids: RFC 6749 §2.2 leaves the form open; these survive Basic's form-encoding unchanged. */
const CLIENT_ID = /^[A-Za-z][A-Za-z0-9._-]{0,63}$/;
/** User subjects are UUIDs; a client id shaped like one could be taken for a user (RFC 9068 §5). */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** A scope token (RFC 6749 §3.3: `%x21 / %x23-5B / %x5D-7E`). */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

/** One entry of `OAUTH_CLIENTS` (JSON), in RFC 7591 §2 client-metadata names where one exists. */
const clientEntry = z
  .object({
    client_id: z
      .string()
      .regex(CLIENT_ID, 'expected 1 to 64 letters, digits, ".", "_" or "-", starting with a letter')
      .refine((id) => !UUID.test(id), 'must not look like a UUID: user subjects are UUIDs (RFC 9068 §5)'),
    /** argon2id hash of the secret (`npm run clients:secret` prints one); absent for a public client. */
    client_secret_hash: z
      .string()
      .regex(/^\$argon2id\$v=19\$[mtp=0-9,]+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/, 'expected an argon2id PHC string')
      .optional(),
    grant_types: z.array(z.enum(GRANT_TYPE_VALUES)).default([]),
    /** Space-separated scopes (RFC 7591 §2 `scope`). */
    scope: z
      .string()
      .default('')
      .transform((scope) => scope.split(' ').filter(Boolean))
      .pipe(z.array(z.string().regex(SCOPE_TOKEN, 'expected scope tokens separated by single spaces'))),
    /** Audiences it may ask for (the name Hydra gives this client metadata). */
    audience: z.array(z.string().min(1)).default([]),
    /** Token exchange only: whose tokens it may exchange. */
    subject_token_audience: z.array(z.string().min(1)).default([]),
    /** Authorization code only (RFC 7591 §2 `redirect_uris`): absolute http(s) URIs without a fragment. */
    redirect_uris: z
      .array(
        z
          .string()
          .max(512)
          .refine(isRedirectUri, 'expected an absolute http or https URI without a fragment (RFC 6749 §3.1.2)'),
      )
      .default([]),
  })
  .strict();

const registrySchema = z.array(clientEntry).min(1, 'expected at least one client');

/**
 * The clients' registry: who may call the token endpoint, with which grants,
 * for which scopes and audiences. Read once, at start, from `OAUTH_CLIENTS`
 * (JSON) or `OAUTH_CLIENTS_FILE` (a path to the same JSON); without either,
 * outside production, the development clients of `development-clients.ts`.
 */
export class ClientRegistry {
  private readonly clients: ReadonlyMap<string, RegisteredClient>;

  /** @param clients validated clients, ids unique (see {@link loadClientRegistry}) */
  constructor(clients: readonly RegisteredClient[]) {
    this.clients = new Map(clients.map((client) => [client.id, client]));
  }

  /** @returns the registered client with this id, or undefined */
  find(id: string): RegisteredClient | undefined {
    return this.clients.get(id);
  }

  /** Every registered client, in registration order. */
  all(): RegisteredClient[] {
    return [...this.clients.values()];
  }
}

/**
 * Reads and validates the client registry (see {@link ClientRegistry}).
 * Checked here, so a mistake stops the start with its reason:
 * - ids unique; a public client has no secret and no grant that needs one
 *   (client credentials, token exchange: RFC 6749 §4.4.2, RFC 8693 §2.1);
 *   a confidential one has a secret hash;
 * - every audience is one of `AUTH_AUDIENCE`; every scope is one this issuer knows;
 * - token exchange needs `subject_token_audience`;
 * - the first-party client (`AUTH_CLIENT_ID`) is registered and public;
 * - in production: the registry is given explicitly and holds no development secret.
 *
 * @param config the auth service's configuration (`OAUTH_CLIENTS`, `OAUTH_CLIENTS_FILE`, `AUTH_AUDIENCE`, `AUTH_CLIENT_ID`, `NODE_ENV`)
 * @returns the registry
 * @throws ConfigError naming the variable, the client and what is wrong
 */
export function loadClientRegistry(config: AuthServiceConfig): ClientRegistry {
  const { source, raw } = registrySource(config);
  let json: unknown;
  try {
    json = raw === undefined ? DEVELOPMENT_CLIENTS : JSON.parse(raw);
  } catch {
    throw new ConfigError([`${source}: not valid JSON (expected an array of clients, see docs/configuration.md)`]);
  }
  const parsed = registrySchema.safeParse(json);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map(
        (issue) => `${source}${issue.path.map((part) => `[${String(part)}]`).join('')}: ${issue.message}`,
      ),
    );
  }
  const problems: string[] = [];
  const knownScopes = new Set(Object.values(SCOPES_BY_ROLE).flat());
  const clients = parsed.data.map((entry): RegisteredClient => {
    const name = `${source}: client "${entry.client_id}"`;
    const confidential = entry.client_secret_hash !== undefined;
    if (!confidential) {
      const needsSecret = entry.grant_types.filter((grant) => !PUBLIC_GRANTS.includes(grant));
      if (needsSecret.length > 0) problems.push(`${name}: a public client cannot use ${needsSecret.join(', ')}`);
    }
    for (const audience of [...entry.audience, ...entry.subject_token_audience]) {
      if (!config.AUTH_AUDIENCE.includes(audience))
        problems.push(
          `${name}: unknown audience "${audience}" (AUTH_AUDIENCE lists ${config.AUTH_AUDIENCE.join(', ')})`,
        );
    }
    for (const scope of entry.scope) {
      if (!knownScopes.has(scope)) problems.push(`${name}: unknown scope "${scope}"`);
    }
    const exchanges = entry.grant_types.includes(GRANT_TYPES.tokenExchange);
    if (exchanges && entry.subject_token_audience.length === 0) {
      problems.push(`${name}: token exchange needs subject_token_audience (the service whose tokens it exchanges)`);
    }
    const codeGrant = entry.grant_types.includes(GRANT_TYPES.authorizationCode);
    if (codeGrant && entry.redirect_uris.length === 0) {
      problems.push(`${name}: the authorization_code grant needs redirect_uris (RFC 6749 §3.1.2.2)`);
    }
    if (!codeGrant && entry.redirect_uris.length > 0) {
      problems.push(`${name}: redirect_uris are for the authorization_code grant, which it does not have`);
    }
    if (config.NODE_ENV === 'production' && DEVELOPMENT_SECRET_HASHES.includes(entry.client_secret_hash ?? '')) {
      problems.push(`${name}: uses a development secret; generate one with \`npm run clients:secret\``);
    }
    return {
      id: entry.client_id,
      type: confidential ? 'confidential' : 'public',
      secretHash: entry.client_secret_hash ?? null,
      grantTypes: [...new Set(entry.grant_types)],
      scopes: [...new Set(entry.scope)],
      audiences: [...new Set(entry.audience)],
      subjectTokenAudiences: [...new Set(entry.subject_token_audience)],
      redirectUris: [...new Set(entry.redirect_uris)],
    };
  });
  const ids = clients.map((client) => client.id);
  for (const id of new Set(ids.filter((id, index) => ids.indexOf(id) !== index))) {
    problems.push(`${source}: client "${id}" is registered twice`);
  }
  const firstParty = clients.find((client) => client.id === config.AUTH_CLIENT_ID);
  if (!firstParty || firstParty.type !== 'public') {
    problems.push(
      `${source}: the first-party client AUTH_CLIENT_ID="${config.AUTH_CLIENT_ID}" must be registered as a public client`,
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return new ClientRegistry(clients);
}

/** Where the registry comes from; `raw` undefined means the development clients. */
function registrySource(config: AuthServiceConfig): { source: string; raw: string | undefined } {
  if (config.OAUTH_CLIENTS !== undefined && config.OAUTH_CLIENTS_FILE !== undefined) {
    throw new ConfigError(['OAUTH_CLIENTS, OAUTH_CLIENTS_FILE: set one of them, not both']);
  }
  if (config.OAUTH_CLIENTS !== undefined) return { source: 'OAUTH_CLIENTS', raw: config.OAUTH_CLIENTS };
  if (config.OAUTH_CLIENTS_FILE !== undefined) {
    const source = `OAUTH_CLIENTS_FILE (${config.OAUTH_CLIENTS_FILE})`;
    if (!existsSync(config.OAUTH_CLIENTS_FILE)) throw new ConfigError([`${source}: no such file`]);
    return { source, raw: readFileSync(config.OAUTH_CLIENTS_FILE, 'utf8') };
  }
  if (config.NODE_ENV === 'production') {
    throw new ConfigError([
      'OAUTH_CLIENTS: production needs the client registry: set OAUTH_CLIENTS (JSON) or OAUTH_CLIENTS_FILE (path); see docs/configuration.md',
    ]);
  }
  return { source: 'the development clients', raw: undefined };
}

/** @returns whether `value` can be a registered redirect URI: absolute, http or https, no fragment (RFC 6749 §3.1.2) */
function isRedirectUri(value: string): boolean {
  let uri: URL;
  try {
    uri = new URL(value);
  } catch {
    return false;
  }
  return (uri.protocol === 'https:' || uri.protocol === 'http:') && !value.includes('#') && uri.username === '';
}

/** Loopback IP literals, whose port a native or local client cannot fix in advance (RFC 8252 §7.3). */
const LOOPBACK_LITERALS = ['127.0.0.1', '[::1]'];

/**
 * Whether a redirect URI sent with an authorization request is one the client
 * registered: the same string (RFC 6749 §3.1.2.3; RFC 9700 §4.1.3 asks for
 * exact matching, no patterns), except that a registered `http` URI on a
 * loopback IP literal (`127.0.0.1`, `[::1]`) without a port matches any port,
 * as RFC 8252 §7.3 requires: the local cluster's ingress and a native app
 * listen where the kernel lets them. Never `localhost` (RFC 8252 §8.3).
 *
 * @param registered the client's redirect URIs
 * @param presented the `redirect_uri` parameter
 * @returns the matching registered URI, or undefined
 */
export function redirectUriMatches(registered: readonly string[], presented: string): string | undefined {
  if (registered.includes(presented)) return presented;
  let uri: URL;
  try {
    uri = new URL(presented);
  } catch {
    return undefined;
  }
  if (uri.protocol !== 'http:' || !LOOPBACK_LITERALS.includes(uri.hostname) || uri.port === '') return undefined;
  // The presented URI with its port taken out must be, as a string, a registered one.
  const portless = presented.replace(`${uri.hostname}:${uri.port}`, uri.hostname);
  return registered.includes(portless) && portless !== presented ? portless : undefined;
}
