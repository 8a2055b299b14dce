import { matrixSuite } from "./matrix.ts";

matrixSuite("itopPair", "itop-pair", "itop-pair converges under a fault at each step of its job");
