import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dbBackends, silentLogger } from "../db/testing.js";
import { createHarness, type Harness, json } from "../http/testing.js";
import { kvBackends } from "../kv/testing.js";
import { createLdapAuthenticator, escapeDnValue, escapeFilterValue } from "./ldap.js";

const slapdPath = "/usr/sbin/slapd";
const run = promisify(execFile);
const base = "dc=example,dc=org";
const rootDn = `cn=admin,${base}`;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

async function waitForPort(port: number, deadlineMs: number): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = new Socket();
      socket.once("connect", () => resolve(true)).once("error", () => resolve(false));
      socket.connect(port, "127.0.0.1");
    }).catch(() => false);
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`slapd did not listen on ${port}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const entries = `dn: ${base}
objectClass: dcObject
objectClass: organization
o: Example
dc: example

dn: ou=people,${base}
objectClass: organizationalUnit
ou: people

dn: ou=groups,${base}
objectClass: organizationalUnit
ou: groups
${["ann", "ben", "cy"]
  .map(
    (uid) => `
dn: uid=${uid},ou=people,${base}
objectClass: inetOrgPerson
uid: ${uid}
cn: ${uid}
sn: ${uid}
userPassword: ${uid}-secret
`,
  )
  .join("")}
dn: cn=admins,ou=groups,${base}
objectClass: groupOfNames
cn: admins
member: uid=ann,ou=people,${base}

dn: cn=analysts,ou=groups,${base}
objectClass: groupOfNames
cn: analysts
member: uid=ben,ou=people,${base}
member: uid=ann,ou=people,${base}

