import type {
  DeadLetterView,
  IntegrationStatus,
  ObjectView,
  ParkedRequest,
  PollerStatus,
  QueueStatus,
  StatusOverview,
  SystemStatus,
  WindowCounts,
} from "../types.ts";
import { html, type SafeHtml, safeUrl } from "./html.ts";
import { formatTime, layout } from "./layout.ts";

/** A message shown once above the page, after an action redirected back to it. */
export interface Flash {
  kind: "ok" | "error";
  message: string;
}

/** What the page needs besides the overview: the forms' CSRF token and a flash message. */
export interface PageContext {
  csrfToken: string;
  flash?: Flash | undefined;
}

/** The systems a link lookup can start from, with how their ids are written. */
export const LOOKUP_SYSTEMS = [
  { system: "otrs", label: "OTRS ticket number" },
  { system: "redmine", label: "Redmine issue" },
  { system: "itop", label: "iTop ref (R-000123)" },
  { system: "rt", label: "RT ticket" },
  { system: "glpi", label: "GLPI ticket" },
] as const;

/** GET /status as HTML: integrations, dead letters, parked requests and the link lookup form. */
export function renderStatusPage(overview: StatusOverview, context: PageContext): SafeHtml {
  return layout(
    "Status",
    html`${flashBanner(context.flash)}
${integrationsSection(overview.integrations)}
${systemsSection(overview.systems ?? [])}
${deadLettersSection(overview, context.csrfToken)}
${parkedSection(overview.parked, context.csrfToken)}
${lookupForm()}`,
    overview.generatedAt,
  );
}

/** The banner for a flash message, if any. */
export function flashBanner(flash: Flash | undefined): SafeHtml {
  if (!flash) return html``;
  return html`<div class="banner${flash.kind === "error" ? " error" : ""}" role="status">${flash.message}</div>`;
}

function integrationsSection(integrations: IntegrationStatus[]): SafeHtml {
  return html`<section id="integrations">
<h2>Integrations</h2>
<table>
<thead>
<tr><th rowspan="2">Integration</th><th colspan="4">Last hour</th><th colspan="4">Last day</th><th rowspan="2">Last success</th><th rowspan="2">Last failure</th><th rowspan="2">Poller lag</th><th rowspan="2">Oldest queued job</th></tr>
<tr>${[0, 1].map(() => html`<th class="n">received</th><th class="n">succeeded</th><th class="n">retrying</th><th class="n">dead-lettered</th>`)}</tr>
</thead>
<tbody>
${integrations.map(integrationRow)}
</tbody>
</table>
</section>`;
}

function integrationRow(status: IntegrationStatus): SafeHtml {
  if (!status.configured) {
    return html`<tr class="muted" data-integration="${status.integration}"><td>${status.integration}</td><td colspan="12">not configured</td></tr>`;
  }
  const failure = status.lastFailure;
  return html`<tr data-integration="${status.integration}">
<td><strong>${status.integration}</strong></td>
${counts(status.lastHour)}
${counts(status.lastDay)}
<td>${status.lastSuccess ? html`${formatTime(status.lastSuccess.at)}<br><code>${status.lastSuccess.type}</code>` : html`<span class="muted">none</span>`}</td>
<td>${failure ? html`${formatTime(failure.at)}<br><code>${failure.type}</code><br><span class="bad"><code>${failure.code}</code> ${failure.reason}</span>` : html`<span class="muted">none</span>`}</td>
<td>${status.pollers.length === 0 ? html`<span class="muted">no poller</span>` : status.pollers.map(pollerCell)}</td>
<td>${queueCell(status.queue)}</td>
</tr>`;
}

