import * as v from "valibot";
import { UpstreamPermanentError } from "../../core/errors.ts";
import { loadKy, measuredFetch } from "../http.ts";
import { translateHttpError } from "../http-error.ts";
import { HookAnswerSchema } from "./schemas.ts";

/** A channel message (Rocket.Chat Markdown) as an Incoming WebHook takes it. */
export interface HookMessage {
  text: string;
  alias?: string | undefined;
  emoji?: string | undefined;
  /**
   * `#channel`, `@username` or a room id instead of the hook's own channel (processWebhookMessage.ts:
   * the integration must have "overriding destination channel" enabled, else 400).
   */
  channel?: string | undefined;
}

/**
 * Posts to a Rocket.Chat Incoming WebHook (`/hooks/<id>/<token>`: the token in the path is the secret,
 * so the URL never reaches a log). 200 `{"success":true}` is done; 400 `{"success":false,"error"}` is a
 * message Rocket.Chat refused (permanent); 401/403/404 a wrong URL or token; 503 a disabled
 * integration, 5xx, 429, timeouts and connection errors are retried by the jobs queue.
 * Reference: https://docs.rocket.chat/docs/integrations#incoming-webhook-script
 */
export async function postToHook(
  url: string,
  hookName: string,
  message: HookMessage,
  options: { timeoutMs: number; signal?: AbortSignal; fetch?: typeof fetch },
): Promise<void> {
  const system = `rocketchat:${hookName}`;
  const body: Record<string, unknown> = { text: message.text };
  if (message.alias) body.alias = message.alias;
  if (message.emoji) body.emoji = message.emoji;
  if (message.channel) body.channel = message.channel;
  try {
    const ky = (await loadKy()).default;
    const answer = await ky
      .post(url, {
        json: body,
        timeout: options.timeoutMs,
        retry: 0,
        ...(options.signal ? { signal: options.signal } : {}),
        fetch: measuredFetch("rocketchat", options.fetch ?? fetch),
      })
      .json();
    const parsed = v.safeParse(HookAnswerSchema, answer);
    if (parsed.success && !parsed.output.success) {
      throw new UpstreamPermanentError(
        { system, status: 200, vendorMessage: parsed.output.error },
        `Rocket.Chat refused the message: ${parsed.output.error ?? "no reason given"}`,
      );
    }
  } catch (error) {
    if (error instanceof UpstreamPermanentError) throw error;
    throw await translateHttpError(error, {
      system,
      label: "Rocket.Chat",
      extract: (json) => {
        const parsed = v.safeParse(HookAnswerSchema, json);
        return parsed.success ? parsed.output.error : undefined;
      },
      rungs: { 404: "auth" },
      say: {
        auth: () => `Rocket.Chat refused the hook ${hookName}: check its URL`,
        permanent: ({ status, message }) => `Rocket.Chat refused the message: ${message || status}`,
      },
    });
  }
}