dn: cn=viewers,ou=groups,${base}
objectClass: groupOfNames
cn: viewers
member: uid=ben,ou=people,${base}
`;

function ldapConfig(url: string) {
  return {
    url,
    searchFilter: "(uid={username})",
    groupFilter: "(objectClass=groupOfNames)",
    groupMemberAttribute: "member",
    groupSearchBase: `ou=groups,${base}`,
    userDnTemplate: `uid={username},ou=people,${base}`,
    groupRoleMap: {
      [`cn=admins,ou=groups,${base}`]: "admin" as const,
      [`CN=Analysts, ou=groups,${base}`]: "analyst" as const,
      [`cn=viewers,ou=groups,${base}`]: "viewer" as const,
    },
    timeoutMs: 5_000,
  };
}

// Registered only where slapd is installed: it is a real directory server, started per suite.
if (existsSync(slapdPath)) {
  describe("LDAP login against a real slapd", () => {
    let dir: string;
    let slapd: ChildProcess;
    let url: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), "pcapfleet-slapd-"));
      await mkdir(join(dir, "data"));
      const port = await freePort();
      url = `ldap://127.0.0.1:${port}`;
      await writeFile(
        join(dir, "slapd.conf"),
        [
          "include /etc/ldap/schema/core.schema",
          "include /etc/ldap/schema/cosine.schema",
          "include /etc/ldap/schema/inetorgperson.schema",
          "modulepath /usr/lib/ldap",
          "moduleload back_mdb",
          `pidfile ${join(dir, "slapd.pid")}`,
          "database mdb",
          "maxsize 16777216",
          `suffix "${base}"`,
          `rootdn "${rootDn}"`,
          "rootpw root-secret",
          `directory ${join(dir, "data")}`,
          "access to attrs=userPassword by anonymous auth by self read by * none",
          "access to * by users read by * none",
          "",
        ].join("\n"),
      );
      slapd = spawn(slapdPath, ["-f", join(dir, "slapd.conf"), "-h", `${url}/`, "-d", "0"], {
        stdio: "ignore",
      });
      await waitForPort(port, 10_000);
      await writeFile(join(dir, "entries.ldif"), entries);
      await run("ldapadd", [
        "-x",
        "-H",
        url,
        "-D",
        rootDn,
        "-w",
        "root-secret",
        "-f",
        join(dir, "entries.ldif"),
      ]);
    });
    afterAll(async () => {
      if (slapd !== undefined && slapd.exitCode === null) {
        const exited = new Promise((resolve) => slapd.once("exit", resolve));
        slapd.kill("SIGTERM");
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    });

    it("binds as the user and maps groups to the highest role", async () => {
      const ldap = createLdapAuthenticator(ldapConfig(url), silentLogger());
      expect(await ldap.authenticate("ann", "ann-secret")).toEqual({
        role: "admin",
        dn: `uid=ann,ou=people,${base}`,
      });
      expect((await ldap.authenticate("ben", "ben-secret"))?.role).toBe("analyst");
      expect(await ldap.authenticate("cy", "cy-secret")).toBeNull(); // in no mapped group
      expect(await ldap.authenticate("ann", "wrong")).toBeNull();
      expect(await ldap.authenticate("ann", "")).toBeNull(); // unauthenticated bind is not a login
      expect(await ldap.authenticate("nobody", "x")).toBeNull();
      expect(await ldap.authenticate("ann,ou=people", "ann-secret")).toBeNull();
    });

    it("finds the user by search with a service bind, and maps a default role", async () => {
      const { userDnTemplate: _template, ...rest } = ldapConfig(url);
      const ldap = createLdapAuthenticator(
        {
          ...rest,
          searchBase: `ou=people,${base}`,
          bindDn: rootDn,
          bindPassword: "root-secret",
          defaultRole: "viewer",
        },
        silentLogger(),
      );
      expect((await ldap.authenticate("ben", "ben-secret"))?.role).toBe("analyst");
      expect((await ldap.authenticate("cy", "cy-secret"))?.role).toBe("viewer");
      expect(await ldap.authenticate("*", "x")).toBeNull();
    });

    it("reports an unreachable directory as unavailable", async () => {
      const ldap = createLdapAuthenticator(
        { ...ldapConfig(`ldap://127.0.0.1:${await freePort()}`), timeoutMs: 1000 },
        silentLogger(),
      );
      await expect(ldap.authenticate("ann", "ann-secret")).rejects.toMatchObject({ code: "unavailable" });
    });

    describe.each(dbBackends())("login route on $name", (backend) => {
      let h: Harness;
      beforeAll(async () => {
        const [memory] = kvBackends({});
        if (memory === undefined) throw new Error("no memory kv");
        h = await createHarness(backend, memory, { config: { ldap: ldapConfig(url) } });
        await h.addUser("localonly", "viewer");
      });
      afterAll(() => h.close());

      it("creates and updates the local row of a directory user (source ldap)", async () => {
        const res = await h.call("POST", "/api/v1/login", {
          body: { username: "ben", password: "ben-secret" },
        });
        expect(res.status).toBe(200);
        expect((await json<{ user: unknown }>(res)).user).toEqual({ username: "ben", role: "analyst" });
        const { rows } = await h.scratch.db.query(
          "SELECT role, source, password_hash FROM users WHERE username = 'ben'",
        );
        expect(rows).toEqual([{ role: "analyst", source: "ldap", password_hash: null }]);
        // The directory's role wins at the next login.
        await h.scratch.db.query("UPDATE users SET role = 'viewer' WHERE username = 'ben'");
        expect(
          (await h.call("POST", "/api/v1/login", { body: { username: "ben", password: "ben-secret" } }))
            .status,
        ).toBe(200);
        const again = await h.scratch.db.query("SELECT role FROM users WHERE username = 'ben'");
        expect(again.rows).toEqual([{ role: "analyst" }]);
        const wrong = await h.call("POST", "/api/v1/login", { body: { username: "ann", password: "nope" } });
        expect(wrong.status).toBe(401);
        // Local accounts keep their local password.
        expect(
          (
            await h.call("POST", "/api/v1/login", {
              body: { username: "localonly", password: "correct horse battery" },
            })
          ).status,
        ).toBe(200);
      });
    });
  });
}

describe("LDAP escaping", () => {
  it("escapes DN and filter metacharacters", () => {
    expect(escapeDnValue("a,b+c=d")).toBe("a\\,b\\+c\\=d");
    expect(escapeDnValue(" #x ")).toBe("\\ #x\\ ");
    expect(escapeFilterValue("*)(uid=*")).toBe("\\2a\\29\\28uid=\\2a");
  });
});
