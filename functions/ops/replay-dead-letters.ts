import { useEveryIntegration } from "../../lib/core/config.ts";
import { validate } from "../../lib/core/http.ts";
import { replayAllDeadLetters, replayDeadLetter } from "../../lib/ops/dead-letters.ts";
import { opsDeps } from "../../lib/ops/deps.ts";
import { ReplayDeadLettersFormSchema } from "../../lib/ops/forms.ts";
import { actionAnswer, opsRoute, readAction } from "../../lib/ops/page/route.ts";
import { REGISTRY } from "../../lib/sync/registry.ts";

useEveryIntegration(REGISTRY);

/** POST /status/dead-letters/replay: puts dead letters back on the jobs queue (form or JSON). */
export const handler = opsRoute("ops.replay-dead-letters", async (request) => {
  const form = validate(ReplayDeadLettersFormSchema, readAction(request));
  const deps = opsDeps();
  const { replayed } =
    form.all !== undefined || form.id === undefined
      ? await replayAllDeadLetters(deps)
      : await replayDeadLetter(deps, form.id);
  return actionAnswer(request, 200, { replayed }, { replayed: String(replayed) });
});
