import { createHash } from "node:crypto";
import type { HTTPError } from "ky";
import * as v from "valibot";
import { UpstreamPermanentError } from "../../core/errors.ts";
import { isHttpError, loadKy, measuredFetch } from "../http.ts";
import { translateHttpError } from "../http-error.ts";
import { ApiAnswerSchema, BotMessageAnswerSchema, RoomAnswerSchema } from "./schemas.ts";

/**
 * Meteor's Random.id() alphabet (no 0/O, 1/I/l, U/V): Rocket.Chat's own message ids are 17 of these.
 * chat.sendMessage takes any string as `_id` (rest-typings' chatSendMessageSchema: `type: 'string'`;
 * functions/sendMessage.ts validateMessage: `_id: String`), but an id that looks like Rocket.Chat's
 * own is safe everywhere an id is parsed (message links, `?msg=`).
 */
const ID_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz";
export const MESSAGE_ID_LENGTH = 17;

/**
 * The message id of one notification: the same parts, the same id, so every attempt (a retry after a
 * lost answer, the next attempt after a killed worker, a replay) posts under the id the first chose.
 * 17 characters of a 55-letter alphabet from a SHA-256 of the parts (about 98 bits).
 */
export function notificationMessageId(parts: readonly string[]): string {
  const digest = createHash("sha256").update(parts.join("\u0000")).digest();
  let id = "";
  for (let i = 0; i < MESSAGE_ID_LENGTH; i++) id += ID_ALPHABET[(digest[i] ?? 0) % ID_ALPHABET.length];
  return id;
}

/** A message as the bot posts it (Rocket.Chat Markdown). */
export interface BotMessage {
  _id: string;
  rid: string;
  msg: string;
  alias?: string | undefined;
  emoji?: string | undefined;
}

export interface RocketChatBotOptions {
  /** The server's base URL (`https://chat.example.com`). */
  url: string;
  userId: string;
  authToken: string;
  timeoutMs: number;
  fetch?: typeof fetch;
}

/**
 * A Rocket.Chat bot user on the REST API, authenticated by its personal access token (`X-User-Id` +
 * `X-Auth-Token`, ApiClass.ts#authenticatedRoute). Every failure is ApiClass.ts's: 400
 * `{"success":false,"error","errorType"?}` for a refused call, 401 for a wrong token (403 when the
 * user lacks a permission), 429 from the rate limiter. Room resolutions are kept for the container's
 * life: a room's id never changes.
 */
export class RocketChatBot {
  private readonly base: string;
  private readonly rooms = new Map<string, Promise<string>>();

  constructor(private readonly options: RocketChatBotOptions) {
    this.base = `${options.url.replace(/\/+$/, "")}/api/v1/`;
  }

  /**
   * The room id of a target: `#name` through `GET rooms.info?roomName=` (a channel or a private group
   * the bot can see), `@username` through `POST im.create {"username"}` (the direct message room of the
   * bot and that user, made on first use; the same room after), anything else is a room id already.
   */
  roomOf(target: string, signal?: AbortSignal): Promise<string> {
    if (!target.startsWith("#") && !target.startsWith("@")) return Promise.resolve(target);
    let found = this.rooms.get(target);
    if (!found) {
      found = this.resolve(target, signal);
      this.rooms.set(target, found);
      // A failed resolution is not kept: the next attempt asks again.
      found.catch(() => this.rooms.delete(target));
    }
    return found;
  }

  private async resolve(target: string, signal?: AbortSignal): Promise<string> {
    const name = target.slice(1);
    const answer = target.startsWith("#")
      ? await this.call("GET", "rooms.info", { searchParams: { roomName: name }, signal }, target)
      : await this.call("POST", "im.create", { json: { username: name }, signal }, target);
    const parsed = v.safeParse(RoomAnswerSchema, answer);
    if (!parsed.success)
      throw new UpstreamPermanentError(
        { system: "rocketchat:bot", status: 200 },
        `Rocket.Chat answered ${target} without a room id`,
      );
    return parsed.output.room._id;
  }

