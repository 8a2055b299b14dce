import { matrixSuite } from "./matrix.ts";

matrixSuite(
  "notifications",
  "otrs-notifications",
  "otrs-notifications converges under a fault at each step of its job",
);
