import { createHash } from 'node:crypto';

/**
 * The issuer's pages (the login form, the error page), rendered on the server
 * with no script at all: a password form needs none, and a page without
 * script cannot run an injected one. Every value is escaped where it is
 * placed; the one style sheet is inline and allowed by its hash in the
 * Content-Security-Policy (no `unsafe-inline`).
 */

const STYLE = `
  :root { color-scheme: light; font-family: system-ui, sans-serif; }
  body { margin: 0; min-height: 100vh; display: grid; place-items: center; background: #f3f4f6; color: #111827; }
  main { background: #fff; padding: 2rem; border-radius: 8px; box-shadow: 0 1px 4px #0003; width: min(24rem, 90vw); }
  h1 { font-size: 1.35rem; margin: 0 0 .5rem; }
  p { line-height: 1.45; }
  label { display: block; font-weight: 600; margin: 1rem 0 .25rem; }
  input { box-sizing: border-box; width: 100%; padding: .55rem; font-size: 1rem; border: 1px solid #6b7280; border-radius: 4px; }
  input:focus, button:focus { outline: 3px solid #1d4ed8; outline-offset: 2px; }
  button { margin-top: 1.5rem; width: 100%; padding: .65rem; font-size: 1rem; font-weight: 600; color: #fff; background: #1d4ed8; border: 0; border-radius: 4px; cursor: pointer; }
  .alert { background: #fef2f2; color: #991b1b; border: 1px solid #991b1b; padding: .6rem; border-radius: 4px; }
  code { background: #f3f4f6; padding: 0 .2rem; }
`;

/** The style sheet's CSP source (CSP Level 3 §8.4, hash-source). */
const STYLE_HASH = `'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`;

/**
 * The Content-Security-Policy of the issuer's pages: nothing but the inline
 * style sheet; forms post to this origin only, and to the client's redirect
 * origin, because browsers apply `form-action` to the redirect that answers
 * the post (CSP Level 3 §6.4.1); never framed (clickjacking, RFC 9700 §4.16).
 *
 * @param redirectOrigin the origin of the redirect URI the form's answer goes to, if any
 * @returns the header's value
 */
export function pageSecurityPolicy(redirectOrigin?: string): string {
  const formAction = redirectOrigin ? `'self' ${redirectOrigin}` : "'self'";
  return [
    "default-src 'none'",
    `style-src ${STYLE_HASH}`,
    `form-action ${formAction}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
}

/**
 * @param value any text
 * @returns it, safe inside HTML text and double-quoted attribute values
 */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** What the login page shows and carries. */
export interface LoginPageModel {
  /** The form's target: the authorization endpoint's path. */
  action: string;
  /** The client asking, shown to the user. */
  clientId: string;
  /** The scopes asked for (space-separated), shown to the user. */
  scope: string;
  requestId: string;
  csrfToken: string;
  /** The email typed before, kept when the page is shown again. */
  email?: string;
  /** One sentence, shown as an alert; the same for every failure of a sign-in (no account enumeration). */
  error?: string;
}

/**
 * @param model the page's content
 * @returns the login page's HTML: a form posting `email`, `password`, `request_id` and `csrf_token` to `action`
 */
export function renderLoginPage(model: LoginPageModel): string {
  const alert = model.error ? `<p class="alert" role="alert">${escapeHtml(model.error)}</p>` : '';
  return page(
    'Sign in',
    `<h1>Sign in</h1>
    <p><code>${escapeHtml(model.clientId)}</code> asks to act for you with the scopes
    <code>${escapeHtml(model.scope)}</code>. The token will carry only those your account's role allows.</p>
    ${alert}
    <form method="post" action="${escapeHtml(model.action)}">
      <input type="hidden" name="request_id" value="${escapeHtml(model.requestId)}">
      <input type="hidden" name="csrf_token" value="${escapeHtml(model.csrfToken)}">
      <label for="email">Email</label>
      <input id="email" name="email" type="email" autocomplete="username" required maxlength="254"
        value="${escapeHtml(model.email ?? '')}" ${model.email ? '' : 'autofocus'}>
      <label for="password">Password</label>
      <input id="password" name="password" type="password" autocomplete="current-password" required
        maxlength="1024" ${model.email ? 'autofocus' : ''}>
      <button type="submit">Sign in</button>
    </form>`,
  );
}

/**
 * @param title the page's heading
 * @param message one sentence for the user (escaped)
 * @returns an error page's HTML, for a request that cannot be sent back to a client (RFC 6749 §4.1.2.1)
 */
export function renderErrorPage(title: string, message: string): string {
  return page(title, `<h1>${escapeHtml(title)}</h1><p role="alert">${escapeHtml(message)}</p>`);
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="referrer" content="same-origin">
  <title>${escapeHtml(title)} · jwt-ms issuer</title>
  <style>${STYLE}</style>
</head>
<body>
  <main>
    ${body}
  </main>
</body>
</html>
`;
}
