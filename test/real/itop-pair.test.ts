import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ItopBridge, itopBridge } from "../helpers/itop.ts";
import { type Stack, setupStack } from "../helpers/stack.ts";
import { type Credentials, type RealItop, type RealItops, startRealItops } from "./servers/itop.ts";

/**
 * The README's iTop external ↔ iTop internal walk-through against two real iTops (iTop 3.3.0-dev
 * community): budi works the customer's ticket on the external iTop, rina the provider's twin on the
 * internal one, each through iTop's own REST API. No webhook extension runs in them, so the test plays
 * it: after each change a person (or the bridge) makes, it posts to the bridge what the README's
 * ActionWebhook set would send for it, as JSON or form-encoded as the iTop-to-iTop action posts it.
 * Everything is read back from the real iTops (as their admin), never from the bridge's answers alone.
 */
let itops: RealItops;
let external: RealItop;
let internal: RealItop;
let stack: Stack;
let bridge: ItopBridge;

beforeAll(async () => {
  itops = await startRealItops();
  ({ external, internal } = itops);
  stack = await setupStack({
    jobs: { webhookAck: "inline", inlineBudgetMs: 60_000, maxAttempts: 2 },
    configure(config) {
      config.systems.itop = {
        customer: {
          url: external.url,
          version: "1.3",
          user: external.bridge.user,
          password: { secret: "ITOP_EXTERNAL_PASSWORD" },
          timeoutMs: 20_000,
        },
        elitery: {
          url: internal.url,
          version: "1.3",
          user: internal.bridge.user,
          // The community edition has no token login: the internal side logs in by password too.
          password: { secret: "ITOP_INTERNAL_PASSWORD" },
          timeoutMs: 20_000,
        },
        // biome-ignore lint/suspicious/noExplicitAny: the token shape of the fakes is replaced here
      } as any;
      Object.assign(config.integrations.itopPair, {
        externalRefField: "external_ref",
        defaults: {
          external: {
            orgId: external.defaults.orgId,
            agentId: external.defaults.agentId,
            teamId: external.defaults.teamId,
          },
          internal: internal.defaults,
        },
        stateFields: {
          resolved: {
            service_id: external.services.Email,
            resolution_code: { copy: "resolution_code" },
            solution: { copy: "solution" },
          },
        },
      });
    },
  });
  process.env.ITOP_EXTERNAL_PASSWORD = external.bridge.password;
  process.env.ITOP_INTERNAL_PASSWORD = internal.bridge.password;
  // The fakes are not used: the handlers reach the real iTops through the config above.
  bridge = await itopBridge(stack.itop.external, stack.itop.internal);
}, 900_000);

afterAll(async () => {
  await stack?.close();
  await itops?.stop();
});

// ---------------------------------------------------------------------------------------------------
// iTop, read and written through its REST API

type Fields = Record<string, unknown>;
interface LogEntry {
  date: string;
  user_login: string;
  user_id: string;
  message: string;
  message_html: string;
}
interface Attachment {
  id: string;
  filename: string;
  mimetype: string;
  data: string;
}

/** A REST call that must succeed (`code` 0); its objects. */
async function call(itop: RealItop, payload: object, as?: Credentials) {
  const { status, body } = await itop.rest(payload, as);
  if (status !== 200 || body?.code !== 0)
    throw new Error(
      `iTop ${itop.side} ${JSON.stringify(payload).slice(0, 300)} → ${status} ${JSON.stringify(body)}`,
    );
  return Object.values(body.objects ?? {}) as { key: string; fields: Fields }[];
}

const TICKET_FIELDS =
  "ref,finalclass,title,description,impact,urgency,priority,status,org_id,caller_id,team_id,agent_id,service_id,pending_reason,solution,resolution_code,last_update,private_log";

async function ticket(itop: RealItop, id: string, cls = "UserRequest"): Promise<Fields> {
  const [found] = await call(itop, {
    operation: "core/get",
    class: cls,
    key: Number(id),
    output_fields: TICKET_FIELDS + (itop === internal ? ",external_ref" : ""),
  });
  if (!found) throw new Error(`no ${cls} ${id} on the ${itop.side} iTop`);
  return found.fields;
}

const entries = (fields: Fields) => (fields.private_log as { entries: LogEntry[] }).entries;

