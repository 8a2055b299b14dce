import { matrixSuite } from "./matrix.ts";

matrixSuite("glpiForms", "glpi-forms", "glpi-forms converges under a fault at each step of its job");
