import { matrixSuite } from "./matrix.ts";

matrixSuite(
  "livechat",
  "rocketchat-livechat",
  "rocketchat-livechat converges under a fault at each step of its job",
);
