import * as v from "valibot";

/**
 * Ids from outside: positive whole numbers no larger than JavaScript's safe integers (no system the
 * bridge talks to counts further; a larger "id" is bad input, not a ticket to look for, and beyond
 * 2^53 it would silently become another number).
 */
export const MAX_ID = Number.MAX_SAFE_INTEGER;

/** A numeric id given as a string or a number (`"42"`, `42`, `" 42 "`), kept as a string. */
export const idText = (what: string) =>
  v.pipe(
    v.union([v.string(), v.number()], `must be ${what}`),
    v.transform((value) => String(value).trim()),
    v.regex(/^[1-9]\d{0,15}$/, `must be ${what}`),
    v.check((value) => Number(value) <= MAX_ID, `must be ${what}`),
  );

/** A numeric id in a path segment (`/otrs/ticket-events/42`): the same rule as idText, on a string. */
export const idSegment = (what: string) =>
  v.pipe(
    v.string(`must be ${what}`),
    v.trim(),
    v.regex(/^[1-9]\d{0,15}$/, `must be ${what}`),
    v.check((value) => Number(value) <= MAX_ID, `must be ${what}`),
  );

/** A numeric id given as a JSON number. */
export const idNumber = (what: string) =>
  v.pipe(
    v.number(`must be ${what}`),
    v.integer(`must be ${what}`),
    v.minValue(1, `must be ${what}`),
    v.maxValue(MAX_ID, `must be ${what}`),
  );

/** The id of one of the bridge's own jobs (a UUID, or a key-derived id): at most 128 safe characters. */
export const JobIdSchema = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{1,128}$/, "must be a job id"));
