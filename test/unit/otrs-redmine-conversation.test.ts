import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../lib/core/errors.ts";
import type { Link } from "../../lib/links/store.ts";
import {
  articleMarker,
  conversationAspect,
  journalMarker,
  readConversation,
  trimQuotes,
} from "../../lib/sync/otrs-redmine/conversation.ts";
import { parseDeploymentConfig } from "../../lib/sync/registry.ts";

const sandbox = JSON.parse(readFileSync("config/sandbox.json", "utf8"));
const DEFAULTS = {
  quotedLines: true,
  cutFrom:
    parseDeploymentConfig(sandbox).integrations.otrsRedmine?.conversation.otrsToRedmine.trimQuotes.cutFrom ??
    [],
};

describe("trimQuotes", () => {
  it("drops quoted lines and everything from an English or Portuguese reply header on", () => {
    const english =
      "Here it is.\r\n\r\nOn Tue, Dec 1, 2026 at 10:00 Support <s@x> wrote:\r\n> Can you send it?\r\nthanks";
    expect(trimQuotes(english, DEFAULTS)).toBe("Here it is.");
    const portuguese =
      "Segue.\n> citação solta\nobrigada\n\nEm 03/12/2026 10:00, Suporte escreveu:\n> pergunta";
    expect(trimQuotes(portuguese, DEFAULTS)).toBe("Segue.\nobrigada");
    expect(trimQuotes("Oi\n-----Original Message-----\nFrom: x", DEFAULTS)).toBe("Oi");
  });

  it("keeps quoted lines when told, and cuts at the configured patterns only", () => {
    expect(trimQuotes("a\n> b\n--\nc", { quotedLines: false, cutFrom: ["^--$"] })).toBe("a\n> b");
  });
});

describe("the conversation's link memory", () => {
  const link = (aspects: Link["aspects"]): Link => ({
    source: { system: "otrs", instance: "main", type: "ticket", id: "1" },
    target: { system: "redmine", instance: "main", type: "issue", id: "2" },
    aspects,
    version: 1,
    createdAt: "2026-12-03T00:00:00Z",
    updatedAt: "2026-12-03T00:00:00Z",
  });

  it("counts the entries each way and names the last one, for the link lookup", () => {
    const aspect = conversationAspect({ article: 4, journal: 0 }, ["r10>o5", "o6>r11", "r12>o7"]);
    expect(JSON.parse(aspect.state ?? "")).toEqual({
      since: { article: 4, journal: 0 },
      summary: { toOtrs: 2, toRedmine: 1, last: "Redmine journal 12 → OTRS article 7" },
    });
    expect(readConversation(link({ conversation: aspect }))).toEqual({
      since: { article: 4, journal: 0 },
      entries: ["r10>o5", "o6>r11", "r12>o7"],
      notes: [],
    });
  });

  it("reads a link made before conversations were synced as having none", () => {
    expect(readConversation(link({}))).toBeUndefined();
    expect(readConversation(link({ conversation: { state: "not json", syncedAt: "x" } }))).toBeUndefined();
  });

  it("marks copies so that a retry finds them and the other side never copies them back", () => {
    expect(journalMarker(42, 100)).toBe("[deskbridge: Redmine #42, journal 100]");
    expect(articleMarker("456")).toBe("[deskbridge: OTRS article 456]");
  });
});

describe("conversation settings", () => {
  it("defaults to internal notes, no private notes, customer replies and agent notes, a 10 MB cap", () => {
    const settings = parseDeploymentConfig(sandbox).integrations.otrsRedmine?.conversation;
    expect(settings?.redmineToOtrs).toEqual({
      enabled: true,
      publicVisibleForCustomer: false,
      privateNotes: false,
    });
    expect(settings?.otrsToRedmine).toMatchObject({
      enabled: true,
      senderTypes: ["customer", "agent"],
      visibility: "any",
      privateNotes: false,
    });
    expect(settings?.maxAttachmentBytes).toBe(10 * 1024 * 1024);
  });

  it("names the path of a sender type or pattern it cannot use", () => {
    const broken = structuredClone(sandbox);
    broken.integrations.otrsRedmine.conversation = {
      otrsToRedmine: { senderTypes: ["robot"], trimQuotes: { cutFrom: ["(unclosed"] } },
    };
    let problems: { path: string }[] = [];
    try {
      parseDeploymentConfig(broken);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems = error.problems;
    }
    expect(problems.map((p) => p.path)).toEqual([
      "integrations.otrsRedmine.conversation.otrsToRedmine.senderTypes.0",
      "integrations.otrsRedmine.conversation.otrsToRedmine.trimQuotes.cutFrom.0",
    ]);
  });
});
