import { useEveryIntegration } from "../../lib/core/config.ts";
import { validate } from "../../lib/core/http.ts";
import { opsDeps } from "../../lib/ops/deps.ts";
import { ReplayParkedFormSchema } from "../../lib/ops/forms.ts";
import { actionAnswer, opsRoute, readAction } from "../../lib/ops/page/route.ts";
import { replayParked } from "../../lib/sync/glpi-forms/parked.ts";
import { REGISTRY } from "../../lib/sync/registry.ts";

useEveryIntegration(REGISTRY);

/** POST /status/parked/{id}/replay: opens the parked request's ticket in the entity the operator chose. */
export const handler = opsRoute("ops.replay-parked", async (request) => {
  const form = validate(ReplayParkedFormSchema, readAction(request));
  const id = request.pathParameters.id ?? "";
  const { jobId } = await replayParked(opsDeps(), id, form.entity_id);
  return actionAnswer(
    request,
    202,
    { job_id: jobId, entity_id: form.entity_id },
    { assigned: id, entity: String(form.entity_id) },
  );
});
