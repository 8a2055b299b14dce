import type { HttpResponse } from "../../core/http.ts";

/** Markup that is already safe: built by `html`, never from a raw string. */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

type Interpolated = SafeHtml | string | number | boolean | null | undefined | readonly Interpolated[];

/**
 * Builds markup: every interpolated value is escaped (values from the systems are untrusted), except
 * SafeHtml made by this tag; arrays are joined; null, undefined and false render nothing.
 */
export function html(strings: TemplateStringsArray, ...values: Interpolated[]): SafeHtml {
  let out = strings[0] ?? "";
  for (const [i, value] of values.entries()) out += render(value) + (strings[i + 1] ?? "");
  return new SafeHtml(out);
}

/** Escapes text for an element's content or a quoted attribute. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

function render(value: Interpolated): string {
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return value.map(render).join("");
  if (value === null || value === undefined || value === false) return "";
  return escapeHtml(String(value));
}

/** Only http(s) URLs become links (a `javascript:` URL from a system's data must not). */
export function safeUrl(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const parsed = new URL(url);
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Headers of every operators' response (JSON too): nothing cached, nothing sniffed, no referrer leaking
 * ids to the systems the page links to, no framing. The page's content security policy is in layout.ts.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
};

/** An HTML response (httpRoute answers JSON or text; the content type here overrides its text/plain). */
export function htmlResponse(status: number, body: SafeHtml, headers?: Record<string, string>): HttpResponse {
  return { status, text: body.value, headers: { "content-type": "text/html; charset=utf-8", ...headers } };
}

/** A 303 back to a page after a form's POST, so a reload does not post again. */
export function seeOther(location: string): HttpResponse {
  return { status: 303, text: "", headers: { location } };
}
