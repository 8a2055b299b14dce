import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { TIME_ZONES_MODULE, timeZonesModuleText } from "../../infra/tools/time-zones.ts";
import { parseDeploymentConfig } from "../../lib/sync/registry.ts";

const sandbox = JSON.parse(readFileSync("config/sandbox.json", "utf8"));

function withTimeZone(zone: string) {
  const raw = structuredClone(sandbox);
  raw.integrations.rocketchatOtrs.livechat.timeZone = zone;
  return raw;
}

describe("the livechat transcripts' time zone", () => {
  it("is looked up in the zones this Node lists, as lib/sync/rocketchat-otrs/time-zones.ts holds them (npm run generate)", () => {
    const file = readFileSync(TIME_ZONES_MODULE, "utf8");
    expect(file === timeZonesModuleText(), `${TIME_ZONES_MODULE} is stale: run npm run generate`).toBe(true);
  });

  it("takes a listed zone, UTC and an alias Intl knows, and names the field of any other", () => {
    for (const zone of ["America/Sao_Paulo", "UTC", "US/Eastern"]) {
      expect(parseDeploymentConfig(withTimeZone(zone)).integrations.rocketchatOtrs?.livechat?.timeZone).toBe(
        zone,
      );
    }
    expect(() => parseDeploymentConfig(withTimeZone("Mars/Olympus_Mons"))).toThrow(
      /integrations\.rocketchatOtrs\.livechat\.timeZone: must be an IANA time zone/,
    );
  });
});
