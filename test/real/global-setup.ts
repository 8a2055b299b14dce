import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import type { TestProject } from "vitest/node";
import { setup as startEmulators, teardown as stopEmulators } from "../helpers/global-setup.ts";
import { ITOP_SNAPSHOT } from "./servers/itop.ts";
import { KANBOARD_SNAPSHOT } from "./servers/kanboard.ts";

/**
 * `npm run test:real` needs Debian's Redmine 5, Request Tracker 5, PHP and MariaDB, and the Kanboard and
 * iTop snapshots. What is missing is installed with apt-get when this runs as root (CI does); otherwise
 * the run stops here, naming what to install. It never passes without the real servers.
 */
export const DEBIAN_PACKAGES = [
  "redmine",
  "redmine-sqlite",
  "ruby-webrick",
  "request-tracker5",
  "rt5-db-sqlite",
  "rt5-standalone",
  "php-cli",
  "php-sqlite3",
  "php-mbstring",
  "php-xml",
  "php-gd",
  // iTop (its snapshot): a throwaway MariaDB, and the PHP extensions its setup checks for.
  "mariadb-server",
  "php-mysql",
  "php-zip",
  "php-curl",
  "php-ldap",
  "php-soap",
  "php-apcu",
  "php-intl",
  "graphviz",
];

function missingPackages(): string[] {
  return DEBIAN_PACKAGES.filter((name) => {
    const status = spawnSync("dpkg-query", ["--status", name], { encoding: "utf8" });
    return status.status !== 0 || !status.stdout.includes("Status: install ok installed");
  });
}

export async function setup(project: TestProject): Promise<void> {
  if (!existsSync(KANBOARD_SNAPSHOT)) {
    throw new Error(
      `no Kanboard snapshot at ${KANBOARD_SNAPSHOT} (../shared/real-systems beside the project)`,
    );
  }
  if (!existsSync(ITOP_SNAPSHOT)) {
    throw new Error(`no iTop snapshot at ${ITOP_SNAPSHOT} (../shared/real-systems beside the project)`);
  }
  if (spawnSync("dpkg-query", ["--version"]).status !== 0) {
    throw new Error("npm run test:real runs on Debian (dpkg and apt-get): this machine has no dpkg-query");
  }
  const missing = missingPackages();
  if (missing.length > 0) {
    if (process.getuid?.() !== 0) {
      throw new Error(
        `npm run test:real needs these Debian packages: ${missing.join(" ")}. Run it as root (it installs ` +
          `them), or install them first: apt-get install ${missing.join(" ")}`,
      );
    }
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    console.log(`installing ${missing.join(" ")} …`);
    execFileSync("apt-get", ["update", "-qq"], { env, stdio: "inherit" });
    execFileSync("apt-get", ["install", "-y", "-qq", ...missing], {
      env,
      stdio: ["ignore", "ignore", "inherit"],
    });
    const still = missingPackages();
    if (still.length > 0) throw new Error(`apt-get did not install ${still.join(" ")}`);
  }
  await startEmulators(project);
}

export async function teardown(): Promise<void> {
  await stopEmulators();
}