  /**
   * Posts a message under its own id (`POST chat.sendMessage`). Rocket.Chat keeps the first message
   * of an id: functions/sendMessage.ts looks the id up before inserting and returns nothing for one it
   * has, and chat.sendMessage then answers 400 (normalizeMessagesForUser reads `undefined`), posting
   * nothing. So a 400 is checked with getMessage: a message of this id in this room is this post, landed.
   */
  async sendMessage(message: BotMessage, signal?: AbortSignal): Promise<void> {
    const body: Record<string, unknown> = { _id: message._id, rid: message.rid, msg: message.msg };
    if (message.alias) body.alias = message.alias;
    if (message.emoji) body.emoji = message.emoji;
    try {
      await this.call("POST", "chat.sendMessage", { json: { message: body }, signal }, message.rid);
    } catch (error) {
      if (error instanceof UpstreamPermanentError && error.upstream.status === 400) {
        const landed = await this.getMessage(message._id, signal);
        if (landed?.rid === message.rid) return;
      }
      throw error;
    }
  }

  /**
   * The message of this id, or undefined when Rocket.Chat has none: chat.getMessage answers an unknown
   * id with `API.v1.failure()`, a 400 whose body is `{"success":false}` alone (no error, no errorType).
   */
  async getMessage(id: string, signal?: AbortSignal): Promise<{ _id: string; rid: string } | undefined> {
    const answer = await this.call("GET", "chat.getMessage", { searchParams: { msgId: id }, signal }, id, {
      absentOn400: true,
    });
    if (answer === ABSENT) return undefined;
    const parsed = v.safeParse(BotMessageAnswerSchema, answer);
    if (!parsed.success)
      throw new UpstreamPermanentError(
        { system: "rocketchat:bot", status: 200 },
        "Rocket.Chat answered chat.getMessage without a message",
      );
    return parsed.output.message;
  }

  private async call(
    method: "GET" | "POST",
    endpoint: string,
    request: { searchParams?: Record<string, string>; json?: unknown; signal?: AbortSignal | undefined },
    subject: string,
    options: { absentOn400?: boolean } = {},
  ): Promise<unknown> {
    const ky = (await loadKy()).default;
    try {
      return await ky(`${this.base}${endpoint}`, {
        method,
        headers: { "X-User-Id": this.options.userId, "X-Auth-Token": this.options.authToken },
        timeout: this.options.timeoutMs,
        retry: 0,
        ...(request.searchParams ? { searchParams: request.searchParams } : {}),
        ...(request.json !== undefined ? { json: request.json } : {}),
        ...(request.signal ? { signal: request.signal } : {}),
        fetch: measuredFetch("rocketchat", this.options.fetch ?? fetch),
      }).json();
    } catch (error) {
      if (options.absentOn400 && isHttpError(error) && (await isBareFailure(error))) return ABSENT;
      throw await translateHttpError(error, {
        system: "rocketchat:bot",
        label: "Rocket.Chat",
        extract: (json) => {
          const parsed = v.safeParse(ApiAnswerSchema, json);
          return parsed.success ? parsed.output.error : undefined;
        },
        say: {
          auth: ({ status }) =>
            status === 401
              ? "Rocket.Chat refused the bot's user id or personal access token"
              : `Rocket.Chat refused the bot ${endpoint} for ${subject}: a permission is missing`,
          permanent: ({ status, message }) =>
            `Rocket.Chat refused ${endpoint} for ${subject}: ${message || status}`,
        },
      });
    }
  }
}

const ABSENT = Symbol("absent");

/** ApiClass.ts#failure() without a result: 400 `{"success":false}`, what chat.getMessage answers an unknown id. */
async function isBareFailure(error: HTTPError): Promise<boolean> {
  if (error.response.status !== 400) return false;
  try {
    const body = (await error.response.clone().json()) as unknown;
    const parsed = v.safeParse(ApiAnswerSchema, body);
    return parsed.success && !parsed.output.success && parsed.output.error === undefined;
  } catch {
    return false;
  }
}
