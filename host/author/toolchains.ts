/**
 * Finding the compilers `host build` needs: clang + wasm-ld for C, a rustc
 * whose sysroot has the wasm32-unknown-unknown target for Rust. Tests use the
 * same functions to skip, by name, where a toolchain is missing.
 * @module
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";

type Env = Readonly<Record<string, string | undefined>>;

/** The first `name` on PATH, or undefined. */
export function onPath(name: string, env: Env): string | undefined {
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    if (dir !== "" && existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/** Runs a program; resolves with its exit status and output (never rejects for a non-zero exit). */
export function run(
  file: string,
  args: string[],
  options: { cwd?: string; env: Env },
): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, {
      cwd: options.cwd,
      env: options.env as Record<string, string>,
      maxBuffer: 16 * 1024 * 1024,
    }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : 127) : 0;
      resolve({
        status: code,
        stdout: String(stdout),
        stderr: String(stderr || error?.message || ""),
      });
    });
  });
}

/** clang and wasm-ld for wasm32, or why they cannot be used. */
export function findClang(env: Env): { clang: string } | { missing: string } {
  const clang = onPath("clang", env);
  if (clang === undefined) {
    return { missing: "clang is not on PATH (Debian: apt-get install -y clang lld)" };
  }
  if (onPath("wasm-ld", env) === undefined) {
    return { missing: "wasm-ld is not on PATH (Debian: apt-get install -y lld)" };
  }
  return { clang };
}

/**
 * A rustc that can build wasm32-unknown-unknown: $PLUGHOST_RUSTC, then `rustc`
 * on PATH, then /usr/bin/rustc (Debian's, with libstd-rust-dev-wasm32), each
 * checked for the target in its sysroot.
 */
export async function findRustc(env: Env): Promise<{ rustc: string } | { missing: string }> {
  const candidates = [env.PLUGHOST_RUSTC, onPath("rustc", env), "/usr/bin/rustc"]
    .filter((c): c is string => c !== undefined && c !== "" && existsSync(c));
  const tried: string[] = [];
  for (const rustc of [...new Set(candidates)]) {
    const { status, stdout } = await run(rustc, ["--print", "sysroot"], { env });
    const sysroot = stdout.trim();
    if (status === 0 && existsSync(join(sysroot, "lib", "rustlib", "wasm32-unknown-unknown"))) {
      return { rustc };
    }
    tried.push(rustc);
  }
  return {
    missing: `no rustc with the wasm32-unknown-unknown target (${
      tried.length === 0 ? "no rustc found" : `tried ${tried.join(", ")}`
    }); Debian: apt-get install -y rustc libstd-rust-dev-wasm32, or rustup target add wasm32-unknown-unknown, or set PLUGHOST_RUSTC`,
  };
}
