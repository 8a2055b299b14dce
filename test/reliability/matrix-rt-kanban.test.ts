import { matrixSuite } from "./matrix.ts";

matrixSuite("rtKanban", "rt-kanban", "rt-kanban converges under a fault at each step of its job");
