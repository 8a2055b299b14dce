import { defineJob } from "../../jobs/model.ts";
import { glpiFormsDeps, glpiFormsSettings } from "./deps.ts";
import { refreshDirectorySpec } from "./index.ts";

/**
 * Reads the CNPJ → entity map from GLPI and shares it (EntityDirectory.refresh). Every container whose
 * map is old queues one; they share one key, so a batch runs one, and a run finding the shared map
 * fresh (another refreshed first) does nothing.
 */
export const refreshDirectoryJob = defineJob({
  ...refreshDirectorySpec,
  key: () => "glpi-forms:entity-directory",
  systems: () => [{ system: "glpi", instance: glpiFormsSettings().glpi }],
  async run(_input, context) {
    const { entities } = await glpiFormsDeps();
    const report = await entities.refresh({ signal: context.signal });
    if (report) context.logger.info("entity directory refreshed", { ...report });
    return { refreshed: report !== undefined, entries: report?.entries ?? 0 };
  },
});
