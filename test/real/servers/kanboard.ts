import { chmodSync, mkdtempSync, readdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import * as v from "valibot";
import { freePort } from "../../../infra/local/free-port.ts";
import { runStep, startServer, waitForHttp } from "./process.ts";

/** The snapshot beside the project, as CI has it (../shared/real-systems, read-only). */
export const KANBOARD_SNAPSHOT = resolve("../shared/real-systems/kanboard-2cba210dba.tar.gz");

export interface RealKanboard {
  /** JSON-RPC endpoint: `http://127.0.0.1:<port>/jsonrpc.php`. */
  url: string;
  /** The application API token (user `jsonrpc`), what the bridge's `KANBOARD_TOKEN` holds. */
  apiToken: string;
  projectId: number;
  users: Record<string, number>;
  /** A JSON-RPC call as admin (admin/admin), as a person using the board would. */
  call(method: string, params?: unknown): Promise<unknown>;
  stop(): Promise<void>;
}

const RpcAnswer = v.object({ result: v.optional(v.unknown()), error: v.optional(v.unknown()) });

/**
 * Kanboard, the real application (MIT), from its source snapshot: extracted to a temporary folder and
 * served by `php -S` on 127.0.0.1 with Debian's PHP (`php-cli php-sqlite3 php-mbstring php-xml php-gd`).
 * Its sqlite database is created on the first request. Set up as the README tells an administrator to:
 * a "Helpdesk" project whose columns match the config (Backlog, Work in progress, Waiting, Done), and a
 * board user per RT person who owns tickets (alice).
 */
export async function startRealKanboard(): Promise<RealKanboard> {
  const root = mkdtempSync(join(tmpdir(), "deskbridge-real-kanboard-"));
  await runStep("extract Kanboard", "tar", ["xzf", KANBOARD_SNAPSHOT, "-C", root], {
    cwd: root,
    env: process.env,
  });
  const app = join(root, "kanboard");
  makeWritable(join(app, "data"));
  const port = await freePort();
  const server = startServer("php", ["-S", `127.0.0.1:${port}`, "-t", app], {
    cwd: app,
    env: process.env,
    log: join(root, "php.log"),
  });
  const url = `http://127.0.0.1:${port}/jsonrpc.php`;
  await waitForHttp(url, server);
  const call = async (method: string, params?: unknown) => {
    const response = await fetch(url, {
      method: "POST",
      headers: { authorization: `Basic ${Buffer.from("admin:admin").toString("base64")}` },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, ...(params === undefined ? {} : { params }) }),
    });
    const answer = v.parse(RpcAnswer, await response.json());
    if (answer.error !== undefined) throw new Error(`Kanboard ${method}: ${JSON.stringify(answer.error)}`);
    return answer.result;
  };
  try {
    const projectId = v.parse(v.number(), await call("createProject", { name: "Helpdesk" }));
    const columns = v.parse(
      v.array(v.object({ id: v.union([v.number(), v.string()]), title: v.string() })),
      await call("getColumns", { project_id: projectId }),
    );
    // Kanboard's default board is Backlog, Ready, Work in progress, Done: "Ready" becomes "Waiting",
    // placed after "Work in progress".
    const ready = columns.find((column) => column.title === "Ready");
    if (ready) {
      await call("updateColumn", { column_id: Number(ready.id), title: "Waiting" });
      await call("changeColumnPosition", { project_id: projectId, column_id: Number(ready.id), position: 3 });
    }
    const alice = v.parse(
      v.number(),
      await call("createUser", { username: "alice", password: "alice-password", name: "Alice Agent" }),
    );
    await call("addProjectUser", { project_id: projectId, user_id: alice, role: "project-member" });
    const apiToken = (
      await runStep(
        "read Kanboard's API token",
        "php",
        [
          "-r",
          `$db = new PDO("sqlite:${join(app, "data", "db.sqlite")}"); ` +
            `echo $db->query("SELECT value FROM settings WHERE option = 'api_token'")->fetchColumn();`,
        ],
        { cwd: app, env: process.env },
      )
    ).trim();
    if (!apiToken) throw new Error("Kanboard has no API token in its settings");
    return { url, apiToken, projectId, users: { admin: 1, alice }, call, stop: () => server.stop() };
  } catch (error) {
    await server.stop();
    throw error;
  }
}

/** php -S runs as the current user; the snapshot's data folder must take the database and files. */
function makeWritable(folder: string): void {
  chmodSync(folder, 0o777);
  for (const entry of readdirSync(folder)) {
    const path = join(folder, entry);
    if (statSync(path).isDirectory()) makeWritable(path);
  }
}
