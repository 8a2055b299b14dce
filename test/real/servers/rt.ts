import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as v from "valibot";
import { freePort } from "../../../infra/local/free-port.ts";
import { runStep, startServer, waitForHttp } from "./process.ts";

const RT_LIB = "/usr/share/request-tracker5";
const SETUP_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), "rt-setup.pl");

const ProvisionedSchema = v.object({
  queues: v.record(v.string(), v.number()),
  users: v.record(v.string(), v.number()),
  tokens: v.record(v.string(), v.string()),
  customField: v.number(),
  scrip: v.number(),
});

export interface RealRt {
  /** REST2's base: `http://127.0.0.1:<port>/REST/2.0`. */
  url: string;
  webUrl: string;
  /** Auth tokens by user name: deskbridge (the bridge), alice, bob. */
  tokens: Record<string, string>;
  queues: Record<string, number>;
  /** Calls REST2 as a person (or the bridge), as `curl -H 'Authorization: token …'` would. */
  as(user: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }>;
  /** Creates tickets through RT's Perl API as `user`, many at once (REST2 takes a second each); their ids. */
  createMany(user: string, tickets: { queue: string; subject: string }[]): Promise<number[]>;
  /** Turns the README's Scrip off (true) or on: its calls stop reaching the bridge. */
  setScripDisabled(disabled: boolean): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Request Tracker 5.0.3 as Debian packages it (`request-tracker5`, `rt5-db-sqlite`): a site config of its
 * own (`RT_SITE_CONFIG`, and an empty `RT_SITE_CONFIG_DIR` so that Debian's dbconfig files stay out), a
 * fresh sqlite database (`rt-setup-database --action init`), the README's setup made through RT's Perl
 * API (`rt-setup.pl`), and `rt-server` (Plack's standalone server) on 127.0.0.1. Mail goes to files
 * (`$MailCommand = 'testfile'`). The Scrip posts to `bridgeUrl` with `webhookToken`.
 */
export async function startRealRt(options: { bridgeUrl: string; webhookToken: string }): Promise<RealRt> {
  const root = mkdtempSync(join(tmpdir(), "deskbridge-real-rt-"));
  const port = await freePort();
  const webUrl = `http://127.0.0.1:${port}`;
  mkdirSync(join(root, "conf.d"));
  mkdirSync(join(root, "var"));
  const perlString = (value: string) => `'${value.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
  writeFileSync(
    join(root, "RT_SiteConfig.pm"),
    [
      "Set($rtname, 'deskbridge-test');",
      "Set($Organization, 'example.com');",
      "Set($WebDomain, '127.0.0.1');",
      `Set($WebPort, ${port});`,
      "Set($WebPath, '');",
      `Set(@ReferrerWhitelist, qw(127.0.0.1:${port}));`,
      "Set($DatabaseType, 'SQLite');",
      `Set($DatabaseName, ${perlString(join(root, "var", "rt.db"))});`,
      "Set($Timezone, 'UTC');",
      "Set($MailCommand, 'testfile');",
      "Set($LogToSTDERR, 'warning');",
      "Set($LogToSyslog, undef);",
      "Set($LogToFile, undef);",
      `Set($DeskbridgeURL, ${perlString(options.bridgeUrl)});`,
      `Set($DeskbridgeToken, ${perlString(options.webhookToken)});`,
      "1;",
      "",
    ].join("\n"),
  );
  const env = {
    ...process.env,
    RT_SITE_CONFIG: join(root, "RT_SiteConfig.pm"),
    RT_SITE_CONFIG_DIR: join(root, "conf.d"),
  };
  await runStep("rt-setup-database", "/usr/sbin/rt-setup-database-5", ["--action", "init", "--skip-create"], {
    cwd: root,
    env,
  });
  const provisioned = v.parse(
    ProvisionedSchema,
    JSON.parse(await runStep("RT provisioning", "perl", [SETUP_SCRIPT], { cwd: root, env })),
  );
  const server = startServer(
    `${RT_LIB}/libexec/rt-server`,
    ["--server", "Standalone", "--host", "127.0.0.1", "--port", String(port)],
    { cwd: root, env, log: join(root, "rt-server.log") },
  );
  await waitForHttp(`${webUrl}/REST/2.0/`, server);
  const url = `${webUrl}/REST/2.0`;
  return {
    url,
    webUrl,
    tokens: provisioned.tokens,
    queues: provisioned.queues,
    async as(user, method, path, body) {
      const response = await fetch(`${url}/${path.replace(/^\//, "")}`, {
        method,
        headers: {
          authorization: `token ${provisioned.tokens[user] ?? ""}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // not JSON: keep the text
      }
      return { status: response.status, body: parsed };
    },
    async createMany(user, tickets) {
      const printed = await runStep(
        "RT bulk create",
        "perl",
        [
          `-I${RT_LIB}/lib`,
          "-MRT",
          "-MJSON",
          "-e",
          `RT::LoadConfig(); RT::Init(); my $me = RT::CurrentUser->new; $me->LoadByName(shift @ARGV) or die "no user\\n"; ` +
            `my @ids; for my $spec (@{ JSON::decode_json(shift @ARGV) }) { my $t = RT::Ticket->new($me); ` +
            `my ($id, undef, $msg) = $t->Create(Queue => $spec->{queue}, Subject => $spec->{subject}); ` +
            `die "$msg\\n" unless $id; push @ids, $id } print JSON::encode_json(\\@ids);`,
          user,
          JSON.stringify(tickets),
        ],
        { cwd: root, env },
      );
      return v.parse(v.array(v.number()), JSON.parse(printed));
    },
    async setScripDisabled(disabled) {
      await runStep(
        "RT scrip toggle",
        "perl",
        [
          `-I${RT_LIB}/lib`,
          "-MRT",
          "-e",
          `RT::LoadConfig(); RT::Init(); my $s = RT::Scrip->new(RT->SystemUser); ` +
            `$s->Load(${provisioned.scrip}) or die "no scrip\\n"; ` +
            `my ($ok, $msg) = $s->SetDisabled(${disabled ? 1 : 0}); ` +
            `die "$msg\\n" unless $ok || $s->Disabled == ${disabled ? 1 : 0};`,
        ],
        { cwd: root, env },
      );
    },
    stop: () => server.stop(),
  };
}
