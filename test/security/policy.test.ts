/**
 * Operator policy (issue 13): a zod-checked file capping what manifests ask
 * for, globally and per plugin id pattern; refusal with every excess listed,
 * or clamping; `host policy check`; secrets granted per plugin id.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { capabilityProvider, envSecrets } from "../../host/capabilities/mod.ts";
import { main } from "../../host/cli/main.ts";
import { resolvePaths } from "../../host/config/paths.ts";
import { HostError } from "../../host/errors.ts";
import { parseManifest } from "../../host/manifest/mod.ts";
import {
  admitter,
  capLimits,
  capsFor,
  checkManifest,
  clampPermissions,
  describeExcesses,
  parsePolicy,
  type Policy,
  policyJsonSchemaText,
} from "../../host/policy/mod.ts";
import { installPlugin, type OpenHost, openHost } from "../../host/core/mod.ts";
import { type SigningKey, trustKey } from "../../host/trust/mod.ts";
import { outputOf } from "../capabilities/harness.ts";
import { ops, probeWasm, signedProbe } from "../capabilities/probe.ts";
import { repoRoot } from "../helpers/cli.ts";
import { newKey, signedFirstParty } from "../helpers/signing.ts";

const greedy = () =>
  parseManifest(
    new TextEncoder().encode(JSON.stringify({
      schemaVersion: 1,
      id: "acme.greedy",
      version: "1.0.0",
      name: "Greedy",
      engines: { host: "^0.1.0", abi: 1 },
      capabilities: { run: { export: "run" } },
      permissions: {
        http: { allowedHosts: ["*.com", "api.example.com"] },
        events: { publish: ["**"], subscribe: ["acme.*"] },
        secrets: ["DB_PASSWORD", "API_TOKEN"],
      },
      limits: { memoryMaxPages: 16384, timeoutMs: 3_600_000 },
      schedules: [{ name: "hot", cron: "* * * * * *", capability: "run" }],
    })),
  );

const strict: Policy = {
  schemaVersion: 1,
  defaults: {
    memoryMaxPages: 256,
    timeoutMs: 5000,
    fuel: 1_000_000,
    http: { hosts: ["*.example.com"] },
    topics: { publish: ["acme.**"], subscribe: ["acme.*", "run.*"] },
    secrets: ["API_TOKEN"],
    minScheduleIntervalSeconds: 60,
  },
  plugins: {
    "acme.*": { memoryMaxPages: 512 },
    "acme.greedy": { secrets: ["API_TOKEN", "DB_PASSWORD"] },
  },
};

describe("the policy file", () => {
  it("has a JSON Schema that is current (scripts/gen-schemas.ts)", () => {
    expect(readFileSync(join(repoRoot, "schemas", "policy.schema.json"), "utf8")).toBe(
      policyJsonSchemaText(),
    );
  });

  it.each([
    ["{", /is not JSON/],
    ['{"schemaVersion": 1, "defaults": {"memory": 5}}', /memory/],
    [
      '{"schemaVersion": 1, "defaults": {"http": {"allowNetworks": ["10.0.0.0/99"]}}}',
      /not a network/,
    ],
    ['{"schemaVersion": 2}', /schemaVersion/],
  ])("refuses %s with what to fix", (text, message) => {
    let error: unknown;
    try {
      parsePolicy(text, "p.json");
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(HostError);
    expect((error as HostError).code).toBe("invalid_input");
    expect((error as HostError).message).toMatch(message);
  });

  it("merges defaults and matching sections, most specific last", () => {
    expect(capsFor(strict, "acme.greedy")).toMatchObject({
      memoryMaxPages: 512,
      secrets: ["API_TOKEN", "DB_PASSWORD"],
      timeoutMs: 5000,
    });
    expect(capsFor(strict, "other.plugin")).toMatchObject({
      memoryMaxPages: 256,
      secrets: ["API_TOKEN"],
    });
    expect(capsFor({ schemaVersion: 1 }, "x.y")).toMatchObject({
      mode: "refuse",
      allowNetworks: [],
    });
  });
});

describe("checking a manifest", () => {
  it("lists each excess: memory, timeout, hosts, topics, secrets, schedule interval", () => {
    const report = checkManifest({ ...strict, plugins: {} }, greedy());
    expect(report.fits).toBe(false);
    expect(report.admitted).toBe(false);
    expect(report.excesses.map((e) => [e.field, e.requested])).toEqual([
      ["limits.memoryMaxPages", 16384],
      ["limits.timeoutMs", 3_600_000],
      ["permissions.http.allowedHosts", "*.com"],
      ["permissions.events.publish", "**"],
      ["permissions.secrets", "DB_PASSWORD"],
      ["schedules[0].cron", "* * * * * * (every 1 s)"],
    ]);
  });

  it("fits the built-in policy when modest; the built-in caps 1 GiB memory and 1 h timeouts", () => {
    const report = checkManifest({ schemaVersion: 1 }, greedy());
    expect(report.excesses.map((e) => e.field)).toEqual([
      "limits.memoryMaxPages",
      "limits.timeoutMs",
    ]);
  });

  it("capLimits lowers requested limits to the plugin's caps and names what it lowered", () => {
    const { applied, excesses } = capLimits(strict, "acme.greedy", {
      memoryPages: 9999,
      timeoutMs: 100,
      fuel: 10n ** 12n,
    });
    expect(applied).toMatchObject({ memoryPages: 512, timeoutMs: 100, fuel: 1_000_000n });
    expect(excesses.map((e) => e.field)).toEqual(["limits.fuel", "limits.memoryMaxPages"]);
  });

  it("in clamp mode admits what can be lowered or dropped, and still refuses a too-frequent schedule", () => {
    const clamp: Policy = {
      ...strict,
      defaults: { ...strict.defaults, mode: "clamp" },
      plugins: {},
    };
    expect(checkManifest(clamp, greedy()).admitted).toBe(false);
    const calm = greedy();
    calm.schedules = [{ name: "ok", cron: "*/5 * * * *", capability: "run" }];
    expect(checkManifest(clamp, calm)).toMatchObject({ fits: false, admitted: true });
    expect(() => admitter(clamp)(calm, { memoryPages: 16384 })).not.toThrow();
    expect(admitter(clamp)(calm, { memoryPages: 16384 })).toMatchObject({ memoryPages: 256 });
  });
});

