import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import { openApiDocument } from "../../lib/ops/openapi.ts";

/**
 * GET /openapi.json: the OpenAPI 3.1 description of every route, public (it holds no secrets and no
 * configuration, only the routes' schemas). Like /ping it loads no logger, config or client: the
 * document is built once per container from the schemas and served as is.
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
    body: openApiJson(),
  };
}

let body: string | undefined;
function openApiJson(): string {
  body ??= JSON.stringify(openApiDocument());
  return body;
}
