import * as v from "valibot";
import type { FieldProblem } from "./errors.ts";

/**
 * Turns valibot issues into `path: problem` pairs; the path is a dotted JSON path or `(root)`. A
 * problem is named once, however many steps of a pipe found it.
 */
export function toFieldProblems(issues: readonly v.BaseIssue<unknown>[]): FieldProblem[] {
  const seen = new Set<string>();
  const problems: FieldProblem[] = [];
  for (const issue of issues) {
    const path = v.getDotPath(issue) ?? "(root)";
    let message = issue.message;
    if (issue.type === "strict_object" && issue.expected === "never") message = "is not a known field";
    else if (issue.kind === "schema" && issue.received === "undefined") message = "is required";
    const key = `${path}\u0000${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    problems.push({ path, message });
  }
  return problems;
}
