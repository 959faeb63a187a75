/**
 * Building the page with DOM calls only: every value from a token or an API
 * lands as text (`textContent`), never as markup, so nothing a service
 * answers can become script, whatever the CSP.
 */

/** Attributes of {@link h}: strings, or `true` for a bare boolean attribute. */
type Attributes = Record<string, string | boolean | undefined>;

/**
 * @param tag the element's tag name
 * @param attributes attributes to set (`class`, `scope`, `aria-*`…); false or undefined: not set
 * @param children text or elements, in order
 * @returns the element
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: Array<Node | string>
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === true) element.setAttribute(name, '');
    else if (typeof value === 'string') element.setAttribute(name, value);
  }
  for (const child of children) element.append(typeof child === 'string' ? document.createTextNode(child) : child);
  return element;
}

/** @returns the element with that id; throws when the page lacks it (a build mistake, not a user's) */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} is missing from index.html`);
  return element as T;
}

/** Replaces an element's content. */
export function fill(parent: HTMLElement, ...children: Node[]): void {
  parent.replaceChildren(...children);
}

/** Shows or hides an element (the `hidden` attribute, which assistive technology honours). */
export function show(element: HTMLElement, visible = true): void {
  element.hidden = !visible;
}
