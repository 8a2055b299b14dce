/**
 * The fuzzing inputs: for each route, the malformed, mistyped, oversized, deeply nested and oddly
 * encoded requests it must refuse (and, where the route has some, the events it must ignore), each with
 * random headers and query parameters. Every case says what it expects, decided by the route's model.
 */
import fc from "fast-check";
import type { Config } from "../../lib/core/config-schema.ts";
import { clip, isRecord, type Request } from "./route-harness.ts";
import {
  type BodyRouteModel,
  type BodyShape,
  edgeId,
  nestedArrays,
  nestedObjects,
  oddText,
  type PathRouteModel,
  RawJson,
  toJsonText,
  type Verdict,
} from "./route-models.ts";

/** What a case must be answered with. */
export type Expectation = "400" | "413" | "415" | "4xx" | "2xx or 4xx" | "2xx" | "not 5xx";

export interface FuzzCase {
  category: string;
  expect: Expectation;
  request: Request;
}

export interface CaseContext {
  method: string;
  path: string;
  config: Readonly<Config>;
  maxBytes: number;
  /** The route's credential, sent with every case (undefined for a public route). */
  credential?: { header: string; value: string } | undefined;
}

const JSON_TYPES = [
  "application/json",
  "application/json; charset=utf-8",
  "Application/JSON",
  "application/vnd.api+json",
  "application/merge-patch+json",
];
/** Media types that are not JSON by any reading (no "json" in them). */
const notJsonType = fc
  .oneof(
    fc.constantFrom(
      "text/plain",
      "text/html; charset=utf-8",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=----x",
      "application/xml",
      "application/octet-stream",
      "application/",
      "*/*",
      "",
      " ",
    ),
    fc
      .tuple(fc.stringMatching(/^[a-z]{1,12}$/), fc.stringMatching(/^[a-z0-9.+-]{1,16}$/))
      .map(([type, subtype]) => `${type}/${subtype}`),
  )
  .filter((type) => !/json/i.test(type));

const FORM_TYPES = [
  "application/x-www-form-urlencoded",
  "application/x-www-form-urlencoded; charset=UTF-8",
  "Application/X-WWW-Form-Urlencoded",
];
const isFormType = (type: string | undefined) => /^application\/x-www-form-urlencoded\b/i.test(type ?? "");

/** A form body's fields as a route reads them: `+` is a space, a repeated field becomes a list. */
function formFieldsOf(text: string): Record<string, string | string[]> {
  const fields: Record<string, string | string[]> = {};
  for (const [name, value] of new URLSearchParams(text)) {
    const seen = Object.hasOwn(fields, name) ? fields[name] : undefined;
    Object.defineProperty(fields, name, {
      value: seen === undefined ? value : [...(Array.isArray(seen) ? seen : [seen]), value],
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return fields;
}

/** A JSON-ish value as one form field's text (a string as it is, anything else as JSON). */
const asFieldText = (value: unknown) => (typeof value === "string" ? value : (JSON.stringify(value) ?? ""));

const headerName = fc.oneof(
  fc.constantFrom(
    "authorization",
    "x-forwarded-for",
    "content-length",
    "transfer-encoding",
    "content-encoding",
    "idempotency-key",
    "x-amzn-trace-id",
    "cookie",
    "origin",
    "x-http-method-override",
    "accept",
    "user-agent",
    "X-Request-Id",
  ),
  fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,24}$/),
);
const headerValue = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.constantFrom("", "-1", "chunked", "gzip", "Basic Og==", "Bearer x", "Basic !!!", "\u0000"),
  fc.integer({ min: 1_000, max: 10_000 }).map((length) => "h".repeat(length)),
);
const queryName = fc.oneof(
  fc.constantFrom("token", "event", "id", "__proto__", "constructor", "", "a[b]", "callback", "class"),
  fc.string({ maxLength: 12 }),
);
const queryValue = fc.oneof(
  fc.string({ maxLength: 30 }),
  oddText,
  fc.constantFrom("1", "", "TicketCreate", "true", "null"),
);
const randomQuery = fc.dictionary(queryName, queryValue, { maxKeys: 4 });

