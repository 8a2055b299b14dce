import { Logger } from "@aws-lambda-powertools/logger";

/**
 * The one structured JSON logger. Handlers append `request_id` or `job_id`; nothing logs request
 * headers, bodies or secrets, only ids, outcomes and vendor error codes.
 */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? "deskbridge" });
