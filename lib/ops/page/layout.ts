import { createHash } from "node:crypto";
import { html, SafeHtml } from "./html.ts";

/** The page's only style: small, inline, allowed by its hash (no other style, no script, no asset). */
const CSS = `
:root{color-scheme:light;--muted:#6b7280;--line:#e5e7eb;--bad:#b91c1c;--ok:#15803d;--warn:#b45309}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#111827;background:#f9fafb}
header{display:flex;align-items:baseline;gap:1rem;padding:.8rem 1.5rem;background:#111827;color:#f9fafb}
header h1{margin:0;font-size:1.15rem}
header a{color:#f9fafb}
header small{color:#d1d5db}
main{padding:1rem 1.5rem;max-width:1400px}
section{margin-bottom:1.6rem}
h2{font-size:1.05rem;margin:.2rem 0 .6rem}
h2 .count{color:var(--muted);font-weight:normal}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid var(--line)}
th,td{padding:.35rem .55rem;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{background:#f3f4f6;font-weight:600;white-space:nowrap}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
tr.muted td,.muted{color:var(--muted)}
.bad{color:var(--bad)}.ok{color:var(--ok)}.warn{color:var(--warn)}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace;overflow-wrap:anywhere}
#integrations td:first-child{white-space:nowrap}
.empty{padding:.8rem;background:#fff;border:1px dashed var(--line);color:var(--muted)}
.banner{padding:.6rem .9rem;margin-bottom:1rem;border-radius:4px;background:#dcfce7;border:1px solid #86efac}
.banner.error{background:#fee2e2;border-color:#fca5a5}
form.inline{display:inline-flex;gap:.3rem;align-items:center;margin:0}
form.lookup{display:flex;gap:.5rem;align-items:center;flex-wrap:wrap}
button{font:inherit;padding:.2rem .7rem;border:1px solid #9ca3af;border-radius:4px;background:#fff;cursor:pointer}
button.primary{background:#1d4ed8;border-color:#1d4ed8;color:#fff}
input,select{font:inherit;padding:.2rem .4rem;border:1px solid #9ca3af;border-radius:4px}
input[type=number]{width:7rem}
dl{margin:0;display:grid;grid-template-columns:max-content 1fr;gap:0 .6rem}
dt{color:var(--muted)}dd{margin:0;word-break:break-word}
.toolbar{display:flex;justify-content:space-between;align-items:baseline}
`;

/** The CSS is ours, not data: it goes in as is (escaping would change its hash). */
const STYLE = new SafeHtml(CSS);

/**
 * The operators' pages' content security policy: nothing may load, no script may run, the one inline
 * style is allowed by its hash, forms post only to this origin, and no other site may frame the page.
 */
export const PAGE_CSP = [
  "default-src 'none'",
  `style-src 'sha256-${createHash("sha256").update(CSS).digest("base64")}'`,
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join("; ");

/** A page of the operators' view around its sections. */
export function layout(title: string, body: SafeHtml, generatedAt?: string): SafeHtml {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${title} · deskbridge</title>
<style>${STYLE}</style>
</head>
<body>
<header><h1><a href="/status">deskbridge status</a></h1>${generatedAt ? html`<small>generated ${formatTime(generatedAt)}</small>` : ""}</header>
<main>
${body}
</main>
</body>
</html>
`;
}

/** `2024-05-01 12:00:00 UTC`, in a <time> element carrying the exact instant. */
export function formatTime(iso: string | undefined): SafeHtml {
  if (!iso) return html`<span class="muted">—</span>`;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return html`${iso}`;
  const text = `${date.toISOString().slice(0, 19).replace("T", " ")} UTC`;
  return html`<time datetime="${date.toISOString()}">${text}</time>`;
}