/** Random headers that leave the route's own (its credential, Content-Type) alone. */
function randomHeaders(reserved: readonly string[]) {
  const taken = new Set(reserved.map((name) => name.toLowerCase()));
  return fc
    .array(fc.tuple(headerName, headerValue), { maxLength: 4 })
    .map((pairs) => Object.fromEntries(pairs.filter(([name]) => !taken.has(name.toLowerCase()))));
}

// Dot-path helpers on plain JSON values ---------------------------------------------------------------

function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
function parentOf(root: unknown, path: string): [Record<string, unknown> | unknown[], string] | undefined {
  const parts = path.split(".");
  const last = parts.pop() ?? "";
  let node: unknown = root;
  for (const part of parts) {
    if (!isRecord(node) && !Array.isArray(node)) return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return isRecord(node) || Array.isArray(node) ? [node, last] : undefined;
}
function setPath(root: unknown, path: string, value: unknown): void {
  const found = parentOf(root, path);
  if (found) (found[0] as Record<string, unknown>)[found[1]] = value;
}
function deletePath(root: unknown, path: string): void {
  const found = parentOf(root, path);
  if (found) delete (found[0] as Record<string, unknown>)[found[1]];
}

const extraFields = fc.dictionary(
  fc.oneof(
    fc.string({ maxLength: 12 }),
    fc.constantFrom("__proto__", "constructor", "prototype", "", "$where"),
  ),
  fc.oneof(fc.jsonValue({ maxDepth: 3 }), oddText),
  { minKeys: 1, maxKeys: 4 },
);

/** A body with one or more required fields removed (and maybe random extra fields). */
function withoutRequired(shape: BodyShape) {
  if (shape.required.length === 0) {
    return fc
      .option(extraFields, { nil: undefined })
      .map((extras) => ({ ...clone(shape.valid), ...extras }) as Record<string, unknown>);
  }
  return fc
    .tuple(fc.subarray(shape.required, { minLength: 1 }), fc.option(extraFields, { nil: undefined }))
    .map(([missing, extras]) => {
      const body = { ...clone(shape.valid), ...extras };
      for (const path of missing) deletePath(body, path);
      return body;
    });
}

/** A body with one to three fields set to values of the wrong type or form (and maybe extra fields). */
function withWrongValues(shape: BodyShape) {
  const paths = Object.keys(shape.fields);
  return fc
    .subarray(paths, { minLength: 1, maxLength: Math.min(3, paths.length) })
    .chain((chosen) =>
      fc.tuple(
        fc.constant(chosen),
        fc.tuple(...chosen.map((path) => shape.fields[path] ?? fc.constant(null))),
        fc.option(extraFields, { nil: undefined }),
      ),
    )
    .map(([chosen, values, extras]) => {
      const body: Record<string, unknown> = { ...clone(shape.valid), ...extras };
      chosen.forEach((path, index) => {
        setPath(body, path, values[index]);
      });
      return body;
    });
}

/** A body with an id set to a value at or past the edges of what ids can be. */
function withEdgeId(shape: BodyShape) {
  return fc.tuple(fc.constantFrom(...shape.ids), edgeId).map(([path, value]) => {
    const body = clone(shape.valid);
    setPath(body, path, value);
    return body;
  });
}

/** A huge string (within `maxBytes` as JSON) in one field, of characters of one to four UTF-8 bytes. */
function withHugeString(shape: BodyShape, maxBytes: number) {
  const paths = [...new Set([...shape.required, ...Object.keys(shape.fields)])];
  return fc
    .tuple(
      fc.constantFrom(...paths),
      fc.constantFrom("x", "9", "é", "€", "😀", "\u0000", "\ud800", "1 ", "a\n"),
      fc.double({ min: 0.05, max: 0.95, noNaN: true }),
    )
    .map(([path, unit, share]) => {
      const unitBytes = Buffer.byteLength(JSON.stringify(unit), "utf8") - 2;
      const body = clone(shape.valid);
      setPath(body, path, unit.repeat(Math.max(1, Math.floor((maxBytes * share) / unitBytes))));
      return body;
    });
}

/** A case for one request, printed short when fast-check reports it. */
function fuzzCase(category: string, expect: Expectation, request: Request): FuzzCase {
  const value: FuzzCase = { category, expect, request };
  Object.defineProperty(value, fc.toStringMethod, {
    value: () => describeCase(value),
    enumerable: false,
  });
  return value;
}

export function describeCase(value: FuzzCase): string {
  const { request } = value;
  const body = request.base64 !== undefined ? `base64:${request.base64}` : request.body;
  return JSON.stringify({
    category: value.category,
    expect: value.expect,
    headers: Object.fromEntries(Object.entries(request.headers).map(([k, h]) => [k, clip(h, 80)])),
    query: request.query,
    pathParameters: request.pathParameters
      ? Object.fromEntries(Object.entries(request.pathParameters).map(([k, p]) => [k, clip(p, 80)]))
      : undefined,
    body: body === undefined ? undefined : clip(body, 300),
  });
}

const expectationOf = (verdict: Verdict): Expectation => (verdict === "ignore" ? "2xx or 4xx" : "4xx");

/** Every kind of bad request for a route that reads a JSON body. */
export function bodyCases(model: BodyRouteModel, ctx: CaseContext): fc.Arbitrary<FuzzCase> {
  const credential = ctx.credential ? { [ctx.credential.header]: ctx.credential.value } : {};
  const envelope = fc.record({
    extra: randomHeaders(["content-type", ...(ctx.credential ? [ctx.credential.header] : [])]),
    query: randomQuery,
    type: fc.constantFrom(...JSON_TYPES),
    path: model.pathParameters ?? fc.constant(undefined),
  });
  const shape = fc.constantFrom(...model.shapes);

  /** The verdict on a body as the route will read it (size, JSON, then the model). */
  const verdictOf = (
    text: string | undefined,
    query: Record<string, string>,
    path: Record<string, string> | undefined,
  ): Verdict => {
    if (model.emptyBodyIsObject && (text === undefined || text === ""))
      return model.classify({}, query, ctx.config, path);
    if (text === undefined || Buffer.byteLength(text, "utf8") > ctx.maxBytes) return "reject";
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return "reject";
    }
    return model.classify(value, query, ctx.config, path);
  };
  const request = (
    env: {
      extra: Record<string, string>;
      query: Record<string, string>;
      type: string | undefined;
      path: Record<string, string> | undefined;
    },
    body: { text?: string | undefined; base64?: string | undefined },
  ): Request => ({
    method: ctx.method,
    path: ctx.path,
    headers: { ...env.extra, ...(env.type === undefined ? {} : { "content-type": env.type }), ...credential },
    query: env.query,
    ...(env.path ? { pathParameters: env.path } : {}),
    ...(body.text !== undefined ? { body: body.text } : {}),
    ...(body.base64 !== undefined ? { base64: body.base64 } : {}),
  });
  /** Cases from bodies whose verdict decides the expectation; those the route would act on are never sent. */
  const judged = (category: string, texts: fc.Arbitrary<string | undefined>, allowIgnored = false) =>
    fc
      .tuple(texts, envelope)
      .map(([text, env]) => ({ text, env, verdict: verdictOf(text, env.query, env.path) }))
      .filter(({ verdict }) => verdict === "reject" || (allowIgnored && verdict === "ignore"))
      .map(({ text, env, verdict }) => fuzzCase(category, expectationOf(verdict), request(env, { text })));

  const isNotJson = (text: string) => {
    try {
      JSON.parse(text);
      return false;
    } catch {
      return true;
    }
  };
  const malformed = fc
    .tuple(
      fc.oneof(
        fc.string(),
        shape.chain((s) => {
          const text = toJsonText(s.valid);
          return fc.integer({ min: 1, max: text.length - 1 }).map((cut) => text.slice(0, cut));
        }),
        fc
          .tuple(shape, fc.constantFrom(",", "}", "x", "\u0000", " //", "]", "{}"))
          .map(([s, tail]) => toJsonText(s.valid) + tail),
        fc.constantFrom(
          "{",
          "}",
          "{'a':1}",
          '{"a":1,}',
          "[1,]",
          "NaN",
          "undefined",
          '{"a" 1}',
          '"unterminated',
          '{"a":01}',
          "/* comment */ {}",
          '{"a":"\u0000"}',
          '{"a":"\u001f"}',
          '{"a":"\\x41"}',
          '{"a":"\\ud83"}',
          "\u0000",
          "nul",
          "tru",
          '{"a":1}{"b":2}',
          "\ufeff{}",
        ),
      ),
      envelope,
    )
    // No body at all is an empty object for a route that says so (the "empty body" cases judge it).
    .filter(([text]) => isNotJson(text) && !(model.emptyBodyIsObject && text === ""))
    .map(([text, env]) => fuzzCase("malformed JSON", "400", request(env, { text })));

  // A route that takes forms reads a form-encoded body (formCases); every other type is refused.
  const refusedType = model.form ? notJsonType.filter((type) => !isFormType(type)) : notJsonType;
  const nonJsonType = fc
    .tuple(shape, envelope, fc.option(refusedType, { nil: undefined }))
    .map(([s, env, type]) =>
      fuzzCase("not a JSON content type", "415", request({ ...env, type }, { text: toJsonText(s.valid) })),
    );

  const empty = model.emptyBodyIsObject
    ? judged("empty body", fc.constantFrom(undefined, "", " ", "\n\t", "\r\n"), true)
    : fc
        .tuple(fc.constantFrom(undefined, "", " ", "\n\t", "\r\n"), envelope)
        .map(([text, env]) => fuzzCase("empty body", "400", request(env, { text })));

  const anyJson = judged("any JSON value", fc.jsonValue().map(toJsonText), true);
  const missing = judged("required fields missing", shape.chain(withoutRequired).map(toJsonText));
  const wrong = judged("fields of the wrong type or form", shape.chain(withWrongValues).map(toJsonText));
  const shapesWithIds = model.shapes.filter((s) => s.ids.length > 0);
  const edgeIds =
    shapesWithIds.length > 0
      ? judged(
          "ids out of range",
          fc
            .constantFrom(...shapesWithIds)
            .chain(withEdgeId)
            .map(toJsonText),
          true,
        )
      : undefined;
  const huge = judged(
    "huge strings within the size limit",
    shape.chain((s) => withHugeString(s, ctx.maxBytes)).map(toJsonText),
  );

  const overLimit = fc
    .tuple(shape, fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 64 * 1024 })), envelope)
    .map(([s, over, env]) => {
      const base = toJsonText({ ...s.valid, _pad: "" });
      const pad = "p".repeat(Math.max(0, ctx.maxBytes + over - Buffer.byteLength(base, "utf8")));
      return fuzzCase(
        "body over the size limit",
        "413",
        request(env, { text: toJsonText({ ...s.valid, _pad: pad }) }),
      );
    });
  const atLimit = judged(
    "body at the size limit",
    shape.chain(withoutRequired).map((body) => {
      const base = toJsonText({ ...body, _pad: "" });
      return toJsonText({
        ...body,
        _pad: "p".repeat(Math.max(0, ctx.maxBytes - Buffer.byteLength(base, "utf8"))),
      });
    }),
  );

  const deep = judged(
    "deep nesting",
    fc.oneof(
      fc.constantFrom(1_000, 100_000).map(nestedArrays),
      fc.constantFrom(1_000, 40_000).map(nestedObjects),
      fc.tuple(shape, fc.constantFrom(1_000, 100_000)).chain(([s, depth]) =>
        fc.constantFrom(...(s.required.length > 0 ? s.required : Object.keys(s.fields))).map((path) => {
          const body = clone(s.valid);
          setPath(body, path, new RawJson(nestedArrays(depth)));
          return toJsonText(body);
        }),
      ),
    ),
  );

  const encodings = fc
    .tuple(
      fc.oneof(
        // Bytes that are not UTF-8 at all, or a body in UTF-16.
        fc.uint8Array({ minLength: 1, maxLength: 512 }).map((bytes) => Buffer.from(bytes)),
        shape.map((s) =>
          Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(toJsonText(s.valid), "utf16le")]),
        ),
        // A UTF-8 BOM before a body the route must refuse anyway.
        shape.chain(withoutRequired).map((body) => Buffer.from(`\ufeff${toJsonText(body)}`, "utf8")),
        // Invalid UTF-8 (a lone continuation byte, an overlong "/", an encoded surrogate, past U+10FFFF,
        // NUL) inside a string field.
        fc
          .tuple(
            shape.chain((s) => fc.constantFrom(...Object.keys(s.fields)).map((path) => ({ s, path }))),
            fc.constantFrom(
              [0x80],
              [0xff],
              [0xc0, 0xaf],
              [0xed, 0xa0, 0x80],
              [0xf4, 0x90, 0x80, 0x80],
              [0x00],
            ),
          )
          .map(([{ s, path }, bytes]) => {
            const body = clone(s.valid);
            setPath(body, path, "1@@bytes@@");
            const [before = "", after = ""] = toJsonText(body).split("@@bytes@@");
            return Buffer.concat([Buffer.from(before), Buffer.from(bytes), Buffer.from(after)]);
          }),
      ),
      envelope,
    )
    .map(([bytes, env]) => ({
      bytes,
      env,
      verdict: verdictOf(bytes.toString("utf8"), env.query, env.path),
    }))
    .filter(({ verdict }) => verdict !== "accept")
    .map(({ bytes, env, verdict }) =>
      fuzzCase(
        "odd encodings (base64)",
        expectationOf(verdict),
        request(env, { base64: bytes.toString("base64") }),
      ),
    );
  const rawChars = judged(
    "raw NUL, controls and lone surrogates",
    fc
      .tuple(
        shape.chain((s) => fc.constantFrom(...Object.keys(s.fields)).map((path) => ({ s, path }))),
        fc.constantFrom("\u0000", "\u0007", "\ud800", "\udc00", "\u2028", "\ufeff"),
      )
      .map(([{ s, path }, char]) => {
        const body = clone(s.valid);
        setPath(body, path, "@@char@@");
        return toJsonText(body).replace("@@char@@", char);
      }),
  );
  const badBase64 = fc
    .tuple(fc.constantFrom("!!!", "====", "e30", "eyJ", "%%%%", " "), envelope)
    .map(([text, env]) => ({
      text,
      env,
      verdict: verdictOf(Buffer.from(text, "base64").toString("utf8"), env.query, env.path),
    }))
    .filter(({ verdict }) => verdict !== "accept")
    .map(({ text, env, verdict }) =>
      fuzzCase("invalid base64", expectationOf(verdict), request(env, { base64: text })),
    );

  // The schema-driven kinds weigh most: they are where a route's own rules may let something through.
  const weighted: fc.WeightedArbitrary<FuzzCase>[] = [
    { arbitrary: malformed, weight: 1 },
    { arbitrary: nonJsonType, weight: 1 },
    { arbitrary: empty, weight: 1 },
    { arbitrary: anyJson, weight: 1 },
    { arbitrary: missing, weight: 2 },
    { arbitrary: wrong, weight: 4 },
    { arbitrary: huge, weight: 2 },
    { arbitrary: overLimit, weight: 1 },
    { arbitrary: atLimit, weight: 1 },
    { arbitrary: deep, weight: 1 },
    { arbitrary: encodings, weight: 1 },
    { arbitrary: rawChars, weight: 1 },
    { arbitrary: badBase64, weight: 1 },
  ];
  if (edgeIds) weighted.push({ arbitrary: edgeIds, weight: 3 });
  if (model.form) weighted.push({ arbitrary: formCases(model, ctx, credential), weight: 4 });
  if (model.ignorable)
    weighted.push({
      arbitrary: judged("events the route ignores", model.ignorable.map(toJsonText), true),
      weight: 2,
    });
  return fc.oneof(...weighted);
}

