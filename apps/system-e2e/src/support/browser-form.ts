/**
 * What a browser does with the issuer's login page, done with fetch: it keeps
 * cookies per name (one origin, so no domain logic), never follows redirects
 * (the test reads each `Location`), and posts the form as a browser posts a
 * same-origin form: `application/x-www-form-urlencoded`, with `Origin` and
 * `Sec-Fetch-Site: same-origin`.
 */
export class FormBrowser {
  readonly cookies = new Map<string, string>();

  /**
   * @param url where to go
   * @param init the method, a form body (posted as a browser posts a form) and extra headers
   * @returns the status, the headers and the body text
   */
  async request(
    url: string | URL,
    init: { method?: 'GET' | 'POST'; form?: Record<string, string>; headers?: Record<string, string> } = {},
  ): Promise<{ status: number; headers: Headers; text: string; location: string | null }> {
    const target = new URL(url);
    const headers: Record<string, string> = { accept: 'text/html,application/xhtml+xml' };
    if (this.cookies.size > 0) {
      headers['cookie'] = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    }
    if (init.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      headers['origin'] = target.origin;
      headers['sec-fetch-site'] = 'same-origin';
    }
    Object.assign(headers, init.headers);
    const response = await fetch(target, {
      method: init.method ?? (init.form ? 'POST' : 'GET'),
      headers,
      body: init.form ? new URLSearchParams(init.form).toString() : undefined,
      redirect: 'manual',
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const at = pair.indexOf('=');
      this.cookies.set(pair.slice(0, at).trim(), pair.slice(at + 1).trim());
    }
    return {
      status: response.status,
      headers: response.headers,
      text: await response.text(),
      location: response.headers.get('location'),
    };
  }
}

/** The hidden fields of the login page's form. */
export interface LoginForm {
  request_id: string;
  csrf_token: string;
}

/**
 * @param html the login page
 * @returns its hidden fields
 * @throws Error when the page holds no login form
 */
export function loginFormOf(html: string): LoginForm {
  const field = (name: string) => new RegExp(`name="${name}" value="([^"]+)"`).exec(html)?.[1];
  const requestId = field('request_id');
  const csrfToken = field('csrf_token');
  if (!requestId || !csrfToken) throw new Error(`no login form in the page:\n${html.slice(0, 500)}`);
  return { request_id: requestId, csrf_token: csrfToken };
}

/**
 * Opens an authorization URL and signs in on the login page, as a user would.
 *
 * @param browser the browser (its cookies are kept)
 * @param authorizationUrl the client's authorization request
 * @param credentials the user's email and password
 * @returns the redirect back to the client (its `Location`, with `code`, `state` and `iss`)
 * @throws Error when a step answers something else than a page, then a redirect
 */
export async function signInThroughPage(
  browser: FormBrowser,
  authorizationUrl: string | URL,
  credentials: { email: string; password: string },
): Promise<URL> {
  const page = await browser.request(authorizationUrl);
  if (page.status !== 200) throw new Error(`the authorization request answered ${page.status}: ${page.text}`);
  const posted = await browser.request(new URL('/oauth/authorize', authorizationUrl), {
    form: { ...loginFormOf(page.text), ...credentials },
  });
  if (posted.status !== 303 || !posted.location) {
    throw new Error(`the sign-in answered ${posted.status}: ${posted.text.slice(0, 500)}`);
  }
  return new URL(posted.location);
}
