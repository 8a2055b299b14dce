import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";

/**
 * GET /ping: the old app's health check, public on purpose (it reveals nothing and touches nothing).
 * It loads nothing either, not even the logger: API Gateway's access log records each call, and a
 * health check is called often enough for its cold start to matter.
 */
export async function handler(
  event: APIGatewayProxyEventV2,
  context?: Partial<Context>,
): Promise<APIGatewayProxyStructuredResultV2> {
  const requestId = event.requestContext?.requestId ?? context?.awsRequestId;
  return {
    statusCode: 200,
    headers: {
      "content-type": "text/plain; charset=utf-8",
      ...(requestId ? { "x-request-id": requestId } : {}),
    },
    body: "App Flask está ativo!",
  };
}
