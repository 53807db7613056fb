/**
 * The operator policy and signer pinning on Deno: an install over the policy
 * is refused with its excesses, secrets go only to the plugin granted them,
 * and another signer needs a rekey.
 * Run: node_modules/deno/deno test -A test/deno/policy.test.ts
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { capabilityProvider, envSecrets } from "../../host/capabilities/mod.ts";
import { resolvePaths } from "../../host/config/paths.ts";
import { admitter, type Policy } from "../../host/policy/mod.ts";
import { installPlugin, openHost } from "../../host/core/mod.ts";
import { trustKey } from "../../host/trust/mod.ts";
import { outputOf } from "../capabilities/harness.ts";
import { ops, signedProbe } from "../capabilities/probe.ts";
import { newKey, signedFirstParty } from "../helpers/signing.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test("policy refusal, per-plugin secrets and signer pinning", opts, async () => {
  const home = mkdtempSync(join(tmpdir(), "plughost-deno-policy-"));
  const a = await newKey("a");
  const b = await newKey("b");
  await trustKey(join(home, "trust"), a.publicKey);
  await trustKey(join(home, "trust"), b.publicKey);
  const policy: Policy = {
    schemaVersion: 1,
    defaults: { mode: "clamp", memoryMaxPages: 32, secrets: [], minScheduleIntervalSeconds: 60 },
    plugins: { "example.db": { secrets: ["DB_PASSWORD"] } },
  };
  const host = await openHost({
    paths: resolvePaths({}, home, { home }),
    admit: admitter(policy),
    hostFunctions: capabilityProvider({
      operatorPolicy: policy,
      secrets: envSecrets("S_", { S_DB_PASSWORD: "pw-shared" }),
    }),
  });
  try {
    const plugins = join(home, "plugins");
    await assert.rejects(
      installPlugin(
        host.runtime,
        plugins,
        await signedFirstParty("hello", a, (m) => {
          m.schedules = [{ name: "hot", cron: "* * * * * *", capability: "greet" }];
        }),
      ),
      /schedules\[0\]\.cron: asks \* \* \* \* \* \* \(every 1 s\)/,
    );
    await installPlugin(host.runtime, plugins, await signedFirstParty("hello", a));
    await assert.rejects(
      installPlugin(
        host.runtime,
        plugins,
        await signedFirstParty("hello", b, (m) => {
          m.version = "2.0.0";
        }),
      ),
      new RegExp(`pinned to key\\(s\\) ${a.keyId}`),
    );
    const read = new TextEncoder().encode(
      JSON.stringify(
        ops({ fn: "secret_get", req: { name: "DB_PASSWORD" } }, {
          secretIs: "DB_PASSWORD",
          value: "pw-shared",
        }),
      ),
    );
    for (const id of ["example.db", "example.web"]) {
      await host.runtime.load(await signedProbe(a, id, { secrets: ["DB_PASSWORD"] }), "t");
    }
    const call = async (pluginId: string) =>
      JSON.stringify(outputOf(
        await host.runtime.invoke({ pluginId, capability: "run", input: read, trigger: "cli" }),
      ));
    // The plugin got the value; the output the host hands back has it redacted.
    const own = await call("example.db");
    assert.match(own, /"secretIs":true/);
    assert.ok(!own.includes("pw-shared"));
    assert.match(await call("example.web"), /permission_denied/);
  } finally {
    await host.close();
    rmSync(home, { recursive: true, force: true });
  }
});
