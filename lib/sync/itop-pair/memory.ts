import { createHash } from "node:crypto";
import { InProgressError } from "../../core/errors.ts";
import type { AspectState, Link, LinkStore } from "../../links/store.ts";

/**
 * The link of one shared ticket, as this job holds it (under its lease): every aspect written goes
 * through a conditional write on the version last seen, so a job that lost its lease stops at once.
 */
export class LinkMemory {
  constructor(
    private readonly links: LinkStore,
    public link: Link,
  ) {}

  aspect(name: string): AspectState | undefined {
    return this.link.aspects[name];
  }

  /** Adds notes (what could not be synced) to an aspect, keeping its state and the last MAX_NOTES. */
  async addNotes(name: string, notes: string[]): Promise<void> {
    const current = this.aspect(name);
    const { syncedAt: _, ...state } = current ?? { syncedAt: "" };
    await this.save(name, { ...state, notes: [...(current?.notes ?? []), ...notes].slice(-MAX_NOTES) });
  }

  async save(name: string, state: Omit<AspectState, "syncedAt">): Promise<void> {
    const notes = state.notes ?? this.aspect(name)?.notes; // kept until replaced
    const outcome = await this.links.updateAspect(this.link, name, {
      ...state,
      ...(notes ? { notes } : {}),
      syncedAt: new Date().toISOString(),
    });
    if (outcome.outcome === "stale") throw new InProgressError("the link changed while this job ran");
    this.link = outcome.link;
  }
}

/** How many notes an aspect keeps: enough to show a pattern, small enough for the link item. */
const MAX_NOTES = 20;

/** A short, stable digest: link items stay small however long the text. */
export function digest(...parts: string[]): string {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(part).update("\u0000");
  return hash.digest("base64url").slice(0, 16);
}

/** The pair of values (one per side) last known to be in sync, kept as JSON in an aspect's state. */
export interface SidePair {
  external: string;
  internal: string;
}

export function readPair(state: AspectState | undefined): SidePair | undefined {
  if (!state?.state) return undefined;
  try {
    const value = JSON.parse(state.state) as Partial<SidePair>;
    return typeof value.external === "string" && typeof value.internal === "string"
      ? { external: value.external, internal: value.internal }
      : undefined;
  } catch {
    return undefined;
  }
}

export const writePair = (pair: SidePair) => ({ state: JSON.stringify(pair) });