async function attachments(itop: RealItop, cls: string, id: string): Promise<Attachment[]> {
  const found = await call(itop, {
    operation: "core/get",
    class: "Attachment",
    key: `SELECT Attachment WHERE item_class = '${cls}' AND item_id = ${Number(id)}`,
    output_fields: "id,contents",
  });
  return found
    .map(({ key, fields }) => {
      const contents = fields.contents as { data: string; filename: string; mimetype: string };
      return { id: key, filename: contents.filename, mimetype: contents.mimetype, data: contents.data };
    })
    .sort((a, b) => Number(a.id) - Number(b.id));
}

/** How many change operations iTop recorded on an object: any write leaves one. */
async function changeOps(itop: RealItop, cls: string, id: string): Promise<number> {
  return (
    await call(itop, {
      operation: "core/get",
      class: "CMDBChangeOp",
      key: `SELECT CMDBChangeOp WHERE objclass = '${cls}' AND objkey = ${Number(id)}`,
      output_fields: "id",
    })
  ).length;
}

/** Everything a sync could change on one ticket: its fields, log, attachments and change history. */
async function snapshot(itop: RealItop, cls: string, id: string) {
  const files = await attachments(itop, cls, id);
  return {
    ticket: await ticket(itop, id, cls),
    attachments: files.map((file) => ({ id: file.id, sha: sha(file.data) })),
    attachmentChanges: await Promise.all(files.map((file) => changeOps(itop, "Attachment", file.id))),
    changes: await changeOps(itop, cls, id),
  };
}

const sha = (base64: string) => createHash("sha256").update(Buffer.from(base64, "base64")).digest("hex");
const b64 = (text: string) => Buffer.from(text).toString("base64");

async function create(itop: RealItop, cls: string, fields: Fields, as: Credentials) {
  const [made] = await call(
    itop,
    { operation: "core/create", class: cls, comment: as.user, output_fields: "id", fields },
    as,
  );
  return String(made?.key);
}
async function update(itop: RealItop, cls: string, id: string, fields: Fields, as: Credentials) {
  await call(
    itop,
    { operation: "core/update", class: cls, key: Number(id), comment: as.user, output_fields: "id", fields },
    as,
  );
}
async function stimulus(
  itop: RealItop,
  cls: string,
  id: string,
  name: string,
  fields: Fields,
  as: Credentials,
) {
  const [done] = await call(
    itop,
    {
      operation: "core/apply_stimulus",
      class: cls,
      key: Number(id),
      stimulus: name,
      comment: as.user,
      output_fields: "status",
      fields,
    },
    as,
  );
  return done?.fields.status;
}
const addLog = (itop: RealItop, cls: string, id: string, message: string, as: Credentials) =>
  update(itop, cls, id, { private_log: { add_item: { message, format: "html" } } }, as);

// ---------------------------------------------------------------------------------------------------
// The webhook extension, played by the test

interface Hook {
  path: string;
  payload: Record<string, string>;
}
/** Every webhook posted, for the redelivery of them all at the end. */
const posted: Hook[] = [];

/** Posts a webhook as the extension would (JSON, or form-encoded `json_data`); the bridge's answer. */
async function hook(path: string, payload: Record<string, string>, encoding: "json" | "form" = "json") {
  posted.push({ path, payload });
  const answer =
    encoding === "form" ? await bridge.sendForm(path, payload) : await bridge.send(path, payload);
  // Inline: 200 once the sync is done; anything queued is run before the test reads iTop back.
  await stack.drainJobs({ idleMs: 200, timeoutMs: 120_000 });
  return { status: answer.statusCode, body: JSON.parse(answer.body ?? "{}") as Record<string, unknown> };
}
async function hookOk(path: string, payload: Record<string, string>, encoding: "json" | "form" = "json") {
  const answer = await hook(path, payload, encoding);
  expect(answer, JSON.stringify(answer)).toEqual({ status: 200, body: {} });
  return answer;
}
const updateTicket = (cls: string, id: string, encoding?: "json" | "form") =>
  hookOk("/api/v1/update-ticket", { class: cls, id }, encoding);
const privateLogHook = (id: string, encoding?: "json" | "form") =>
  hookOk("/api/v1/ticket-update-private-log", { event: "update private log", id }, encoding);
