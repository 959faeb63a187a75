import { SetMetadata } from '@nestjs/common';

/** Metadata key read by the global authentication guard. */
export const IS_PUBLIC_KEY = 'jwtms:isPublic';

/**
 * Marks a controller or handler as reachable without an access token: the
 * global guard of `@jwt-ms/auth-jwt` lets it through (health probes, login,
 * the JWKS). Everything not marked is protected by default.
 */
export const Public = () => SetMetadata(IS_PUBLIC_KEY, true);
