import { Logger } from "@aws-lambda-powertools/logger";
import { mapStackTracesLazily } from "./stack-traces.ts";

// Before anything can log an error: its trace then names the bridge's source (lib/core/stack-traces.ts).
mapStackTracesLazily();

/**
 * The one structured JSON logger. Handlers append `request_id` or `job_id`; nothing logs request
 * headers, bodies or secrets, only ids, outcomes and vendor error codes.
 */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? "deskbridge" });
