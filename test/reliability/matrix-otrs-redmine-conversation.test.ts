import { matrixSuite } from "./matrix.ts";

matrixSuite(
  "otrsRedmineConversation",
  "otrs-redmine-conversation",
  "otrs-redmine conversation (both ways, with files) converges under a fault at each step of its job: 0 lost, 0 duplicated",
);