/** Each system instance's breaker: up, failing (outages in a row), or down since… with its jobs waiting. */
function systemsSection(systems: SystemStatus[]): SafeHtml {
  if (systems.length === 0) return html``;
  return html`<section id="systems">
<h2>Systems</h2>
<table>
<thead><tr><th>System</th><th>State</th><th class="n">Outages in a row</th><th class="n">Jobs waiting</th><th>Probes</th></tr></thead>
<tbody>
${systems.map(
  (system) => html`<tr data-system="${system.system}">
<td><code>${system.system}</code></td>
<td>${
    system.state === "down"
      ? html`<span class="bad">down</span> since ${formatTime(system.downSince ?? "")}`
      : system.state === "failing"
        ? html`<span class="warn">failing</span>`
        : html`<span class="ok">up</span>${system.upSince ? html` since ${formatTime(system.upSince)}` : ""}`
  }</td>
<td class="n">${system.failures}</td>
<td class="n">${system.state === "down" ? String(system.jobsWaiting ?? 0) : "—"}</td>
<td>${system.state === "down" ? html`${String(system.probes ?? 0)}, next ${formatTime(system.nextProbeAt ?? "")}` : "—"}</td>
</tr>`,
)}
</tbody>
</table>
</section>`;
}

/** A poller's lag, red past its threshold, and its last successful run. */
function pollerCell(poller: PollerStatus): SafeHtml {
  if (poller.lagSeconds === undefined)
    return html`<div data-poller="${poller.cursor}"><code>${poller.system}</code> <span class="muted">no successful poll yet</span></div>`;
  return html`<div data-poller="${poller.cursor}"${poller.warning ? html` data-warning="lag"` : ""}><code>${poller.system}</code> <span class="${poller.warning ? "bad" : "ok"}">${formatDuration(poller.lagSeconds)} behind</span>${poller.warning ? html` (over ${formatDuration(poller.thresholdSeconds)})` : ""}<br><span class="muted">last poll ${poller.lastSuccessAt ? formatTime(poller.lastSuccessAt) : "—"}</span></div>`;
}

/** The jobs queue's oldest message, red past its threshold. */
function queueCell(queue: QueueStatus | undefined): SafeHtml {
  if (queue?.oldestAgeSeconds === undefined) return html`<span class="muted">—</span>`;
  if (queue.oldestAgeSeconds === 0) return html`<span class="muted">empty</span>`;
  return html`<span class="${queue.warning ? "bad" : "ok"}"${queue.warning ? html` data-warning="queue-age"` : ""}>${formatDuration(queue.oldestAgeSeconds)}</span>${queue.warning ? html` (over ${formatDuration(queue.thresholdSeconds)})` : ""}`;
}

/** 75 → "1m 15s", 7260 → "2h 1m". */
export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ${seconds % 60}s`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h ${Math.floor((seconds % 3600) / 60)}m`;
  return `${Math.floor(seconds / 86400)}d ${Math.floor((seconds % 86400) / 3600)}h`;
}

function counts(window: WindowCounts): SafeHtml {
  return html`<td class="n">${window.received}</td><td class="n ok">${window.succeeded}</td><td class="n${window.retrying > 0 ? " warn" : ""}">${window.retrying}</td><td class="n${window.deadLettered > 0 ? " bad" : ""}">${window.deadLettered}</td>`;
}

function deadLettersSection(overview: StatusOverview, csrfToken: string): SafeHtml {
  const letters = overview.deadLetters;
  const unreadable =
    overview.unreadableDeadLetters > 0
      ? html`<p class="bad">${overview.unreadableDeadLetters} message(s) in the dead-letter queue are not readable jobs; they are left in place.</p>`
      : "";
  return html`<section id="dead-letters">
<div class="toolbar"><h2>Dead letters <span class="count">(${letters.length})</span></h2>
${letters.length > 0 ? html`<form class="inline" method="post" action="/status/dead-letters/replay">${csrfInput(csrfToken)}<input type="hidden" name="all" value="1"><button class="primary" type="submit">Replay all</button></form>` : ""}</div>
${unreadable}
${
  letters.length === 0
    ? html`<p class="empty">No dead letters.</p>`
    : html`<table>
<thead><tr><th>Job</th><th>Error</th><th class="n">Attempts</th><th>Failed at</th><th>Source</th><th></th></tr></thead>
<tbody>
${letters.map((letter) => deadLetterRow(letter, csrfToken))}
</tbody>
</table>`
}
</section>`;
}

function deadLetterRow(letter: DeadLetterView, csrfToken: string): SafeHtml {
  return html`<tr data-job-id="${letter.id}">
<td><code>${letter.type}</code><br><code class="muted">${letter.id}</code></td>
<td><code class="bad">${letter.error.code}</code> ${letter.error.message}</td>
<td class="n">${letter.attempts}</td>
<td>${formatTime(letter.failedAt)}</td>
<td>${letter.source ? objectLink(letter.source) : html`<span class="muted">—</span>`}</td>
<td><form class="inline" method="post" action="/status/dead-letters/replay">${csrfInput(csrfToken)}<input type="hidden" name="id" value="${letter.id}"><button type="submit">Replay</button></form></td>
</tr>`;
}

