/**
 * `host plugins resume ID`: asks the server that runs the plugin to resume
 * it (POST /v1/plugins/{id}/resume). Suspension lives in a running host, so
 * the CLI cannot change it in the database alone.
 * @module
 */
import { z } from "zod";
import { HostError, isErrorCode, UsageError } from "../errors.ts";

const Answer = z.object({ lifecycle: z.object({ state: z.string() }).nullable() });
const Problem = z.object({ type: z.string().optional(), detail: z.string().optional() });

/** Resumes `pluginId` on `server`; throws the server's problem as a HostError. */
export async function resumeOnServer(
  server: string,
  pluginId: string,
  token: string | undefined,
): Promise<{ state: string }> {
  let url: URL;
  try {
    url = new URL(`/v1/plugins/${encodeURIComponent(pluginId)}/resume`, server);
  } catch {
    throw new UsageError(`--server takes a URL like http://127.0.0.1:8787, got '${server}'`);
  }
  let response: Response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
  } catch (error) {
    throw new HostError(
      "network_error",
      `Cannot reach the server at ${server}: ${error instanceof Error ? error.message : error}`,
    );
  }
  const body: unknown = await response.json().catch(() => null);
  if (!response.ok) {
    const problem = Problem.safeParse(body);
    const code = problem.success ? problem.data.type?.split("/").pop() ?? "" : "";
    throw new HostError(
      isErrorCode(code) ? code : "host_error",
      `The server refused to resume '${pluginId}' (HTTP ${response.status}): ${
        problem.success ? problem.data.detail ?? "" : ""
      }`,
    );
  }
  const answer = Answer.safeParse(body);
  return { state: answer.success ? answer.data.lifecycle?.state ?? "unknown" : "unknown" };
}
