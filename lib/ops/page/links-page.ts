import type { FieldProblem } from "../../core/errors.ts";
import type { LinkLookup, LinkView } from "../types.ts";
import { html, type SafeHtml } from "./html.ts";
import { formatTime, layout } from "./layout.ts";
import { lookupForm, objectLink } from "./status-page.ts";

/** GET /status/links as HTML: the form, then every link of the object, or why the query is wrong. */
export function renderLinksPage(
  query: { system?: string | undefined; id?: string | undefined },
  result: { lookup: LinkLookup } | { problems: FieldProblem[] },
): SafeHtml {
  const body =
    "problems" in result
      ? html`<div class="banner error" role="alert" id="lookup-error"><strong>The lookup is not valid:</strong> ${result.problems.map(
          (problem) => html`<br><code>${problem.path}</code> ${problem.message}`,
        )}</div>`
      : linksSection(result.lookup);
  return layout("Link lookup", html`${lookupForm(query)}${body}`);
}

function linksSection(lookup: LinkLookup): SafeHtml {
  const { system, id } = lookup.query;
  return html`<section id="links">
<h2>Links of ${system} ${id} <span class="count">(${lookup.links.length})</span></h2>
${
  lookup.links.length === 0
    ? html`<p class="empty">No links found for ${system} ${id}.</p>`
    : html`<table>
<thead><tr><th>Source</th><th>Target</th><th>Last sync of each aspect</th><th>Created</th><th>Updated</th></tr></thead>
<tbody>${lookup.links.map(linkRow)}</tbody>
</table>`
}
</section>`;
}

function linkRow(link: LinkView): SafeHtml {
  return html`<tr>
<td>${objectLink(link.source)}</td>
<td>${objectLink(link.target)}</td>
<td>${
    link.aspects.length === 0
      ? html`<span class="muted">nothing synced yet</span>`
      : html`<dl>${link.aspects.map(
          (aspect) =>
            html`<dt>${aspect.name}</dt><dd>${formatTime(aspect.syncedAt)}${Object.entries(aspect.summary ?? {}).map(([key, value]) => html`<br>${key}: ${String(value)}`)}${(aspect.notes ?? []).map((note) => html`<br><span class="warn">${note}</span>`)}</dd>`,
        )}</dl>`
  }</td>
<td>${formatTime(link.createdAt)}</td>
<td>${formatTime(link.updatedAt)}</td>
</tr>`;
}
