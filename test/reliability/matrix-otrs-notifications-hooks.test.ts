import { matrixSuite } from "./matrix.ts";

matrixSuite(
  "notificationsHooks",
  "otrs-notifications-hooks",
  "otrs-notifications-hooks converges under a fault at each step of its job",
);