const stateHook = (event: string, id: string, encoding?: "json" | "form") =>
  hookOk("/api/v1/ticket-state-change", { event, id }, encoding);
const attachmentHook = (
  source: "external" | "elitery",
  attachmentId: string,
  cls: string,
  itemId: string,
  event = "attachment.update",
  encoding?: "json" | "form",
) =>
  hookOk(
    "/api/v1/update-attachment",
    { event, source, attachment_id: attachmentId, item_class: cls, item_id: itemId },
    encoding,
  );

/** Asserts that running `act` (an echo or a redelivery) changes neither ticket of the pair. */
async function changesNothing(act: () => Promise<unknown>) {
  const before = [
    await snapshot(external, "UserRequest", shared.id),
    await snapshot(internal, "UserRequest", twin.id),
  ];
  await act();
  const after = [
    await snapshot(external, "UserRequest", shared.id),
    await snapshot(internal, "UserRequest", twin.id),
  ];
  expect(after).toEqual(before);
}

// ---------------------------------------------------------------------------------------------------
// The walk-through: one shared ticket

const shared = { id: "", ref: "" };
const twin = { id: "" };

async function findTwins(ref: string, cls = "UserRequest") {
  return call(internal, {
    operation: "core/get",
    class: cls,
    key: `SELECT ${cls} WHERE external_ref = '${ref}'`,
    output_fields: "id",
  });
}

/** The create-ticket payload the external iTop's webhook sends for a ticket, every value a string. */
async function createPayload(cls: string, id: string): Promise<Record<string, string>> {
  const [made] = await call(external, {
    operation: "core/get",
    class: cls,
    key: Number(id),
    output_fields:
      "ref,title,description,status,caller_id_friendlyname,org_id_friendlyname,team_id_friendlyname,agent_id_friendlyname,priority",
  });
  const f = made?.fields ?? {};
  return {
    event: "ticket.create",
    class: cls,
    id,
    ref: String(f.ref),
    title: String(f.title),
    description: String(f.description),
    status: String(f.status),
    caller_id: String(f.caller_id_friendlyname ?? ""),
    org_id: String(f.org_id_friendlyname ?? ""),
    team_id: String(f.team_id_friendlyname ?? ""),
    operator_id: String(f.agent_id_friendlyname ?? ""),
    priority: String(f.priority),
  };
}

