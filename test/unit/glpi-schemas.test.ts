import { readFileSync } from "node:fs";
import * as v from "valibot";
import { describe, expect, it } from "vitest";
import {
  CreatedItemSchema,
  GlpiErrorBodySchema,
  InitSessionSchema,
  SearchResultSchema,
} from "../../lib/systems/glpi/schemas.ts";

const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(`test/fixtures/glpi/${name}.json`, "utf8"));

describe("GLPI answer schemas, against real payload shapes", () => {
  it("reads a session, a created ticket and error arrays", () => {
    expect(v.parse(InitSessionSchema, fixture("init-session")).session_token).toHaveLength(40);
    expect(v.parse(CreatedItemSchema, fixture("ticket-created")).id).toBe(4711);
    expect(v.parse(GlpiErrorBodySchema, fixture("error-session-invalid"))[0]).toBe(
      "ERROR_SESSION_TOKEN_INVALID",
    );
    expect(v.parse(GlpiErrorBodySchema, fixture("error-glpi-add"))[0]).toBe("ERROR_GLPI_ADD");
  });

  it("reads a partial search page and an empty search that has no data key", () => {
    const page = v.parse(SearchResultSchema, fixture("search-entity"));
    expect(page.data.map((row) => row["76674"])).toEqual(["11.222.333/0001-81", "24681357000140"]);
    expect(v.parse(SearchResultSchema, fixture("search-entity-empty")).data).toEqual([]);
  });

  it("rejects a create answer without a numeric id", () => {
    expect(v.safeParse(CreatedItemSchema, fixture("ticket-created-invalid")).success).toBe(false);
  });
});
