/**
 * `host run --server URL`: the same generated CLI against a running server.
 * The capability's schema comes from `GET /v1/plugins/{id}`; the call is
 * `POST /v1/plugins/{id}/capabilities/{name}`, or with `--follow` an async
 * run (`?async=true`) whose `GET /v1/runs/{id}/stream` is printed as it
 * comes and ends with the output.
 * @module
 */
import { ExitCode, exitCodeFor, HostError, isErrorCode } from "../errors.ts";
import { print } from "./call.ts";
import type { CliIo } from "./command.ts";
import { followLine } from "./run-follow.ts";
import { capabilityHelp, inputFromFlags } from "./schema-flags.ts";

/** What `host run --server` was asked. */
export interface RemoteRun {
  server: string;
  token: string | undefined;
  plugin: string;
  capability: string;
  fields: string[];
  base: Record<string, unknown>;
  help: boolean;
  follow: boolean;
  json: boolean;
}

interface CapabilityInfo {
  name: string;
  description: string | null;
  input: Record<string, unknown> | null;
}

const noUsage = { fuel: 0, memoryPages: 0, durationMs: 0 };

/** Runs the call on the server; the exit code as for a local run. */
export async function runRemote(run: RemoteRun, io: CliIo): Promise<number> {
  const base = run.server.replace(/\/+$/, "");
  const headers: Record<string, string> = run.token ? { authorization: `Bearer ${run.token}` } : {};
  const id = encodeURIComponent(run.plugin);
  const detail = await request(`${base}/v1/plugins/${id}`, { headers });
  const caps = (detail as { capabilities?: CapabilityInfo[] }).capabilities ?? [];
  const cap = caps.find((c) => c.name === run.capability);
  if (cap === undefined) {
    throw new HostError(
      "not_found",
      `Plugin '${run.plugin}' has no capability '${run.capability}' (it has: ${
        caps.map((c) => c.name).join(", ") || "none"
      })`,
    );
  }
  if (run.help) {
    io.stdout(
      capabilityHelp(
        run.plugin,
        run.capability,
        cap.description ?? undefined,
        cap.input ?? undefined,
      ),
    );
    return ExitCode.ok;
  }
  const input = inputFromFlags(cap.input ?? undefined, run.fields, run.base);
  const url = `${base}/v1/plugins/${id}/capabilities/${encodeURIComponent(run.capability)}`;
  const init = {
    method: "POST",
    headers: { ...headers, "content-type": "application/json" },
    body: JSON.stringify(input),
  };
  if (!run.follow) {
    const res = await fetch(url, init).catch(unreachable(base));
    const runId = res.headers.get("x-run-id") ?? undefined;
    if (!res.ok) {
      return printProblem(await res.json().catch(() => ({})), res.status, runId, run.json, io);
    }
    const output = new Uint8Array(await res.arrayBuffer());
    return print(
      { ok: true, output, usage: noUsage, ...(runId ? { runId } : {}) },
      run.json,
      io,
      "run",
    );
  }
  const accepted = await request(`${url}?async=true`, init) as { runId: string };
  // A stream the server ends early (server.stream.end, e.g. this client was too slow)
  // is resumed after the cursor it names; a few times at most.
  let resumeAfter: string | null = null;
  for (let attempt = 0; attempt < 20; attempt++) {
    const stream = await fetch(`${base}/v1/runs/${encodeURIComponent(accepted.runId)}/stream`, {
      headers: {
        ...headers,
        accept: "text/event-stream",
        ...(resumeAfter !== null ? { "last-event-id": resumeAfter } : {}),
      },
    }).catch(unreachable(base));
    if (!stream.ok || stream.body === null) {
      return printProblem(
        await stream.json().catch(() => ({})),
        stream.status,
        accepted.runId,
        run.json,
        io,
      );
    }
    let ended: { reason?: unknown; cursor?: unknown; detail?: unknown } | undefined;
    for await (const message of sseMessages(stream.body)) {
      if (message.event === "server.stream.end") {
        ended = JSON.parse(message.data) as typeof ended;
        break;
      }
      if (message.event === "result") {
        const result = JSON.parse(message.data) as {
          ok: boolean;
          output?: unknown;
          error?: { class: string; message: string };
          usage?: typeof noUsage;
        };
        const usage = result.usage ?? noUsage;
        if (result.ok) {
          const output = new TextEncoder().encode(JSON.stringify(result.output));
          return print({ ok: true, output, usage, runId: accepted.runId }, run.json, io, "run");
        }
        const error = result.error ?? { class: "host_error", message: "no result" };
        const cls = isErrorCode(error.class) ? error.class : "host_error";
        return print(
          {
            ok: false,
            error: { class: cls, message: error.message },
            usage,
            runId: accepted.runId,
          },
          run.json,
          io,
          "run",
        );
      }
      const line = followLine({ ...JSON.parse(message.data), type: message.event });
      if (line !== undefined) io.stderr(line);
    }
    if (ended?.reason !== "slow_client") {
      if (ended === undefined) break;
      throw new HostError(
        "network_error",
        `The server ended the stream of run ${accepted.runId}: ${String(ended.detail)}`,
      );
    }
    resumeAfter = typeof ended.cursor === "string" ? ended.cursor : resumeAfter;
  }
  throw new HostError(
    "network_error",
    `The stream of run ${accepted.runId} ended without its output`,
  );
}

/** GET/POST returning JSON, or a HostError from the problem+json answer. */
async function request(url: string, init: RequestInit): Promise<unknown> {
  const res = await fetch(url, init).catch(unreachable(new URL(url).origin));
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw problemError(body, res.status);
  return body;
}

function problemError(body: unknown, status: number): HostError {
  const p = body as { type?: string; detail?: string };
  const code = p.type?.split("/").pop() ?? "";
  return new HostError(
    isErrorCode(code) ? code : "host_error",
    p.detail ?? `The server answered ${status}`,
  );
}

function printProblem(
  body: unknown,
  status: number,
  runId: string | undefined,
  json: boolean,
  io: CliIo,
): number {
  const error = problemError(body, status);
  if (!json && runId === undefined) throw error;
  print(
    {
      ok: false,
      error: { class: error.code, message: error.message },
      usage: noUsage,
      ...(runId ? { runId } : {}),
    },
    json,
    io,
    "run",
  );
  return exitCodeFor(error.code);
}

function unreachable(base: string) {
  return (error: unknown): never => {
    throw new HostError(
      "network_error",
      `Cannot reach ${base}: ${error instanceof Error ? error.message : String(error)}`,
    );
  };
}

/** The messages of an SSE body: event name (default `message`) and data. */
export async function* sseMessages(
  body: ReadableStream<Uint8Array>,
): AsyncGenerator<{ event: string; data: string }> {
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = "message";
      const data: string[] = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length > 0) yield { event, data: data.join("\n") };
    }
  }
}
