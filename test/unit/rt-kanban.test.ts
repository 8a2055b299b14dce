import { describe, expect, it } from "vitest";
import { ConfigError } from "../../lib/core/errors.ts";
import { parseDeploymentConfig } from "../../lib/sync/registry.ts";
import {
  cardReference,
  columnOf,
  descriptionOf,
  exposure,
  priorityOf,
  ticketIdOfReference,
  titleOf,
} from "../../lib/sync/rt-kanban/projection.ts";
import type { RtKanbanConfig } from "../../lib/sync/rt-kanban/settings.ts";
import type { RtTicket } from "../../lib/systems/rt/schemas.ts";

const base = {
  systems: {
    rt: {
      main: { url: "https://rt.example.com/REST/2.0", token: { secret: "RT_TOKEN" }, user: "deskbridge" },
    },
    kanboard: { main: { url: "https://kb.example.com/jsonrpc.php", token: { secret: "KANBOARD_TOKEN" } } },
  },
  integrations: {
    rtKanban: {
      rt: "main",
      board: { kanboard: "main", projectId: 1 },
      auth: { secret: "RT_WEBHOOK_TOKEN" },
      queues: ["General"],
      sensitiveQueues: ["HR"],
      filters: [
        { field: "Subject", notMatches: "^\\[spam\\]" },
        { field: "CF.{Category}", notIn: ["internal"] },
      ],
    },
  },
};
const settings = parseDeploymentConfig(base).integrations.rtKanban as RtKanbanConfig;

const ticket = (overrides: Partial<RtTicket> = {}): RtTicket => ({
  id: 7,
  effectiveId: 7,
  subject: "Printer on fire",
  status: "open",
  queue: "General",
  owner: "alice",
  priority: 50,
  requestors: ["jdoe@example.com"],
  customFields: {},
  lastUpdated: undefined,
  ...overrides,
});

describe("which tickets the board shows", () => {
  it("shows a ticket of an exposed queue", () => {
    expect(exposure(ticket(), settings)).toEqual({ show: true });
  });

  it("never shows a ticket of a sensitive queue, and says so", () => {
    expect(exposure(ticket({ queue: "HR" }), settings)).toMatchObject({ show: false, sensitive: true });
  });

  it("does not show deleted tickets, other queues, or tickets a filter excludes", () => {
    expect(exposure(ticket({ status: "deleted" }), settings)).toMatchObject({
      show: false,
      sensitive: false,
    });
    expect(exposure(ticket({ queue: "Sales" }), settings)).toMatchObject({
      show: false,
      reason: expect.stringContaining("Sales"),
    });
    expect(exposure(ticket({ subject: "[SPAM] cheap pills" }), settings)).toMatchObject({ show: false });
    expect(exposure(ticket({ customFields: { Category: "internal" } }), settings)).toMatchObject({
      show: false,
    });
  });
});

describe("what a card shows", () => {
  it("maps statuses to Kanboard's default columns unless configured, and leaves unknown ones to the default", () => {
    expect(columnOf("new", settings)).toBe("Backlog");
    expect(columnOf("resolved", settings)).toBe("Done");
    expect(columnOf("waiting-for-vendor", settings)).toBeUndefined();
  });

  it("puts RT priorities into bands", () => {
    expect([0, 24, 25, 50, 74, 75, 99].map((p) => priorityOf(p, settings))).toEqual([0, 0, 1, 2, 2, 3, 3]);
  });

  it("fills the title template and links the ticket in the description", () => {
    expect(titleOf(ticket(), settings)).toBe("#7 Printer on fire");
    expect(descriptionOf(ticket(), "https://rt.example.com/")).toBe(
      "[RT #7](https://rt.example.com/Ticket/Display.html?id=7) · queue General · requested by jdoe@example.com",
    );
  });

  it("references a card by its ticket and reads the reference back", () => {
    expect(cardReference(42)).toBe("RT#42");
    expect(ticketIdOfReference("RT#42")).toBe(42);
    expect(ticketIdOfReference("OTRS#42")).toBeUndefined();
  });
});

describe("the rtKanban configuration", () => {
  it("refuses a queue both exposed and sensitive, naming it", () => {
    const raw = structuredClone(base);
    raw.integrations.rtKanban.sensitiveQueues = ["General"];
    expect(() => parseDeploymentConfig(raw)).toThrow(ConfigError);
    expect(() => parseDeploymentConfig(raw)).toThrow(/sensitiveQueues: lists General/);
  });

  it("refuses a filter with an invalid regular expression, naming its path", () => {
    const raw = structuredClone(base);
    raw.integrations.rtKanban.filters = [{ field: "Subject", notMatches: "([" }];
    expect(() => parseDeploymentConfig(raw)).toThrow(/integrations\.rtKanban\.filters\.0\.notMatches/);
  });
});
