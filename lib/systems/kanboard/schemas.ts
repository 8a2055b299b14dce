import * as v from "valibot";

/**
 * Kanboard JSON-RPC answers (app/Api/Procedure/*.php). Rows come straight from the database, so every
 * value is a string (`"1"`, Unix timestamps, `"0"` for no date); procedure failures are
 * `"result": false` (or null) with HTTP 200, protocol errors a JSON-RPC `error` object.
 */
const NumericString = v.pipe(
  v.union([v.string(), v.number()]),
  v.transform((value) => Number(value)),
  v.number(),
);

export const RpcErrorSchema = v.object({
  code: v.number(),
  message: v.string(),
  data: v.optional(v.unknown()),
});

export const RpcResponseSchema = v.object({
  jsonrpc: v.literal("2.0"),
  id: v.nullable(v.union([v.string(), v.number()])),
  result: v.optional(v.unknown()),
  error: v.optional(RpcErrorSchema),
});
export type RpcResponse = v.InferOutput<typeof RpcResponseSchema>;

export const TaskSchema = v.object({
  id: NumericString,
  title: v.string(),
  description: v.optional(v.nullable(v.string()), ""),
  project_id: NumericString,
  column_id: NumericString,
  swimlane_id: v.optional(NumericString, 0),
  owner_id: v.optional(NumericString, 0),
  priority: v.optional(NumericString, 0),
  position: v.optional(NumericString, 0),
  is_active: NumericString,
  reference: v.optional(v.nullable(v.string()), ""),
  url: v.optional(v.string()),
});
export type KanboardTask = v.InferOutput<typeof TaskSchema>;

export const ColumnSchema = v.object({
  id: NumericString,
  title: v.string(),
  position: v.optional(NumericString, 0),
});
export type KanboardColumn = v.InferOutput<typeof ColumnSchema>;

export const SwimlaneSchema = v.object({ id: NumericString, name: v.string() });

export const UserSchema = v.object({ id: NumericString, username: v.string() });
