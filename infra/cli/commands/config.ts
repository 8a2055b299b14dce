import { ConfigError } from "../../../lib/core/errors.ts";
import { loadDeploymentConfig, REGISTRY } from "../../../lib/sync/registry.ts";
import type { Command } from "../command.ts";

/** `deskbridge config validate <file>`: the whole file, every integration, offline. */
export const configValidate: Command = {
  name: "config validate",
  synopsis: "<file>",
  summary: "check a config file, every integration (offline)",
  details:
    "Prints `ok: <file> (<integrations>)`, or every problem with its JSON path and exits 1.\n" +
    'Secrets are names of variables ({"secret": "NAME"}); their values are not needed or read.',
  positionals: { min: 1, max: 1 },
  async run({ positionals: [file = ""] }) {
    try {
      const config = loadDeploymentConfig(file);
      const configured = REGISTRY.map((integration) => integration.configKey).filter(
        (key) => config.integrations[key] !== undefined,
      );
      console.log(`ok: ${file} (${configured.length > 0 ? configured.join(", ") : "no integrations"})`);
      return 0;
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      console.log(`invalid: ${file}: ${error.problems.length} problem(s)`);
      for (const problem of error.problems) console.log(`  ${problem.path}: ${problem.message}`);
      return 1;
    }
  },
};