/**
 * Form-encoded bodies for a route that takes them: without the field that holds the JSON, with it
 * malformed, of the wrong shape, repeated; fields missing, of the wrong form, repeated; over the size
 * limit. Expectations come from the model, on the body as the route will read it.
 */
function formCases(
  model: BodyRouteModel,
  ctx: CaseContext,
  credential: Record<string, string>,
): fc.Arbitrary<FuzzCase> {
  const envelope = fc.record({
    extra: randomHeaders(["content-type", ...(ctx.credential ? [ctx.credential.header] : [])]),
    query: randomQuery,
    type: fc.constantFrom(...FORM_TYPES),
  });
  const shape = fc.constantFrom(...model.shapes);
  const verdictOf = (text: string, query: Record<string, string>): Verdict => {
    if (Buffer.byteLength(text, "utf8") > ctx.maxBytes) return "reject";
    const fields = formFieldsOf(text);
    if (model.form === "fields") return model.classify(fields, query, ctx.config);
    const data = Object.hasOwn(fields, "json_data") ? fields.json_data : undefined;
    if (typeof data !== "string") return "reject";
    let value: unknown;
    try {
      value = JSON.parse(data);
    } catch {
      return "reject";
    }
    return isRecord(value) ? model.classify(value, query, ctx.config) : "reject";
  };
  const judged = (category: string, texts: fc.Arbitrary<string>) =>
    fc
      .tuple(texts, envelope)
      .map(([text, env]) => ({ text, env, verdict: verdictOf(text, env.query) }))
      .filter(({ verdict }) => verdict !== "accept")
      .map(({ text, env, verdict }) =>
        fuzzCase(category, expectationOf(verdict), {
          method: ctx.method,
          path: ctx.path,
          headers: { ...env.extra, "content-type": env.type, ...credential },
          query: env.query,
          body: text,
        }),
      );
  const form = (pairs: [string, string][]) => new URLSearchParams(pairs).toString();
  const otherFields = fc.array(
    fc.tuple(
      fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom("version", "__proto__", "constructor", "")),
      fc.oneof(fc.string({ maxLength: 30 }), oddText),
    ),
    { maxLength: 4 },
  );
  const overLimit = judged(
    "form over the size limit",
    fc
      .tuple(shape, fc.integer({ min: 1, max: 64 * 1024 }))
      .map(([s, over]) => form([...flatFields(s.valid), ["_pad", "p".repeat(ctx.maxBytes + over)]])),
  );

  if (model.form === "json_data") {
    const jsonTexts = fc.oneof(
      fc.jsonValue().map(toJsonText),
      shape.chain(withoutRequired).map(toJsonText),
      shape.chain(withWrongValues).map(toJsonText),
      fc.oneof(fc.string(), fc.constantFrom("", "{", "[1,]", "NaN", "{'a':1}", "\u0000")),
    );
    return fc.oneof(
      judged(
        "form with json_data of the wrong shape, or not JSON",
        fc
          .tuple(jsonTexts, otherFields)
          .map(([json, others]) => form([["version", "1.3"], ["json_data", json], ...others])),
      ),
      judged(
        "form without json_data",
        otherFields.map((others) => form(others.filter(([name]) => name !== "json_data"))),
      ),
      judged(
        "form with json_data twice",
        shape.map((s) =>
          form([
            ["json_data", toJsonText(s.valid)],
            ["json_data", toJsonText(s.valid)],
          ]),
        ),
      ),
      overLimit,
    );
  }
  const badValue = fc.oneof(
    fc.constantFrom("", " ", "abc", "0", "-1", "1.5", "1e3", "0x10", "99999999999999999999", "１"),
    fc.string({ maxLength: 20 }),
    oddText,
  );
  return fc.oneof(
    judged(
      "form with fields missing",
      shape.chain(withoutRequired).map((body) => form(flatFields(body))),
    ),
    judged(
      "form with fields of the wrong form",
      fc
        .tuple(shape, badValue)
        .chain(([s, value]) =>
          fc
            .constantFrom(...Object.keys(s.fields))
            .map((name) => form(flatFields({ ...s.valid, [name]: value }))),
        ),
    ),
    judged(
      "form with a field given twice",
      shape.chain((s) =>
        fc.constantFrom(...s.required).map((name) => {
          const pairs = flatFields(s.valid);
          return form([...pairs, ...pairs.filter(([field]) => field === name)]);
        }),
      ),
    ),
    judged(
      "form of random fields",
      otherFields.map((others) => form(others)),
    ),
    overLimit,
  );
}

