import * as v from "valibot";

/** GLPI's error body: `["ERROR_CODE", "message"]` (the second element may be a per-item array). */
export const GlpiErrorBodySchema = v.tuple([v.string(), v.unknown()]);

/** `GET /initSession` → `{"session_token": "…"}`. */
export const InitSessionSchema = v.object({ session_token: v.pipe(v.string(), v.minLength(1)) });

/** `POST /:itemtype` with a single `input` object → 201 `{"id": 123, "message": "…"}`. */
export const CreatedItemSchema = v.object({
  id: v.pipe(v.number(), v.integer(), v.minValue(1)),
  message: v.optional(v.string()),
});

/** `GET /search/:itemtype` → rows keyed by search-option id; `data` is absent when nothing matched. */
export const SearchResultSchema = v.object({
  totalcount: v.number(),
  count: v.number(),
  data: v.optional(v.array(v.record(v.string(), v.unknown())), []),
});
export type SearchResult = v.InferOutput<typeof SearchResultSchema>;

/** The fields of a Ticket the bridge reads back (`GET /Ticket`, `GET /Ticket/:id`). */
export const TicketSchema = v.object({
  id: v.number(),
  name: v.optional(v.string()),
  entities_id: v.optional(v.union([v.number(), v.string()])),
  externalid: v.optional(v.nullable(v.string())),
  status: v.optional(v.number()),
});
export type Ticket = v.InferOutput<typeof TicketSchema>;
export const TicketListSchema = v.array(TicketSchema);
