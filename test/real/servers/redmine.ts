import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as v from "valibot";
import { freePort } from "../../../infra/local/free-port.ts";
import { runStep, startServer, waitForHttp } from "./process.ts";

const REDMINE = "/usr/share/redmine";
/** Debian's multi-tenancy: `REDMINE_INSTANCE=<name>` runs the instance under /var/lib/redmine/<name>. */
const INSTANCES = "/var/lib/redmine";
const SETUP_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), "redmine-setup.rb");

const ProvisionedSchema = v.object({
  users: v.record(v.string(), v.number()),
  keys: v.record(v.string(), v.string()),
  projects: v.record(v.string(), v.number()),
  customField: v.number(),
  trackers: v.record(v.string(), v.number()),
  statuses: v.record(v.string(), v.number()),
});
export type RedmineProvisioned = v.InferOutput<typeof ProvisionedSchema>;

export interface RealRedmine extends RedmineProvisioned {
  url: string;
  /** Calls Redmine's REST API with a user's key (`X-Redmine-API-Key`). */
  as(
    user: string,
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: unknown; headers: Headers }>;
  /** Runs Ruby in the instance (`rails runner`, some seconds), e.g. to change a setting; its last line. */
  rails(script: string): Promise<string>;
  stop(): Promise<void>;
}

/**
 * Redmine 5.0 as Debian packages it (`redmine`, `redmine-sqlite`): a throwaway instance of Debian's
 * multi-tenancy (its own database.yml, sqlite file, secret, logs and files under a temporary folder,
 * linked into /var/lib/redmine), migrated and loaded with the default data, provisioned by
 * `redmine-setup.rb` through `rails runner`, and served by WEBrick on 127.0.0.1. Redmine's Gemfile has no
 * Rack server (Debian serves it through Passenger), so a Gemfile of our own adds Debian's `ruby-webrick`
 * to it (`bundle lock --local`: nothing is fetched), leaving the system's Gemfile.lock alone.
 */
export async function startRealRedmine(): Promise<RealRedmine> {
  const root = mkdtempSync(join(tmpdir(), "deskbridge-real-redmine-"));
  const name = `deskbridge-test-${process.pid}-${randomBytes(3).toString("hex")}`;
  const instance = join(root, "instance");
  for (const folder of ["config", "log", "tmp", "files"])
    mkdirSync(join(instance, folder), { recursive: true });
  writeFileSync(
    join(instance, "config", "database.yml"),
    `production:\n  adapter: sqlite3\n  database: ${join(instance, "redmine.sqlite3")}\n  encoding: utf8\n`,
  );
  writeFileSync(join(instance, "config", "secret_key.txt"), randomBytes(32).toString("hex"));
  writeFileSync(join(root, "Gemfile"), `eval_gemfile "${REDMINE}/Gemfile"\ngem "webrick"\n`);
  const link = join(INSTANCES, name);
  symlinkSync(instance, link);
  const env = {
    ...process.env,
    BUNDLE_GEMFILE: join(root, "Gemfile"),
    REDMINE_INSTANCE: name,
    RAILS_ENV: "production",
    REDMINE_LANG: "en",
  };
  const step = (what: string, args: string[]) =>
    runStep(what, "bundle", args, { cwd: REDMINE, env, timeoutMs: 300_000 });
  let server: ReturnType<typeof startServer> | undefined;
  try {
    await step("bundle lock", ["lock", "--local"]);
    await step("db:migrate", ["exec", "rake", "db:migrate"]);
    await step("load_default_data", ["exec", "rake", "redmine:load_default_data"]);
    const printed = await step("provisioning", ["exec", "rails", "runner", SETUP_SCRIPT]);
    const provisioned = v.parse(ProvisionedSchema, JSON.parse(printed.trim().split("\n").at(-1) ?? ""));
    const port = await freePort();
    server = startServer(
      "bundle",
      [
        "exec",
        "rails",
        "server",
        "-u",
        "webrick",
        "-b",
        "127.0.0.1",
        "-p",
        String(port),
        "-P",
        join(root, "server.pid"),
      ],
      { cwd: REDMINE, env, log: join(root, "server.log") },
    );
    const url = `http://127.0.0.1:${port}`;
    await waitForHttp(`${url}/issues.json`, server);
    const running = server;
    return {
      ...provisioned,
      url,
      async as(user, method, path, body) {
        const response = await fetch(`${url}/${path.replace(/^\//, "")}`, {
          method,
          headers: {
            "x-redmine-api-key": provisioned.keys[user] ?? "",
            ...(body === undefined ? {} : { "content-type": "application/json" }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        const text = await response.text();
        let parsed: unknown = text;
        try {
          parsed = text ? JSON.parse(text) : "";
        } catch {
          // not JSON: keep the text
        }
        return { status: response.status, body: parsed, headers: response.headers };
      },
      async rails(script) {
        return (
          (await step("rails runner", ["exec", "rails", "runner", script])).trim().split("\n").at(-1) ?? ""
        );
      },
      async stop() {
        await running.stop();
        rmSync(link, { force: true });
      },
    };
  } catch (error) {
    await server?.stop();
    rmSync(link, { force: true });
    throw error;
  }
}
