import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * Every relative link in README.md and docs/**\/*.md reaches a file of the repository, and every
 * `#anchor` a heading of the page it names, with GitHub's anchors: so moving a section, or renaming
 * a heading, breaks the build instead of a reader's link.
 */
const pages = [
  "README.md",
  ...readdirSync("docs", { recursive: true, encoding: "utf8" })
    .filter((file) => file.endsWith(".md"))
    .map((file) => join("docs", file)),
];

/** The lines of a Markdown page outside fenced code blocks. */
function proseLines(markdown: string): string[] {
  let fenced = false;
  return markdown.split("\n").filter((line) => {
    if (/^\s*(```|~~~)/.test(line)) {
      fenced = !fenced;
      return false;
    }
    return !fenced;
  });
}

/** GitHub's anchor for a heading: lower case, punctuation and symbols dropped, spaces as hyphens. */
function githubSlug(heading: string): string {
  return heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "")
    .replace(/ /g, "-");
}

/** The anchors of a page's headings, repeated headings numbered as GitHub numbers them. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of proseLines(markdown)) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const slug = githubSlug(heading);
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

/** Every link target of a page's prose (code spans and fenced blocks are not links). */
function linksOf(markdown: string): string[] {
  const targets: string[] = [];
  for (const line of proseLines(markdown)) {
    const prose = line.replace(/`[^`]*`/g, "code");
    for (const match of prose.matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      if (match[1] !== undefined) targets.push(match[1]);
    }
  }
  return targets;
}

function isExternal(target: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(target);
}

describe("the documentation's links", () => {
  it("reads the README and the pages under docs/", () => {
    expect(pages).toContain("README.md");
    expect(pages).toContain(join("docs", "architecture.md"));
    expect(pages.filter((page) => page.startsWith(join("docs", "integrations")))).toHaveLength(5);
  });

  it("computes anchors as GitHub does", () => {
    expect(githubSlug("The status page: `GET /status`")).toBe("the-status-page-get-status");
    expect(githubSlug("OTRS/Znuny ↔ Redmine")).toBe("otrsznuny--redmine");
    expect(githubSlug("Links (`lib/links/`)")).toBe("links-liblinks");
    expect(anchorsOf("# A\n\n## A\n\n```\n# not a heading\n```\n")).toEqual(new Set(["a", "a-1"]));
  });

  it.each(pages)("%s: every relative link reaches a file, and every anchor a heading", (page) => {
    const broken: string[] = [];
    for (const target of linksOf(readFileSync(page, "utf8"))) {
      if (isExternal(target)) continue;
      const [path = "", anchor] = target.split("#", 2);
      const file = path === "" ? page : normalize(join(dirname(page), decodeURIComponent(path)));
      if (!existsSync(file)) {
        broken.push(`${target}: no file ${file}`);
        continue;
      }
      if (
        anchor !== undefined &&
        file.endsWith(".md") &&
        !anchorsOf(readFileSync(file, "utf8")).has(anchor)
      ) {
        broken.push(`${target}: no heading #${anchor} in ${file}`);
      }
    }
    expect(broken).toEqual([]);
  });
});