/** A body's top-level members as form fields (nested values as JSON text). */
function flatFields(body: Record<string, unknown>): [string, string][] {
  return Object.entries(body).map(([name, value]) => [name, asFieldText(value)]);
}

/** Every kind of request for a route whose input is its path parameter (and query, headers). */
export function pathCases(model: PathRouteModel, ctx: CaseContext): fc.Arbitrary<FuzzCase> {
  const credential = ctx.credential ? { [ctx.credential.header]: ctx.credential.value } : {};
  const names = [...ctx.path.matchAll(/\{([^}+]+)\+?\}/g)].map((m) => m[1] ?? "");
  return fc
    .tuple(
      fc.option(model.ids, { nil: undefined, freq: 10 }),
      randomHeaders(ctx.credential ? [ctx.credential.header] : []),
      randomQuery,
      fc.option(fc.oneof(oddText, fc.jsonValue().map(toJsonText)), { nil: undefined }),
    )
    .map(([id, headers, query, body]) =>
      fuzzCase(id === undefined ? "no path parameter" : "unknown or malformed id", "4xx", {
        method: ctx.method,
        path: ctx.path,
        headers: { ...headers, ...credential },
        query,
        ...(id === undefined ? {} : { pathParameters: Object.fromEntries(names.map((name) => [name, id])) }),
        ...(body === undefined ? {} : { body }),
      }),
    );
}

