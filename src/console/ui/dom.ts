/// <reference lib="dom" />
/**
 * The page's one way to make DOM: elements with text children (`textContent`, never HTML), attributes
 * from a short list, links only to this page's routes or this server's API. Nothing from a runbook, an
 * inventory or a host can become markup or script.
 */

export type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = { class?: string; href?: string; title?: string; id?: string; download?: string; type?: string; value?: string; placeholder?: string; [data: `data-${string}`]: string; 'aria-label'?: string; role?: string };

const SAFE_HREF = /^(#\/|\/api\/)/;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs | null = null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined) continue;
    if (name === 'href' && !SAFE_HREF.test(value)) continue;
    el.setAttribute(name, value);
  }
  append(el, children);
  return el;
}

export function append(el: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (typeof c === 'string' || typeof c === 'number') el.appendChild(document.createTextNode(String(c)));
    else el.appendChild(c);
  }
}

/** Replaces an element's children. */
export function fill(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

/** A route's link: `#/run/<id>` with the id encoded. */
export const route = (...parts: string[]) => `#/${parts.map(encodeURIComponent).join('/')}`;

export function when(iso: string | undefined): string {
  if (!iso) return '-';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toISOString().replace('T', ' ').slice(0, 19);
}

export function seconds(from?: string, to?: string): string {
  if (!from || !to) return '-';
  const ms = Date.parse(to) - Date.parse(from);
  return Number.isFinite(ms) ? `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s` : '-';
}
