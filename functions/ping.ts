import { httpRoute } from "../lib/core/http.ts";

/** GET /ping: the old app's health check, public on purpose (it reveals nothing and touches nothing). */
export const handler = httpRoute({ name: "ping" }, async () => ({
  status: 200,
  text: "App Flask está ativo!",
}));