/** Anything at all, with the operator's credential, for an operators' route. */
export function operatorCases(ctx: CaseContext): fc.Arbitrary<FuzzCase> {
  const credential = ctx.credential ? { [ctx.credential.header]: ctx.credential.value } : {};
  const names = [...ctx.path.matchAll(/\{([^}+]+)\+?\}/g)].map((m) => m[1] ?? "");
  return fc
    .tuple(
      randomHeaders(ctx.credential ? [ctx.credential.header] : []),
      fc.option(
        fc.oneof(
          fc.constantFrom(...JSON_TYPES, "application/x-www-form-urlencoded", "text/html"),
          notJsonType,
        ),
        { nil: undefined },
      ),
      randomQuery,
      fc.option(fc.oneof(oddText, fc.jsonValue().map(toJsonText), fc.string()), { nil: undefined }),
      fc.oneof(fc.string(), oddText),
    )
    .map(([headers, type, query, body, id]) =>
      fuzzCase("any request with the operator's secret", "not 5xx", {
        method: ctx.method,
        path: ctx.path,
        headers: { ...headers, ...(type === undefined ? {} : { "content-type": type }), ...credential },
        query,
        ...(names.length > 0 ? { pathParameters: Object.fromEntries(names.map((name) => [name, id])) } : {}),
        ...(body === undefined ? {} : { body }),
      }),
    );
}

/** Anything at all, for a public route. */
export function publicCases(ctx: CaseContext): fc.Arbitrary<FuzzCase> {
  return fc
    .tuple(
      randomHeaders([]),
      fc.option(fc.oneof(fc.constantFrom(...JSON_TYPES), notJsonType), { nil: undefined }),
      randomQuery,
      fc.option(fc.oneof(oddText, fc.jsonValue().map(toJsonText), fc.constant(nestedArrays(100_000))), {
        nil: undefined,
      }),
    )
    .map(([headers, type, query, body]) =>
      fuzzCase("any request", "2xx", {
        method: ctx.method,
        path: ctx.path,
        headers: { ...headers, ...(type === undefined ? {} : { "content-type": type }) },
        query,
        ...(body === undefined ? {} : { body }),
      }),
    );
}
