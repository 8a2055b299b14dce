import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RealItops, startRealItops } from "./servers/itop.ts";

/**
 * The two real iTops (iTop 3.3.0-dev): what the iTop pair's walk-through relies on, as the README sets
 * them up (the bridge's account with "REST Services User" and "Support Agent", the internal side with the
 * `external_ref` extension).
 */
describe("real iTops: the harness", () => {
  let itops: RealItops;

  beforeAll(async () => {
    itops = await startRealItops();
  });

  afterAll(async () => {
    await itops?.stop();
  });

  it("both iTops take the admin, the bridge and the agent through REST", async () => {
    for (const itop of [itops.external, itops.internal]) {
      for (const account of [itop.admin, itop.bridge, itop.agent]) {
        const { status, body } = await itop.rest(
          { operation: "core/check_credentials", user: account.user, password: account.password },
          account,
        );
        expect(status).toBe(200);
        expect(body).toEqual({ code: 0, message: null, authorized: true });
      }
    }
  });

  it("only the internal iTop has external_ref", async () => {
    const internal = await itops.internal.rest(
      {
        operation: "core/get",
        class: "UserRequest",
        key: "SELECT UserRequest",
        output_fields: "id,external_ref",
      },
      itops.internal.bridge,
    );
    expect(internal.body).toMatchObject({ code: 0 });
    const external = await itops.external.rest(
      {
        operation: "core/get",
        class: "UserRequest",
        key: "SELECT UserRequest",
        output_fields: "id,external_ref",
      },
      itops.external.bridge,
    );
    expect(external.body).toEqual({
      code: 100,
      message: "Error: output_fields: invalid attribute code 'external_ref'",
    });
  });

  it("the bridge creates a user request with the README's fields and assigns it to the team and agent", async () => {
    const { internal } = itops;
    const { orgId, callerId, teamId, agentId } = internal.defaults;
    const created = await internal.rest(
      {
        operation: "core/create",
        class: "UserRequest",
        comment: "deskbridge",
        output_fields: "ref,org_id,caller_id,impact,urgency,priority,external_ref,status",
        fields: {
          title: "Cannot send mail",
          description: "<p>Outlook says the server refused.</p>",
          org_id: orgId,
          caller_id: callerId,
          impact: "2",
          urgency: "2",
          priority: "4",
          external_ref: "R-000123",
        },
      },
      internal.bridge,
    );
    expect(created.body.code).toBe(0);
    const [ticket] = Object.values(created.body.objects) as { key: string; fields: Record<string, string> }[];
    // iTop computes the priority from impact and urgency (group × medium → 2), whatever was sent.
    expect(ticket?.fields).toMatchObject({
      org_id: String(orgId),
      caller_id: String(callerId),
      impact: "2",
      urgency: "2",
      priority: "2",
      external_ref: "R-000123",
      status: "new",
    });
    const assigned = await internal.rest(
      {
        operation: "core/apply_stimulus",
        class: "UserRequest",
        key: Number(ticket?.key),
        stimulus: "ev_assign",
        comment: "deskbridge",
        output_fields: "status,team_id,agent_id",
        fields: { team_id: teamId, agent_id: agentId },
      },
      internal.bridge,
    );
    expect(assigned.body).toMatchObject({
      code: 0,
      objects: {
        [`UserRequest::${ticket?.key}`]: {
          fields: { status: "assigned", team_id: String(teamId), agent_id: String(agentId) },
        },
      },
    });
    const found = await internal.rest(
      {
        operation: "core/get",
        class: "UserRequest",
        key: "SELECT UserRequest WHERE external_ref = 'R-000123'",
        output_fields: "id",
      },
      internal.bridge,
    );
    expect(Object.keys(found.body.objects ?? {})).toEqual([`UserRequest::${ticket?.key}`]);
  });
});
