/**
 * `host doctor`: checks the database and the trust store and says what it found.
 * @module
 */
import { access, constants, stat } from "node:fs/promises";
import { resolvePaths } from "../config/paths.ts";
import { ExitCode, HostError } from "../errors.ts";
import { type Check, checkDatabase, normalizeDbUrl } from "../store/mod.ts";
import { loadTrustStore } from "../trust/mod.ts";
import { type Command, commonOptions, parseFlags } from "./command.ts";

const usage = `Usage: host doctor [options]

Checks the host's database (reachable, migrated, integrity, append-only
triggers, WAL), RunRecord coverage (runs never finished, left running by a
host that is gone; runs still running past their timeout; ended runs without
their terminal event), installed plugins in error, and the trust store (keys
expired or expiring within 30 days), and prints what it found. Changes nothing.
There is no stored plugin config to validate yet (config is the manifest's
default), so no config check runs.

Options:
  --db URL       Database (default: $PLUGHOST_DB, else file:<data dir>/host.db)
  --trust DIR    Trust store directory (default: $PLUGHOST_TRUST, else <data dir>/trust)
  --strict       Exit 2 when there are warnings (and no failures)
  --json         Print {"ok":bool,"checks":[{name,status,detail}]}

Exit codes: 0 healthy, 1 a check failed, 2 warnings with --strict.
`;

/** A trusted key expiring within this is reported (30 days). */
const EXPIRING_SOON_MS = 30 * 24 * 3600_000;

export const command: Command = {
  name: "doctor",
  summary: "Check the database and trust store and report problems",
  usage,
  async run(args, io) {
    const { values } = parseFlags(args, {
      ...commonOptions,
      db: { type: "string" },
      trust: { type: "string" },
      strict: { type: "boolean" },
    }, 0);
    const paths = resolvePaths(io.env, io.cwd, { db: values.db, trust: values.trust });
    const url = normalizeDbUrl(paths.db, io.cwd);
    const checks = [
      ...(await checkDatabase(url, io.env.PLUGHOST_DB_TOKEN, paths.plugins)),
      ...(await checkTrust(paths.trust)),
    ];
    const failed = checks.some((c) => c.status === "fail");
    const warned = checks.some((c) => c.status === "warn");
    if (values.json) {
      io.stdout(JSON.stringify({ ok: !failed, checks }) + "\n");
    } else {
      const width = Math.max(...checks.map((c) => c.name.length));
      for (const c of checks) {
        io.stdout(`${c.status.padEnd(4)}  ${c.name.padEnd(width)}  ${c.detail}\n`);
      }
    }
    if (failed) return ExitCode.failed;
    return warned && values.strict ? ExitCode.strict : ExitCode.ok;
  },
};

/** The trust store: readable, parseable, with at least one usable key. */
async function checkTrust(dir: string): Promise<Check[]> {
  try {
    const info = await stat(dir);
    if (!info.isDirectory()) {
      return [{
        name: "trust",
        status: "fail",
        detail: `${dir} is not a directory: remove it or pass --trust DIR`,
      }];
    }
    await access(dir, constants.R_OK | constants.X_OK);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === "ENOENT") {
      return [{
        name: "trust",
        status: "warn",
        detail:
          `no trust store at ${dir}: no signed plugin can load; add a key's .pub file there (host keygen makes one)`,
      }];
    }
    return [{
      name: "trust",
      status: "fail",
      detail: `cannot read trust store ${dir}: ${code ?? error}`,
    }];
  }
  let store;
  try {
    store = await loadTrustStore(dir);
  } catch (error) {
    const why = error instanceof HostError || error instanceof Error
      ? error.message
      : String(error);
    return [{ name: "trust", status: "fail", detail: why }];
  }
  const now = Date.now();
  const usable = [...store.keys.values()].filter((k) =>
    !store.revoked.has(k.keyId) && (k.expires === undefined || k.expires.getTime() > now)
  );
  const checks: Check[] = [];
  for (const key of store.keys.values()) {
    if (key.expires !== undefined && key.expires.getTime() <= now) {
      checks.push({
        name: "trust",
        status: "warn",
        detail: `key ${key.keyId} (${key.file}) expired ${key.expires.toISOString()}`,
      });
    } else if (
      key.expires !== undefined && key.expires.getTime() <= now + EXPIRING_SOON_MS &&
      !store.revoked.has(key.keyId)
    ) {
      checks.push({
        name: "trust",
        status: "warn",
        detail:
          `key ${key.keyId} (${key.file}) expires soon, ${key.expires.toISOString()}: plugins signed only by it stop loading then; rotate it (docs/signing.md)`,
      });
    }
  }
  checks.unshift(
    usable.length === 0
      ? {
        name: "trust",
        status: "warn",
        detail:
          `${dir}: no usable trusted key (${store.keys.size} keys, ${store.revoked.size} revoked): no signed plugin can load`,
      }
      : {
        name: "trust",
        status: "ok",
        detail: `${dir}: ${usable.length} usable trusted key(s), ${store.revoked.size} revoked`,
      },
  );
  return checks;
}
