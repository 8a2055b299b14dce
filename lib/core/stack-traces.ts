import { readFileSync } from "node:fs";
import { SourceMap } from "node:module";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Stack traces in the bridge's own source (`lib/jobs/worker.ts:102:7`), not in the minified bundle
 * (`worker.mjs:1:48213`), read from the bundle's source map only when a trace is first written.
 *
 * Node's own `--enable-source-maps` reads and parses every bundle's map at import, used or not: about
 * 17 ms of each cold start here, for traces most containers never print. This formats a trace with
 * V8's `Error.prepareStackTrace` hook instead: an error's `stack` is built only when something reads
 * it (a logged error), and a bundle's map (`<bundle>.map`, as esbuild writes it beside the bundle) is
 * read and parsed then, once per container, with Node's own `SourceMap` (nothing bundled).
 *
 * Installed once, by the logger every function imports. It stands aside where a trace is already
 * mapped: Node's source maps on (`--enable-source-maps`, tsx), or a hook someone else installed
 * (vitest). A frame outside a mapped bundle reads as V8 writes it.
 */
export function mapStackTracesLazily(): void {
  // Once installed, the hook is no longer Node's own, so a second call changes nothing.
  if (process.sourceMapsEnabled || !ownsStackTraces(Error.prepareStackTrace)) return;
  Error.prepareStackTrace = formatStack;
}

/** Whether traces are formatted as V8 or Node (ErrorPrepareStackTrace, Node ≥ 21) write them, by no one else. */
const ownsStackTraces = (hook: typeof Error.prepareStackTrace) =>
  hook === undefined || hook.name === "ErrorPrepareStackTrace";

/** Each bundle's parsed map by file name; undefined when it has none that reads. */
const maps = new Map<string, SourceMap | undefined>();

function formatStack(error: Error, frames: NodeJS.CallSite[]): string {
  const lines = frames.map((frame, i) => {
    try {
      return mappedFrame(frame, frames[i + 1]);
    } catch {
      return String(frame);
    }
  });
  return [headerOf(error), ...lines.map((line) => `    at ${line}`)].join("\n");
}

/** As V8 writes the first line: `Name: message`. */
function headerOf(error: Error): string {
  try {
    return Error.prototype.toString.call(error);
  } catch {
    return "<error>";
  }
}

/**
 * A frame with its position in the source. The function's name there is what the caller's frame
 * (the next one down) calls it, as Node's own source maps name it: the bundle's names are minified.
 */
function mappedFrame(frame: NodeJS.CallSite, caller: NodeJS.CallSite | undefined): string {
  const text = String(frame);
  const at = positionOf(frame);
  if (!at) return text;
  const generated = `${frame.getFileName()}:${frame.getLineNumber()}:${frame.getColumnNumber()}`;
  let mapped = text.replace(generated, `${at.file}:${at.line}:${at.column}`);
  const minified = frame.getFunctionName();
  const original = caller ? positionOf(caller)?.name : undefined;
  if (minified && original && original !== minified) mapped = mapped.replace(minified, original);
  return mapped;
}

function positionOf(
  frame: NodeJS.CallSite,
): { file: string; line: number; column: number; name: string | undefined } | undefined {
  const file = frame.getFileName();
  const line = frame.getLineNumber();
  const column = frame.getColumnNumber();
  if (!file || line === null || column === null) return undefined;
  const map = mapOf(file);
  if (!map) return undefined;
  const entry = map.findEntry(line - 1, column - 1) as Partial<{
    originalSource: string;
    originalLine: number;
    originalColumn: number;
    name: string;
  }>;
  if (entry.originalSource === undefined || entry.originalLine === undefined) return undefined;
  return {
    file: resolve(dirname(pathOf(file)), entry.originalSource),
    line: entry.originalLine + 1,
    column: (entry.originalColumn ?? 0) + 1,
    name: entry.name,
  };
}

function mapOf(file: string): SourceMap | undefined {
  if (maps.has(file)) return maps.get(file);
  let map: SourceMap | undefined;
  try {
    const path = pathOf(file);
    if (/\.[cm]?js$/.test(path)) map = new SourceMap(JSON.parse(readFileSync(`${path}.map`, "utf8")));
  } catch {
    map = undefined;
  }
  maps.set(file, map);
  return map;
}

const pathOf = (file: string) => (file.startsWith("file:") ? fileURLToPath(file) : file);
