import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import { OPENAPI_JSON } from "../../lib/ops/openapi-document.ts";

/**
 * GET /openapi.json: the OpenAPI 3.1 description of every route, public (it holds no secrets and no
 * configuration, only the routes' schemas). Like /ping it loads no logger, config or client, and it
 * builds nothing: it serves lib/ops/openapi-document.ts, which `npm run openapi` generates from the routes'
 * valibot schemas (lib/ops/openapi.ts) and `npm test` keeps equal to what they generate.
 */
export async function handler(
  event: APIGatewayProxyEventV2,
  context?: Partial<Context>,
): Promise<APIGatewayProxyStructuredResultV2> {
  const requestId = event.requestContext?.requestId ?? context?.awsRequestId;
  return {
    statusCode: 200,
    headers: {
      "content-type": "application/json",
      "cache-control": "public, max-age=300",
      ...(requestId ? { "x-request-id": requestId } : {}),
    },
    body: OPENAPI_JSON,
  };
}
