import { matrixSuite } from "./matrix.ts";

matrixSuite("otrsRedmine", "otrs-redmine", "otrs-redmine converges under a fault at each step of its job");
