import type { LivechatMessage, LivechatSession, OfflineMessage } from "../../systems/rocketchat/schemas.ts";
import { firstContact } from "../../systems/rocketchat/schemas.ts";

/** The line that marks an article as this chat's (searched before an article is added again). */
export const chatMarker = (key: string) => `[deskbridge: Rocket.Chat ${key}]`;

/** A date and time in a time zone: `2026-12-01 14:05:09`. */
function stamp(iso: string, timeZone: string): { date: string; time: string } {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
  }).formatToParts(new Date(iso));
  const get = (type: string) => parts.find((part) => part.type === type)?.value ?? "00";
  return {
    date: `${get("year")}-${get("month")}-${get("day")}`,
    time: `${get("hour")}:${get("minute")}:${get("second")}`,
  };
}

/** Who wrote a message: the agent's name for messages carrying `agentId`, the visitor's otherwise. */
function author(message: LivechatMessage, chat: LivechatSession): string {
  if (message.agentId)
    return message.u?.name || chat.agent?.name || message.u?.username || message.username || "agent";
  return chat.visitor.name || message.u?.name || message.u?.username || message.username || "visitor";
}

/**
 * A closed chat as an article: the visitor's details, the pages visited, and the conversation, one
 * line a message (time, author, text), in the configured time zone, ending with the chat's marker.
 */
export function renderChat(
  chat: LivechatSession,
  options: { timeZone: string; key: string; department?: string },
): string {
  const lines: string[] = [];
  const email = firstContact(chat.visitor.email, "address");
  const phone = firstContact(chat.visitor.phone, "phoneNumber");
  lines.push(
    `Livechat ${chat.topic ? `"${chat.topic}" ` : ""}with ${chat.visitor.name || chat.label || "a visitor"}`,
  );
  if (chat.createdAt || chat.closedAt) {
    const span = [chat.createdAt, chat.closedAt]
      .filter((at): at is string => Boolean(at))
      .map((at) => {
        const { date, time } = stamp(at, options.timeZone);
        return `${date} ${time}`;
      });
    lines.push(`${span.join(" – ")} (${options.timeZone})`);
  }
  lines.push("");
  lines.push(`Visitor: ${chat.visitor.name || chat.visitor.username || "(no name)"}`);
  if (email) lines.push(`E-mail: ${email}`);
  if (phone) lines.push(`Phone: ${phone}`);
  const department = options.department ?? chat.departmentId ?? chat.visitor.department;
  if (department) lines.push(`Department: ${department}`);
  if (chat.agent?.name || chat.agent?.username)
    lines.push(`Agent: ${chat.agent.name || chat.agent.username}`);
  if (chat.tags && chat.tags.length > 0) lines.push(`Tags: ${chat.tags.join(", ")}`);

  const pages = chat.messages.filter((message) => message.navigation?.page);
  if (pages.length > 0) {
    lines.push("", "Pages visited:");
    for (const message of pages) {
      const page = message.navigation?.page;
      const { time } = stamp(message.ts, options.timeZone);
      lines.push(`  ${time}  ${[page?.title, page?.location?.href].filter(Boolean).join(" — ")}`);
    }
  }

  lines.push("", "Conversation:");
  let day = "";
  for (const message of chat.messages) {
    if (message.navigation) continue;
    const { date, time } = stamp(message.ts, options.timeZone);
    if (date !== day) {
      lines.push(`-- ${date}`);
      day = date;
    }
    const who = `${author(message, chat)}${message.closingMessage ? " (closing)" : ""}`;
    const text = message.file
      ? `[file: ${message.file.name ?? "attachment"}]${message.msg ? ` ${message.msg}` : ""}`
      : (message.msg ?? "");
    const [first = "", ...rest] = text.split(/\r?\n/);
    lines.push(`${time}  ${who}: ${first}`);
    for (const line of rest) lines.push(`          ${line}`);
  }
  lines.push("", chatMarker(options.key));
  return lines.join("\n");
}

/** An offline-form message as an article. */
export function renderOffline(message: OfflineMessage, options: { timeZone: string; key: string }): string {
  const { date, time } = stamp(message.sentAt, options.timeZone);
  const lines = [
    `Offline message from ${message.visitor.name || message.visitor.email} <${message.visitor.email}>`,
    `${date} ${time} (${options.timeZone})`,
  ];
  if (message.department) lines.push(`Department: ${message.department}`);
  lines.push("", message.message, "", chatMarker(options.key));
  return lines.join("\n");
}

/** The ticket numbers a chat names in its topic or tags (`#2026120110000015`), each once, in order. */
export function ticketReferences(chat: Pick<LivechatSession, "topic" | "tags">, pattern: string): string[] {
  const found: string[] = [];
  for (const text of [chat.topic ?? "", ...(chat.tags ?? [])]) {
    for (const match of text.matchAll(new RegExp(pattern, "g"))) {
      const number = match[1];
      if (number && !found.includes(number)) found.push(number);
    }
  }
  return found;
}
