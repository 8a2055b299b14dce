import { useEveryIntegration } from "../../lib/core/config.ts";
import { json } from "../../lib/core/http.ts";
import { issueCsrfToken, operatorsSettings } from "../../lib/ops/auth.ts";
import { opsDeps } from "../../lib/ops/deps.ts";
import { statusOverview } from "../../lib/ops/overview.ts";
import { htmlResponse } from "../../lib/ops/page/html.ts";
import { opsRoute, prefersJson } from "../../lib/ops/page/route.ts";
import { flashFromQuery, renderStatusPage } from "../../lib/ops/page/status-page.ts";
import { REGISTRY } from "../../lib/sync/registry.ts";

// Validates only the settings every function uses (and `operators`): the page reads the rest as it goes.
useEveryIntegration(REGISTRY);

/** GET /status: every integration's counts, the dead letters and the parked requests (HTML or JSON). */
export const handler = opsRoute("ops.status", async (request) => {
  const overview = await statusOverview(opsDeps());
  if (prefersJson(request.headers)) return json(200, overview);
  const csrfToken = issueCsrfToken(operatorsSettings().auth);
  return htmlResponse(200, renderStatusPage(overview, { csrfToken, flash: flashFromQuery(request.query) }));
});
