import { lookupLinks } from "../../../lib/ops/lookup.ts";
import type { LinkView, ObjectView } from "../../../lib/ops/types.ts";
import type { Command } from "../command.ts";
import { printJson } from "../output.ts";

/** `deskbridge links get <system> <id>`: every link of one object, both ends, last sync per aspect. */
export const linksGet: Command = {
  name: "links get",
  synopsis: "<system> <id> [--json]",
  summary: "one object's links: both ends, URLs, last sync per aspect",
  details:
    "  system: otrs, redmine, itop, rt, glpi, kanboard, … ; id: the object's id or number there\n" +
    "  (an OTRS ticket number, a Redmine issue id, an iTop ref, an RT ticket, a GLPI ticket).",
  options: { json: { type: "boolean", default: false } },
  positionals: { min: 2, max: 2 },
  async run({ values, positionals: [system = "", id = ""], connect }) {
    const deps = await connect();
    const lookup = await lookupLinks(deps, system, id);
    if (values.json) {
      printJson(lookup);
      return 0;
    }
    if (lookup.links.length === 0) {
      console.log(`No links for ${system} ${id}.`);
      return 0;
    }
    for (const link of lookup.links) console.log(describeLink(link));
    console.log(`${lookup.links.length} link(s).`);
    return 0;
  },
};

function describeLink(link: LinkView): string {
  const lines = [
    `source  ${describeObject(link.source)}`,
    `target  ${describeObject(link.target)}`,
    `        linked ${link.createdAt}, updated ${link.updatedAt}`,
  ];
  if (link.aspects.length === 0) lines.push("        no aspect synced yet");
  for (const aspect of link.aspects) {
    lines.push(`        ${aspect.name.padEnd(12)} synced ${aspect.syncedAt}`);
    for (const [key, value] of Object.entries(aspect.summary ?? {}))
      lines.push(`        ${"".padEnd(12)} ${key}: ${value}`);
    for (const note of aspect.notes ?? []) lines.push(`        ${"".padEnd(12)} not synced: ${note}`);
  }
  return `${lines.join("\n")}\n`;
}

const describeObject = (object: ObjectView) => (object.url ? `${object.key}  ${object.url}` : object.key);