describe("the shortest schedule interval, each schedule alone and all together", () => {
  const withSchedules = (schedules: { name: string; cron: string }[]) => {
    const manifest = greedy();
    delete manifest.limits;
    delete manifest.permissions;
    manifest.schedules = schedules.map((s) => ({ ...s, capability: "run" }));
    return manifest;
  };
  const every = (minScheduleIntervalSeconds: number): Policy => ({
    schemaVersion: 1,
    defaults: { minScheduleIntervalSeconds },
  });
  const excesses = (policy: Policy, schedules: { name: string; cron: string }[]) =>
    checkManifest(policy, withSchedules(schedules)).excesses.map((e) => [e.field, e.requested]);

  it("refuses sixty hourly schedules a minute apart: together they run the plugin every minute", () => {
    const sixty = Array.from({ length: 60 }, (_, m) => ({ name: `m${m}`, cron: `${m} * * * *` }));
    expect(excesses(every(3600), sixty)).toEqual([
      ["schedules", "'m0' and 'm1' together: 60 s apart (at 2028-01-01T00:01:00.000Z)"],
    ]);
  });

  it("refuses two schedules due at the same instant under a minimum, and allows them without one", () => {
    const twice = [{ name: "a", cron: "0 * * * *" }, { name: "b", cron: "0 * * * *" }];
    expect(excesses(every(3600), twice)).toEqual([
      ["schedules", "'a' and 'b' together: both due at 2028-01-01T00:00:00.000Z"],
    ]);
    // The built-in policy has no minimum.
    expect(excesses({ schemaVersion: 1 }, twice)).toEqual([]);
    // Two daily schedules at different hours are far enough apart for an hourly minimum.
    expect(
      excesses(every(3600), [{ name: "a", cron: "0 2 * * *" }, { name: "b", cron: "0 4 * * *" }]),
    )
      .toEqual([]);
  });

  it("judges a schedule without a time zone in UTC, as the scheduler runs it, whatever TZ says", () => {
    const saved = process.env.TZ;
    process.env.TZ = "America/New_York";
    try {
      expect(new Date(2026, 0, 1).getTimezoneOffset()).toBe(300); // the zone took effect
      // Daily at 01:30: in New York a DST change makes one gap 23 h; in UTC every gap is 24 h.
      expect(excesses(every(86_400), [{ name: "d", cron: "30 1 * * *" }])).toEqual([]);
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });

  it("meets schedules that start later in the year, however frequent the others", () => {
    // Every minute at :00, and from February every minute at :30: 30 s apart all February.
    expect(
      excesses(every(60), [{ name: "a", cron: "0 * * * * *" }, {
        name: "b",
        cron: "30 * * * 2 *",
      }]),
    ).toEqual([["schedules", expect.stringMatching(/^'[ab]' and '[ab]' together: 30 s apart/)]]);
    // Each minute's second 0, and 59 schedules for its seconds 1-59 from February to December:
    // the plugin runs every second for eleven months.
    const many = [
      { name: "m", cron: "0 * * * * *" },
      ...Array.from({ length: 59 }, (_, k) => ({ name: `s${k}`, cron: `${k + 1} * * * 2-12 *` })),
    ];
    expect(excesses(every(60), many)).toEqual([
      ["schedules", expect.stringMatching(/^'\w+' and '\w+' together: 1 s apart/)],
    ]);
    // Two due together only on 29 February.
    const leap = [{ name: "a", cron: "0 12 29 2 *" }, { name: "b", cron: "0 12 29 2 *" }];
    expect(excesses(every(3600), leap)).toEqual([
      ["schedules", "'a' and 'b' together: both due at 2028-02-29T12:00:00.000Z"],
    ]);
  });

  it("refuses more than 64 schedules in a manifest, saying what to do", () => {
    const schedules = Array.from({ length: 65 }, (_, i) => ({
      name: `s${i}`,
      cron: `${i % 60} 3 * * *`,
      capability: "run",
    }));
    const text = JSON.stringify({ ...JSON.parse(JSON.stringify(greedy())), schedules });
    expect(() => parseManifest(new TextEncoder().encode(text))).toThrow(/at most 64 schedules/);
  });

  it("sees a short gap that comes months in (past the 50 occurrences it used to sample)", () => {
    // 00:00 and 23:00 on Fridays and on the 13th: Fri 12 June 2026 23:00, then Sat 13 June 00:00.
    expect(excesses(every(43_200), [{ name: "f", cron: "0 0,23 13 * 5" }])).toEqual([
      ["schedules[0].cron", "0 0,23 13 * 5 (every 3600 s)"],
    ]);
  });
});

describe("HTTP destination patterns with ports", () => {
  const asking = (allowedHosts: string[]) => {
    const manifest = greedy();
    manifest.permissions = { http: { allowedHosts } };
    delete manifest.limits;
    manifest.schedules = [];
    return manifest;
  };
  const hostsPolicy = (hosts: string[], mode: "refuse" | "clamp" = "refuse"): Policy => ({
    schemaVersion: 1,
    defaults: { mode, http: { hosts } },
  });
  const refused = (hosts: string[], allowedHosts: string[]) =>
    checkManifest(hostsPolicy(hosts), asking(allowedHosts)).excesses.map((e) => e.requested);

  it("reads a pattern without a port as the default ports 80 and 443 only, as a manifest entry", () => {
    const asked = [
      "api.example.com",
      "api.example.com:443",
      "api.example.com:80",
      "api.example.com:8443",
    ];
    expect(refused(["api.example.com"], asked)).toEqual(["api.example.com:8443"]);
    expect(refused(["*.example.com"], asked)).toEqual(["api.example.com:8443"]);
    expect(refused(["*"], ["x.test:8080", "x.test"])).toEqual(["x.test:8080"]);
  });

  it("allows a port only when a pattern covering the host names that port (or ':*')", () => {
    expect(refused(["api.example.com:8443"], ["api.example.com:8443", "api.example.com"]))
      .toEqual(["api.example.com"]);
    expect(refused(["other.example.com:8443"], ["api.example.com:8443"]))
      .toEqual(["api.example.com:8443"]);
    expect(refused(["*.example.com:*"], ["a.example.com:9000", "*.example.com", "x.test:80"]))
      .toEqual(["x.test:80"]);
    // An entry without a port reaches 80 and 443: one of them alone does not cover it.
    expect(refused(["h.test:443"], ["h.test"])).toEqual(["h.test"]);
    expect(refused(["h.test:443", "h.test:80"], ["h.test"])).toEqual([]);
  });

  it("keeps any port open under the built-in policy ('*:*')", () => {
    expect(checkManifest({ schemaVersion: 1 }, asking(["x.test:8443", "x.test"])).excesses)
      .toEqual([]);
  });

  it("drops, in clamp mode, the entries whose port the policy does not allow", () => {
    const manifest = asking(["api.example.com", "api.example.com:8443"]);
    const report = checkManifest(hostsPolicy(["api.example.com"], "clamp"), manifest);
    expect(report).toMatchObject({ fits: false, admitted: true });
    expect(clampPermissions(report.caps, manifest.permissions)?.http?.allowedHosts)
      .toEqual(["api.example.com"]);
  });

  it.each(["api.example.com:0", "api.example.com:65536", "api.example.com:", "h.test:08", "*:x"])(
    "refuses the pattern %s, naming it",
    (pattern) => {
      const text = JSON.stringify(hostsPolicy(["ok.test:8443", pattern]));
      let error: unknown;
      try {
        parsePolicy(text, "p.json");
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(HostError);
      expect((error as HostError).code).toBe("invalid_input");
      expect((error as HostError).message).toContain(`'${pattern}' is not a host pattern`);
      expect((error as HostError).message).toContain("defaults.http.hosts[1]");
    },
  );

  it("accepts ports 1 to 65535 and ':*'", () => {
    const text = JSON.stringify(hostsPolicy(["a.test:1", "*.b.test:65535", "*:*", "c.test:*"]));
    expect(parsePolicy(text, "p.json").defaults?.http?.hosts).toHaveLength(4);
  });
});

describe("the KV key cap (kvMaxKeys)", () => {
  const withKv = (kv: { quotaBytes: number; maxKeys?: number }) => {
    const m = greedy();
    m.permissions = { kv };
    m.limits = {};
    m.schedules = [];
    return m;
  };
  const capped: Policy = { schemaVersion: 1, plugins: { "acme.*": { kvMaxKeys: 50 } } };

  it("reports an explicit permissions.kv.maxKeys above the cap as an excess clamp lowers", () => {
    const report = checkManifest(capped, withKv({ quotaBytes: 1000, maxKeys: 500 }));
    expect(report).toMatchObject({ fits: false, admitted: false, mode: "refuse" });
    expect(report.excesses).toEqual([
      { field: "permissions.kv.maxKeys", requested: 500, allowed: 50, clamp: "lowered" },
    ]);
    expect(describeExcesses(report)).toBe(
      "permissions.kv.maxKeys: asks 500, the policy allows 50",
    );
    const clamp: Policy = { ...capped, defaults: { mode: "clamp" } };
    expect(checkManifest(clamp, withKv({ quotaBytes: 1000, maxKeys: 500 }))).toMatchObject({
      fits: false,
      admitted: true,
    });
    // Within the cap, or left to the default: no excess.
    expect(checkManifest(capped, withKv({ quotaBytes: 1000, maxKeys: 50 })).fits).toBe(true);
    expect(checkManifest(capped, withKv({ quotaBytes: 1000 })).fits).toBe(true);
    expect(capsFor(capped, "other.x").kvMaxKeys).toBe(100_000);
  });

  it("clampPermissions lowers maxKeys, and the 10,000 default, to the cap", () => {
    const caps = capsFor(capped, "acme.greedy");
    expect(clampPermissions(caps, { kv: { quotaBytes: 9, maxKeys: 500 } })?.kv).toEqual({
      quotaBytes: 9,
      maxKeys: 50,
    });
    expect(clampPermissions(caps, { kv: { quotaBytes: 9 } })?.kv).toEqual({
      quotaBytes: 9,
      maxKeys: 50,
    });
    expect(clampPermissions(caps, { kv: { quotaBytes: 9, maxKeys: 7 } })?.kv?.maxKeys).toBe(7);
    expect(clampPermissions(caps, { secrets: [] })?.kv).toBeUndefined();
  });
});

describe("installs and uploads under a policy", () => {
  let home: string;
  let key: SigningKey;
  let host: OpenHost | undefined;

  beforeAll(async () => {
    await probeWasm();
    key = await newKey("operator");
  }, 120_000);
  const open = async (policy: Policy, secrets?: Record<string, string>) => {
    home = mkdtempSync(join(tmpdir(), "plughost-policy-"));
    await trustKey(join(home, "trust"), key.publicKey);
    host = await openHost({
      paths: resolvePaths({}, home, { home }),
      admit: admitter(policy),
      hostFunctions: capabilityProvider({
        operatorPolicy: policy,
        secrets: envSecrets("S_", secrets ?? {}),
      }),
    });
    return host;
  };
  const close = async () => {
    await host?.close();
    host = undefined;
    rmSync(home, { recursive: true, force: true });
  };
  afterAll(close);

  it("refuses an install that asks for more, with each excess in the error's details", async () => {
    const h = await open({ schemaVersion: 1, defaults: { memoryMaxPages: 8, timeoutMs: 1000 } });
    const wasm = await signedFirstParty("hello", key, (m) => {
      m.limits = { memoryMaxPages: 64, timeoutMs: 60_000 };
    });
    const error = await installPlugin(h.runtime, join(home, "plugins"), wasm).catch((e) => e);
    expect(error).toBeInstanceOf(HostError);
    expect(error.code).toBe("permission_denied");
    expect(error.message).toMatch(/limits.memoryMaxPages: asks 64, the policy allows 8/);
    expect(error.details.excesses).toHaveLength(2);
    expect(h.runtime.get("example.hello")).toBeUndefined();
    expect(await h.store.plugins.get("example.hello")).toBeUndefined();
    await close();
  });

  it("clamps in clamp mode: the run records the lowered limits", async () => {
    const h = await open({ schemaVersion: 1, defaults: { mode: "clamp", timeoutMs: 1500 } });
    const wasm = await signedFirstParty("hello", key, (m) => {
      m.limits = { memoryMaxPages: 16, timeoutMs: 60_000 };
    });
    await installPlugin(h.runtime, join(home, "plugins"), wasm);
    const result = await h.runtime.invoke({
      pluginId: "example.hello",
      capability: "greet",
      input: new TextEncoder().encode('{"name":"policy"}'),
      trigger: "cli",
      durable: true,
    });
    expect(result.ok).toBe(true);
    const run = await h.store.runs.get(result.runId);
    expect(run?.limits).toMatchObject({ timeoutMs: 1500, memoryPages: 16 });
    await close();
  });

  it("scopes secrets per plugin id: a secret not granted is permission_denied and audited", async () => {
    const policy: Policy = {
      schemaVersion: 1,
      defaults: { mode: "clamp", secrets: [] },
      plugins: { "example.db": { secrets: ["DB_PASSWORD"] } },
    };
    const h = await open(policy, {
      S_DB_PASSWORD: "shared-pw",
      S_EXAMPLE_DB__DB_PASSWORD: "db-own-pw",
    });
    const read = ops({ fn: "secret_get", req: { name: "DB_PASSWORD" } }, {
      secretIs: "DB_PASSWORD",
      value: "db-own-pw",
    });
    await h.runtime.load(await signedProbe(key, "example.db", { secrets: ["DB_PASSWORD"] }), "t");
    await h.runtime.load(await signedProbe(key, "example.web", { secrets: ["DB_PASSWORD"] }), "t");
    const call = (pluginId: string) =>
      h.runtime.invoke({
        pluginId,
        capability: "run",
        input: new TextEncoder().encode(JSON.stringify(read)),
        trigger: "cli",
        durable: true,
      });
    const own = await call("example.db");
    // The plugin read its own value (the output it hands back has it redacted).
    expect(outputOf(own)).toEqual([{ ok: { value: "[redacted]" } }, { secretIs: true }]);
    const other = await call("example.web");
    expect(JSON.stringify(outputOf(other))).toContain("permission_denied");
    expect(JSON.stringify(outputOf(other))).not.toContain("pw");
    await h.store.flush();
    const audit = (await h.store.events.query({ type: "audit.denied", limit: 10 })).events;
    // Two denials: the raw secret_get and the SDK's under `secretIs`. A call that outgrows its
    // main-thread slice (20 ms of wall time, on a busy machine) is re-run in a worker; the
    // re-run does not audit again what the first attempt did (audit.ts).
    expect(audit.map((e) => [e.pluginId, (e.payload as { function: string }).function])).toEqual([
      ["example.web", "secret_get"],
      ["example.web", "secret_get"],
    ]);
    await close();
  });
});

describe("the KV key cap at run time", () => {
  let home: string;
  let key: SigningKey;
  let host: OpenHost | undefined;
  beforeAll(async () => {
    await probeWasm();
    key = await newKey("operator");
  }, 120_000);
  afterAll(async () => {
    await host?.close();
    rmSync(home, { recursive: true, force: true });
  });

  it("refuses a manifest over the cap in refuse mode; the KV store enforces the clamped cap", async () => {
    home = mkdtempSync(join(tmpdir(), "plughost-policy-kv-"));
    await trustKey(join(home, "trust"), key.publicKey);
    const policy: Policy = {
      schemaVersion: 1,
      defaults: { kvMaxKeys: 2 },
      plugins: { "t.clamped": { mode: "clamp" } },
    };
    host = await openHost({
      paths: resolvePaths({}, home, { home }),
      admit: admitter(policy),
      hostFunctions: capabilityProvider({ operatorPolicy: policy }),
    });
    const h = host;
    const asks = { kv: { quotaBytes: 10_000, maxKeys: 5 } };
    const refused = await h.runtime.load(await signedProbe(key, "t.refused", asks), "t")
      .catch((e) => e);
    expect(refused).toBeInstanceOf(HostError);
    expect(refused.code).toBe("permission_denied");
    expect(refused.message).toMatch(/permissions\.kv\.maxKeys: asks 5, the policy allows 2/);
    await h.runtime.load(await signedProbe(key, "t.clamped", asks), "t");
    // No maxKeys: the 10,000 default is lowered to the cap, in refuse mode too.
    await h.runtime.load(
      await signedProbe(key, "t.default", { kv: { quotaBytes: 10_000 } }),
      "t",
    );
    for (const id of ["t.clamped", "t.default"]) {
      const result = await h.runtime.invoke({
        pluginId: id,
        capability: "run",
        input: new TextEncoder().encode(JSON.stringify(ops(
          { fn: "kv_set", req: { key: "a", value: "1" } },
          { fn: "kv_set", req: { key: "b", value: "2" } },
          { fn: "kv_set", req: { key: "c", value: "3" } },
        ))),
        trigger: "cli",
        durable: true,
      });
      const out = outputOf(result) as unknown[];
      expect(out.slice(0, 2), id).toEqual([{ ok: null }, { ok: null }]);
      expect(out[2], id).toMatchObject({ error: { code: "quota_exceeded" } });
      expect(JSON.stringify(out[2]), id).toMatch(/over its limit of 2 /);
      expect(await h.store.kv.usage(id), id).toEqual({ keys: 2, bytes: 4 });
    }
  });
});

describe("host policy check", () => {
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "plughost-policy-cli-"));
    const key = await newKey();
    writeFileSync(join(dir, "hello.wasm"), await signedFirstParty("hello", key));
    writeFileSync(
      join(dir, "big.wasm"),
      await signedFirstParty("hello", key, (m) => {
        m.limits = { memoryMaxPages: 16384 };
      }),
    );
    writeFileSync(join(dir, "junk.wasm"), "not wasm");
    writeFileSync(
      join(dir, "policy.json"),
      JSON.stringify({ schemaVersion: 1, defaults: { memoryMaxPages: 32 } }),
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const run = async (...args: string[]) => {
    const out: string[] = [];
    const io = {
      stdout: (t: string) => out.push(t),
      stderr: (t: string) => out.push(t),
      env: {},
      cwd: dir,
    };
    const code = await main(["policy", "check", ...args, "--home", dir], io);
    return { code, out: out.join("") };
  };

  it("exits 0 when a file fits, 1 when it exceeds (listing each excess), 65 for a bad file", async () => {
    expect(await run("hello.wasm")).toMatchObject({
      code: 0,
      out: expect.stringContaining("fits"),
    });
    const big = await run("big.wasm", "--policy", "policy.json");
    expect(big.code).toBe(1);
    expect(big.out).toContain("limits.memoryMaxPages: asks 16384, the policy allows 32");
    const json = await run("big.wasm", "--json");
    expect(JSON.parse(json.out)[0]).toMatchObject({ pluginId: "example.hello", fits: false });
    expect((await run("junk.wasm")).code).toBe(65);
    expect((await run("hello.wasm", "--policy", "missing.json")).code).toBe(65);
  });
});
