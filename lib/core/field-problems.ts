import * as v from "valibot";
import type { FieldProblem } from "./errors.ts";

/** Turns valibot issues into `path: problem` pairs; the path is a dotted JSON path or `(root)`. */
export function toFieldProblems(issues: readonly v.BaseIssue<unknown>[]): FieldProblem[] {
  return issues.map((issue) => {
    const path = v.getDotPath(issue) ?? "(root)";
    let message = issue.message;
    if (issue.type === "strict_object" && issue.expected === "never") message = "is not a known field";
    else if (issue.kind === "schema" && issue.received === "undefined") message = "is required";
    return { path, message };
  });
}
