/**
 * kill -9 under load: a real `host serve` on 127.0.0.1 takes bounded
 * concurrent capability calls (fast ones, and slow ones that are still
 * running), is SIGKILLed, and is started again on the same data directory.
 * Every call that was acknowledged (200 with x-run-id) has its RunRecord,
 * `ok`; every run that was in flight is `interrupted` (with its event); none
 * is left `running`. Bounded: 8 clients, at most 400 calls, then the kill.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import process from "node:process";
import { afterEach, describe, expect, it } from "vitest";
import { openStore, TokensRepository } from "../../host/store/mod.ts";
import { repoRoot } from "../helpers/cli.ts";
import { hello, hostWith, slowPlugin, type TestHome, testHome } from "../scheduler/helpers.ts";

interface Served {
  child: ChildProcess;
  url: string;
  exited: Promise<number | null>;
}

/** Starts `host serve --port 0 --json` on `home` and waits for its listening line. */
async function serve(home: string): Promise<Served> {
  const child = spawn(process.execPath, [
    join(repoRoot, "bin", "host.mjs"),
    "serve",
    "--port",
    "0",
    "--json",
  ], {
    cwd: repoRoot,
    env: { ...process.env, PLUGHOST_HOME: home, NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stderr!.setEncoding("utf8").on("data", (c: string) => (err += c));
  const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.setEncoding("utf8").on("data", (c: string) => {
      out += c;
      const line = out.split("\n").find((l) => l.includes('"event":"listening"'));
      if (line) resolve((JSON.parse(line) as { url: string }).url);
    });
    void exited.then((code) => reject(new Error(`serve exited ${code}: ${err}`)));
  });
  return { child, url, exited };
}

describe("kill -9 under load", () => {
  let home: TestHome | undefined;
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null) c.kill("SIGKILL");
    home?.remove();
  });

  it("keeps every acknowledged run and marks the ones in flight interrupted", async () => {
    home = await testHome();
    const setup = await hostWith(home, [await hello(home.key), await slowPlugin(home.key, 60_000)]);
    const { token } = await new TokensRepository(setup.store.db).create({
      name: "load",
      scopes: ["invoke", "read"],
    });
    await setup.close();

    const first = await serve(home.home);
    children.push(first.child);
    const call = (url: string, path: string, body: unknown) =>
      fetch(`${url}${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });

    // Two loops of slow calls (worker mode; each runs until its fuel is spent): whenever the
    // kill comes, slow runs are in flight.
    let killedSlow = false;
    const slowLoop = async () => {
      while (!killedSlow) {
        await call(first.url, "/v1/plugins/test.slow/capabilities/spin", {})
          .then((r) => r.arrayBuffer()).catch(() => null);
      }
    };
    const slow = [slowLoop(), slowLoop()];
    const acknowledged: string[] = [];
    let started = 0;
    let killed = false;
    const client = async () => {
      while (!killed && started < 400) {
        started++;
        try {
          const res = await call(first.url, "/v1/plugins/example.hello/capabilities/greet", {
            name: `n${started}`,
          });
          const runId = res.headers.get("x-run-id");
          await res.arrayBuffer();
          if (res.status === 200 && runId) acknowledged.push(runId);
        } catch {
          // The server died under this request: it was never acknowledged.
        }
      }
    };
    const clients = Array.from({ length: 8 }, client);
    // Kill once a good share of calls is acknowledged (or all 400 are done), mid-load.
    while (acknowledged.length < 150 && started < 400) await new Promise((r) => setTimeout(r, 5));
    // And once a slow run is durable as running: the two loops leave gaps between their runs
    // (each ends by its fuel, ~0.5 s), and a kill in one would leave no slow run to interrupt.
    const watch = await openStore({ url: `file:${join(home.home, "host.db")}` });
    try {
      const slowRunning = async () =>
        (await watch.client.execute(
          "SELECT 1 FROM run_records WHERE capability = 'spin' AND status = 'running' LIMIT 1",
        )).rows.length > 0;
      for (let i = 0; i < 2000 && !(await slowRunning()); i++) {
        await new Promise((r) => setTimeout(r, 5));
      }
    } finally {
      await watch.close();
    }
    first.child.kill("SIGKILL");
    killed = true;
    killedSlow = true;
    expect(await first.exited).toBeNull(); // killed by the signal, no exit code
    await Promise.all([...clients, ...slow]);
    expect(acknowledged.length).toBeGreaterThanOrEqual(150);

    // Restarted on the same database: opening marks the dead process's runs interrupted.
    const second = await serve(home.home);
    children.push(second.child);
    try {
      const store = await openStore({ url: `file:${join(home.home, "host.db")}` });
      try {
        const rows = await store.client.execute(
          "SELECT id, status, capability FROM run_records",
        );
        const byId = new Map(rows.rows.map((r) => [String(r[0]), String(r[1])]));
        const lost = acknowledged.filter((id) => byId.get(id) !== "ok");
        expect(lost).toEqual([]);
        const statuses = rows.rows.map((r) => String(r[1]));
        expect(statuses.filter((s) => s === "running")).toEqual([]);
        // Slow runs ended by their own limit before the kill, or were cut by it: interrupted.
        const slowRuns = rows.rows.filter((r) => String(r[2]) === "spin").map((r) => String(r[1]));
        expect(slowRuns.filter((s) => s === "interrupted").length).toBeGreaterThanOrEqual(1);
        expect(slowRuns.filter((s) => s !== "interrupted" && s !== "error")).toEqual([]);
        const events = await store.events.query({ type: "run.interrupted", limit: 1000 });
        const interrupted = rows.rows.filter((r) => String(r[1]) === "interrupted")
          .map((r) => String(r[0]));
        expect(events.events.map((e) => e.runId).sort()).toEqual(interrupted.sort());
      } finally {
        await store.close();
      }
      // And the restarted server serves them.
      const one = await fetch(`${second.url}/v1/runs/${acknowledged[0]}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(one.status).toBe(200);
      expect((await one.json()).status).toBe("ok");
    } finally {
      second.child.kill("SIGTERM");
      expect(await second.exited).toBe(0);
    }
  }, 120_000);
});