describe("iTop external ↔ iTop internal, two real iTops (3.3.0-dev)", () => {
  it("1. a new external ticket gets its internal twin with the internal defaults and the external ref, once", async () => {
    const budi = external.agent;
    shared.id = await create(
      external,
      "UserRequest",
      {
        title: "Email tidak bisa dikirim",
        description: "<p>Sejak pagi email keluar tertahan di outbox.</p>",
        org_id: external.defaults.orgId,
        caller_id: external.persons["Budi Santoso"],
        impact: "2",
        urgency: "3",
      },
      budi,
    );
    const made = await ticket(external, shared.id);
    shared.ref = String(made.ref);
    await hookOk("/api/v1/create-ticket", await createPayload("UserRequest", shared.id));

    const [found, ...more] = await findTwins(shared.ref);
    expect(more).toHaveLength(0);
    twin.id = String(found?.key);
    const copy = await ticket(internal, twin.id);
    expect(copy).toMatchObject({
      finalclass: "UserRequest",
      title: made.title,
      description: made.description,
      impact: "2",
      urgency: "3",
      priority: made.priority,
      org_id: String(internal.defaults.orgId),
      agent_id: String(internal.defaults.agentId),
      team_id: String(internal.defaults.teamId),
      caller_id: String(internal.defaults.callerId),
      external_ref: shared.ref,
      status: "new",
    });

    // The create webhook redelivered (form-encoded this time) makes no second twin and writes nothing.
    await changesNothing(async () =>
      hookOk("/api/v1/create-ticket", await createPayload("UserRequest", shared.id), "form"),
    );
    expect(await findTwins(shared.ref)).toHaveLength(1);
  });

  it("2. budi changes title and urgency: the internal ticket follows (iTop computing the same priority), once", async () => {
    await update(
      external,
      "UserRequest",
      shared.id,
      { title: "Email keluar tertahan (urgent)", urgency: "1" },
      external.agent,
    );
    const changed = await ticket(external, shared.id);
    await updateTicket("UserRequest", shared.id);
    expect(await ticket(internal, twin.id)).toMatchObject({
      title: "Email keluar tertahan (urgent)",
      urgency: "1",
      impact: "2",
      priority: changed.priority,
    });
    await changesNothing(() => updateTicket("UserRequest", shared.id, "form"));
  });

  it("3. private log entries go both ways, each once, naming their author; echoes copy nothing", async () => {
    await addLog(external, "UserRequest", shared.id, "<p>Sudah dicoba restart server.</p>", external.agent);
    await updateTicket("UserRequest", shared.id);
    const inside = entries(await ticket(internal, twin.id));
    expect(inside).toHaveLength(1);
    expect(inside[0]?.message_html).toContain("Sudah dicoba restart server.");
    expect(inside[0]?.message_html).toContain("Budi Santoso");
    expect(entries(await ticket(external, shared.id))).toHaveLength(1);
    // The echo: the bridge's entry fires the internal private-log webhook.
    await changesNothing(() => privateLogHook(twin.id));

    await addLog(
      internal,
      "UserRequest",
      twin.id,
      "<p>Kami sedang memeriksa antrian SMTP.</p>",
      internal.agent,
    );
    await privateLogHook(twin.id, "form");
    const outside = entries(await ticket(external, shared.id));
    expect(outside).toHaveLength(2);
    // iTop lists a case log's entries oldest first (REST 1.3).
    expect(outside[1]?.message_html).toContain("Kami sedang memeriksa antrian SMTP.");
    expect(outside[1]?.message_html).toContain("Rina Wijaya");
    expect(entries(await ticket(internal, twin.id))).toHaveLength(2);
    // The echo: the bridge's entry fires the external ticket-updated webhook.
    await changesNothing(() => updateTicket("UserRequest", shared.id));
  });

  it("4. an inline image in an internal entry becomes an attachment on the external ticket, the text saying so", async () => {
    const png = randomBytes(64).toString("base64");
    const filename = "tangkapan-layar.png";
    const secret = randomBytes(16).toString("hex");
    const imageId = await create(
      internal,
      "InlineImage",
      {
        item_class: "UserRequest",
        item_id: Number(twin.id),
        item_org_id: internal.defaults.orgId,
        secret,
        contents: { data: png, filename, mimetype: "image/png" },
      },
      internal.admin,
    );
    const src = `${internal.base}pages/ajax.document.php?operation=download_inlineimage&id=${imageId}&s=${secret}`;
    await addLog(
      internal,
      "UserRequest",
      twin.id,
      `<p>Lihat tangkapan layar:</p><p><img src="${src}" data-img-id="${imageId}" data-img-secret="${secret}"></p>`,
      internal.agent,
    );
    const before = (await attachments(external, "UserRequest", shared.id)).length;
    const logBefore = entries(await ticket(external, shared.id)).length;
    await privateLogHook(twin.id);
    const outside = entries(await ticket(external, shared.id));
    expect(outside).toHaveLength(logBefore + 1);
    const entry = outside.at(-1);
    expect(entry?.message_html).toContain("Lihat tangkapan layar:");
    expect(entry?.message_html).toContain(`[image: ${filename}, attached]`);
    expect(entry?.message_html).not.toContain("<img");
    const files = await attachments(external, "UserRequest", shared.id);
    expect(files).toHaveLength(before + 1);
    const image = files[files.length - 1] as Attachment;
    expect(image).toMatchObject({ filename, mimetype: "image/png" });
    expect(sha(image.data)).toBe(sha(png));
    // The echoes: the external attachment and the external entry; the image is not copied back.
    await changesNothing(async () => {
      await attachmentHook("external", image.id, "UserRequest", shared.id, "attachment.create");
      await updateTicket("UserRequest", shared.id);
    });
    expect(await attachments(internal, "UserRequest", twin.id)).toHaveLength(0);
  });

  it("5. attachments follow create, update and delete external → internal, and internal → external", async () => {
    const budi = external.agent;
    const inside = async () =>
      (await attachments(internal, "UserRequest", twin.id)).filter((file) => file.filename === "log.txt");
    const attachmentId = await create(
      external,
      "Attachment",
      {
        item_class: "UserRequest",
        item_id: Number(shared.id),
        item_org_id: external.defaults.orgId,
        contents: { data: b64("versi 1"), filename: "log.txt", mimetype: "text/plain" },
      },
      budi,
    );
    await attachmentHook("external", attachmentId, "UserRequest", shared.id, "attachment.create");
    const [copy, ...more] = await inside();
    expect(more).toHaveLength(0);
    expect(copy && sha(copy.data)).toBe(sha(b64("versi 1")));
    await changesNothing(() =>
      attachmentHook("elitery", String(copy?.id), "UserRequest", twin.id, "attachment.create", "form"),
    );

    await update(
      external,
      "Attachment",
      attachmentId,
      { contents: { data: b64("versi 2"), filename: "log.txt", mimetype: "text/plain" } },
      budi,
    );
    await attachmentHook("external", attachmentId, "UserRequest", shared.id);
    const updated = await inside();
    expect(updated.map((file) => file.id)).toEqual([copy?.id]);
    expect(sha(updated[0]?.data ?? "")).toBe(sha(b64("versi 2")));
    await changesNothing(() => attachmentHook("elitery", String(copy?.id), "UserRequest", twin.id));

    await call(
      external,
      { operation: "core/delete", class: "Attachment", key: Number(attachmentId), comment: "budi" },
      budi,
    );
    await attachmentHook("external", attachmentId, "UserRequest", shared.id, "attachment.delete", "form");
    expect(await inside()).toHaveLength(0);
    expect(await attachments(external, "UserRequest", shared.id)).not.toContainEqual(
      expect.objectContaining({ id: attachmentId }),
    );
    // The echo: the bridge's delete fires the internal attachment webhook.
    await changesNothing(() =>
      attachmentHook("elitery", String(copy?.id), "UserRequest", twin.id, "attachment.delete"),
    );

    const rina = internal.agent;
    const diagnosis = b64("hasil diagnosa: antrian SMTP penuh");
    const fromInside = await create(
      internal,
      "Attachment",
      {
        item_class: "UserRequest",
        item_id: Number(twin.id),
        item_org_id: internal.defaults.orgId,
        contents: { data: diagnosis, filename: "diagnosa.txt", mimetype: "text/plain" },
      },
      rina,
    );
    await attachmentHook("elitery", fromInside, "UserRequest", twin.id, "attachment.create");
    const outside = (await attachments(external, "UserRequest", shared.id)).filter(
      (file) => file.filename === "diagnosa.txt",
    );
    expect(outside).toHaveLength(1);
    expect(sha(outside[0]?.data ?? "")).toBe(sha(diagnosis));
    await changesNothing(() =>
      attachmentHook("external", String(outside[0]?.id), "UserRequest", shared.id, "attachment.create"),
    );
    expect((await attachments(internal, "UserRequest", twin.id)).map((file) => file.filename).sort()).toEqual(
      ["diagnosa.txt"],
    );
  });

  it("6. the state follows internal → external through stimuli, with the external side's own team and agent", async () => {
    const rina = internal.agent;
    expect(
      await stimulus(
        internal,
        "UserRequest",
        twin.id,
        "ev_assign",
        { team_id: internal.defaults.teamId, agent_id: internal.defaults.agentId },
        rina,
      ),
    ).toBe("assigned");
    await stateHook("ticket assigned", twin.id);
    expect(await ticket(external, shared.id)).toMatchObject({
      status: "assigned",
      team_id: String(external.defaults.teamId),
      agent_id: String(external.defaults.agentId),
    });
    await changesNothing(async () => {
      await updateTicket("UserRequest", shared.id); // the external echo
      await stateHook("ticket assigned", twin.id, "form"); // a redelivery
    });

    expect(
      await stimulus(
        internal,
        "UserRequest",
        twin.id,
        "ev_pending",
        { pending_reason: "Menunggu vendor" },
        rina,
      ),
    ).toBe("pending");
    await stateHook("ticket pending", twin.id, "form");
    expect(await ticket(external, shared.id)).toMatchObject({
      status: "pending",
      pending_reason: "Menunggu vendor",
    });
    await changesNothing(() => updateTicket("UserRequest", shared.id));

    expect(await stimulus(internal, "UserRequest", twin.id, "ev_assign", {}, rina)).toBe("assigned");
    await stateHook("ticket assigned", twin.id);
    expect(await ticket(external, shared.id)).toMatchObject({ status: "assigned" });
    await changesNothing(() => updateTicket("UserRequest", shared.id));

    expect(
      await stimulus(
        internal,
        "UserRequest",
        twin.id,
        "ev_resolve",
        {
          service_id: internal.services.Email,
          resolution_code: "system update",
          solution: "Antrian SMTP dibersihkan.",
        },
        rina,
      ),
    ).toBe("resolved");
    const resolved = await ticket(internal, twin.id);
    await stateHook("ticket resolved", twin.id);
    const outside = await ticket(external, shared.id);
    expect(outside).toMatchObject({
      status: "resolved",
      service_id: String(external.services.Email),
      resolution_code: "system update",
      solution: resolved.solution,
    });
    // iTop keeps a plain-text solution as HTML.
    expect(String(outside.solution)).toContain("Antrian SMTP dibersihkan.");
    await changesNothing(async () => {
      await updateTicket("UserRequest", shared.id);
      await stateHook("ticket resolved", twin.id, "form");
    });
  });

  it("7. every webhook posted again, as JSON and as a form, changes nothing on either side", async () => {
    const all = [...posted];
    expect(new Set(all.map((call) => call.path))).toEqual(
      new Set([
        "/api/v1/create-ticket",
        "/api/v1/update-ticket",
        "/api/v1/update-attachment",
        "/api/v1/ticket-update-private-log",
        "/api/v1/ticket-state-change",
      ]),
    );
    const logs = [
      entries(await ticket(external, shared.id)).length,
      entries(await ticket(internal, twin.id)).length,
    ];
    await changesNothing(async () => {
      for (const { path, payload } of all) {
        await hookOk(path, payload, "json");
        await hookOk(path, payload, "form");
      }
    });
    expect([
      entries(await ticket(external, shared.id)).length,
      entries(await ticket(internal, twin.id)).length,
    ]).toEqual(logs);
  });

  it("8. an Incident is shared too; a ticket of a class not shared is ignored", async () => {
    const incident = await create(
      external,
      "Incident",
      {
        title: "Server email mati",
        description: "<p>Tidak ada email masuk sejak 08:00.</p>",
        org_id: external.defaults.orgId,
        caller_id: external.persons["Budi Santoso"],
        impact: "1",
        urgency: "2",
      },
      external.agent,
    );
    const made = await ticket(external, incident, "Incident");
    await hookOk("/api/v1/create-ticket", await createPayload("Incident", incident), "form");
    const [found, ...more] = await findTwins(String(made.ref), "Incident");
    expect(more).toHaveLength(0);
    expect(await ticket(internal, String(found?.key), "Incident")).toMatchObject({
      finalclass: "Incident",
      title: made.title,
      description: made.description,
      impact: "1",
      urgency: "2",
      priority: made.priority,
      org_id: String(internal.defaults.orgId),
      external_ref: made.ref,
    });

    // A change (iTop's ITIL change management is installed; Change itself is abstract) is not a shared
    // class: the bridge ignores it.
    const change = await create(
      external,
      "RoutineChange",
      { title: "Ganti server SMTP", description: "Migrasi ke server baru.", org_id: external.defaults.orgId },
      external.admin,
    );
    const [ignoredCreate, ignoredUpdate] = [
      await hook("/api/v1/create-ticket", {
        event: "ticket.create",
        class: "RoutineChange",
        id: change,
        ref: "",
        title: "Ganti server SMTP",
        description: "Migrasi ke server baru.",
        status: "new",
        caller_id: "",
        org_id: "",
        team_id: "",
        operator_id: "",
        priority: "",
      }),
      await hook("/api/v1/update-ticket", { class: "RoutineChange", id: change }),
    ];
    for (const answer of [ignoredCreate, ignoredUpdate])
      expect(answer).toEqual({ status: 200, body: { ignored: expect.stringContaining("RoutineChange") } });
    expect(
      await call(internal, {
        operation: "core/get",
        class: "Change",
        key: "SELECT Change",
        output_fields: "id",
      }),
    ).toHaveLength(0);
  });
});
