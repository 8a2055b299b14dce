import { useEveryIntegration } from "../../lib/core/config.ts";
import { ValidationError } from "../../lib/core/errors.ts";
import { json } from "../../lib/core/http.ts";
import { opsDeps } from "../../lib/ops/deps.ts";
import { lookupLinks } from "../../lib/ops/lookup.ts";
import { htmlResponse } from "../../lib/ops/page/html.ts";
import { renderLinksPage } from "../../lib/ops/page/links-page.ts";
import { opsRoute, prefersJson } from "../../lib/ops/page/route.ts";
import { REGISTRY } from "../../lib/sync/registry.ts";

useEveryIntegration(REGISTRY);

/** GET /status/links?system=&id=: every link of one object, with URLs and the last sync of each aspect. */
export const handler = opsRoute("ops.links", async (request) => {
  const query = { system: request.query.system, id: request.query.id };
  try {
    const lookup = await lookupLinks(opsDeps(), query.system ?? "", query.id ?? "");
    return prefersJson(request.headers)
      ? json(200, lookup)
      : htmlResponse(200, renderLinksPage(query, { lookup }));
  } catch (error) {
    // A browser sees the form again with the problem; JSON callers get the standard 400 naming the field.
    if (!(error instanceof ValidationError) || prefersJson(request.headers)) throw error;
    return htmlResponse(400, renderLinksPage(query, { problems: error.fields }));
  }
});