function parkedSection(parked: ParkedRequest[], csrfToken: string): SafeHtml {
  return html`<section id="parked">
<h2>Parked GLPI requests <span class="count">(${parked.length})</span></h2>
${
  parked.length === 0
    ? html`<p class="empty">No parked requests.</p>`
    : html`<table>
<thead><tr><th>Received</th><th>CNPJ</th><th>Reason</th><th>Submission</th><th>Assign</th></tr></thead>
<tbody>
${parked.map((request) => parkedRow(request, csrfToken))}
</tbody>
</table>`
}
</section>`;
}

function parkedRow(request: ParkedRequest, csrfToken: string): SafeHtml {
  const action = `/status/parked/${encodeURIComponent(request.id)}/replay`;
  return html`<tr data-parked-id="${request.id}">
<td>${formatTime(request.receivedAt)}</td>
<td><code>${request.cnpj}</code></td>
<td>${request.reason}</td>
<td>${submissionSummary(request.submission)}</td>
<td><form class="inline" method="post" action="${action}">${csrfInput(csrfToken)}<label>Entity id <input type="number" name="entity_id" min="0" step="1" required></label><button class="primary" type="submit">Assign and replay</button></form></td>
</tr>`;
}

/** The submission's fields, each value cut short: enough to recognise the customer and the problem. */
function submissionSummary(submission: Record<string, unknown>): SafeHtml {
  const entries = Object.entries(submission).slice(0, 8);
  if (entries.length === 0) return html`<span class="muted">empty</span>`;
  return html`<dl>${entries.map(([name, value]) => html`<dt>${name}</dt><dd>${shorten(value)}</dd>`)}</dl>`;
}

function shorten(value: unknown): string {
  const text = typeof value === "string" ? value : (JSON.stringify(value) ?? "");
  return text.length > 120 ? `${text.slice(0, 119)}…` : text;
}

/** An object with a link to its page in its own system, when its URL is known (and http(s)). */
export function objectLink(object: ObjectView): SafeHtml {
  const url = safeUrl(object.url);
  const label = html`<code>${object.key}</code>`;
  return url ? html`<a href="${url}" rel="noreferrer noopener" target="_blank">${label}</a>` : label;
}

/** The link lookup form; it GETs /status/links (nothing changes, so no token). */
export function lookupForm(query?: { system?: string | undefined; id?: string | undefined }): SafeHtml {
  return html`<section id="lookup">
<h2>Link lookup</h2>
<form class="lookup" method="get" action="/status/links">
<label>System <select name="system">${LOOKUP_SYSTEMS.map(
    (option) =>
      html`<option value="${option.system}"${query?.system === option.system ? html` selected` : ""}>${option.label}</option>`,
  )}</select></label>
<label>Id <input type="text" name="id" value="${query?.id ?? ""}" required maxlength="512"></label>
<button class="primary" type="submit">Look up</button>
</form>
</section>`;
}

function csrfInput(token: string): SafeHtml {
  return html`<input type="hidden" name="csrf_token" value="${token}">`;
}

/** The flash message an action's redirect put in the query (`?replayed=3`, `?assigned=…&entity=…`). */
export function flashFromQuery(query: Readonly<Record<string, string>>): Flash | undefined {
  if (query.replayed !== undefined && /^\d{1,6}$/.test(query.replayed)) {
    const count = Number(query.replayed);
    return {
      kind: "ok",
      message:
        count === 0
          ? "Nothing to replay: the dead-letter queue is empty."
          : `Replayed ${count} dead letter${count === 1 ? "" : "s"}: back on the jobs queue.`,
    };
  }
  if (query.assigned !== undefined && query.entity !== undefined && /^\d{1,10}$/.test(query.entity)) {
    return {
      kind: "ok",
      message: `Assigned parked request ${query.assigned.slice(0, 200)} to entity ${query.entity} and replayed it.`,
    };
  }
  return undefined;
}
