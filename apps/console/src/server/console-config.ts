import { z } from 'zod';
import type { BrowserConfig } from '../shared/browser-config';

export type { BrowserConfig };

/** The console server's whole configuration. */
export interface ConsoleConfig {
  host: string;
  /** TCP port; 0 lets the kernel choose (the `listening on` line tells which). */
  port: number;
  browser: BrowserConfig;
  /** Service name → base URL whose `/metrics` the console's server reads for the page's charts; empty: no charts. */
  metricsTargets: Record<string, string>;
}

/** Thrown when the environment does not describe a usable console; the message names each variable. */
export class ConsoleConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConsoleConfigError';
  }
}

/** An absolute http(s) URL with no query, fragment or credentials, without its trailing slash. */
const baseUrl = z
  .string()
  .url({ message: 'expected an absolute http:// or https:// URL' })
  .refine(
    (value) => {
      // zod runs this even when .url() has already failed: a value URL cannot read is refused here, not thrown.
      if (!URL.canParse(value)) return false;
      const url = new URL(value);
      return /^https?:$/.test(url.protocol) && !url.search && !url.hash && !url.username && !url.password;
    },
    { message: 'expected an http:// or https:// URL with no query, fragment or credentials' },
  )
  .transform((value) => value.replace(/\/+$/, ''));

const schema = z.object({
  HOST: z
    .string()
    .regex(/^[A-Za-z0-9.:-]{1,253}$/, { message: 'expected an IP address or host name, e.g. 127.0.0.1 or 0.0.0.0' })
    .default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3003),
  CONSOLE_ISSUER: baseUrl,
  CONSOLE_CLIENT_ID: z
    .string()
    .regex(/^[\x21-\x7e]{1,128}$/, { message: 'expected a client id (printable ASCII, RFC 6749 §A.1)' })
    .default('console'),
  CONSOLE_AUTH_URL: baseUrl.optional(),
  CONSOLE_USERS_URL: baseUrl.optional(),
  CONSOLE_ORDERS_URL: baseUrl.optional(),
  CONSOLE_METRICS_TARGETS: z
    .string()
    .transform((value, context) => {
      const targets: Record<string, string> = {};
      for (const entry of value
        .split(',')
        .map((part) => part.trim())
        .filter(Boolean)) {
        const [name, url] = [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)];
        const parsed = baseUrl.safeParse(url);
        if (!/^[a-z][a-z0-9-]{0,31}$/.test(name) || !parsed.success) {
          context.addIssue({ code: 'custom', message: 'expected name=http://host:port pairs, comma-separated' });
          return z.NEVER;
        }
        targets[name] = parsed.data;
      }
      return targets;
    })
    .optional(),
});

/**
 * Reads the console's configuration from the environment, once, at start.
 *
 * Variables: `HOST` (127.0.0.1), `PORT` (3003), `CONSOLE_ISSUER` (required),
 * `CONSOLE_CLIENT_ID` (`console`), and `CONSOLE_AUTH_URL`, `CONSOLE_USERS_URL`,
 * `CONSOLE_ORDERS_URL`: each API's base URL, unset for the page's own origin
 * (an ingress), and `CONSOLE_METRICS_TARGETS` (`users=http://users:3000,orders=…`:
 * where the server reads each service's `/metrics` for the charts; unset, no
 * charts). An empty variable counts as unset.
 *
 * @param env the environment, `process.env` by default
 * @returns the validated configuration
 * @throws ConsoleConfigError naming each bad variable and what it expected
 */
export function loadConsoleConfig(env: NodeJS.ProcessEnv = process.env): ConsoleConfig {
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const result = schema.safeParse(present);
  if (!result.success)
    throw new ConsoleConfigError(result.error.issues.map((issue) => `${String(issue.path[0])}: ${issue.message}`));
  const values = result.data;
  return {
    host: values.HOST,
    port: values.PORT,
    browser: {
      issuer: values.CONSOLE_ISSUER,
      clientId: values.CONSOLE_CLIENT_ID,
      authUrl: values.CONSOLE_AUTH_URL ?? '',
      usersUrl: values.CONSOLE_USERS_URL ?? '',
      ordersUrl: values.CONSOLE_ORDERS_URL ?? '',
    },
    metricsTargets: values.CONSOLE_METRICS_TARGETS ?? {},
  };
}

/**
 * The page's Content Security Policy: scripts and styles only from the
 * console's own files (no `unsafe-inline`, no `eval`), fetches only to the
 * console and the origins the config names, no frames, no forms, no plugins.
 * The login happens by a top-level navigation to the issuer, which no
 * directive restricts (`navigate-to` was never shipped).
 *
 * @param browser the page's configuration
 * @returns the policy, for the `Content-Security-Policy` header
 */
export function contentSecurityPolicy(browser: BrowserConfig): string {
  const origins = new Set(
    [browser.issuer, browser.authUrl, browser.usersUrl, browser.ordersUrl]
      .filter((url) => url !== '')
      .map((url) => new URL(url).origin),
  );
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    `connect-src 'self'${[...origins].map((origin) => ` ${origin}`).join('')}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}
