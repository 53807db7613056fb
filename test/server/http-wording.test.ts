/** Errors the core words for a CLI user are reworded for HTTP clients: no flags, no commands. */
import { describe, expect, it } from "vitest";
import { pinConflict } from "../../host/core/install.ts";
import { HostError } from "../../host/errors.ts";
import { forHttp } from "../../host/server/http-wording.ts";

describe("HTTP wording of core errors", () => {
  it("a signer-pin conflict names both keys and the HTTP fix, never a CLI command or flag", () => {
    const core = pinConflict("example.hello", ["aaaa000011112222"], ["bbbb333344445555"]);
    expect(core.message).toContain("host plugins rekey");
    const http = forHttp(core) as HostError;
    expect(http).toBeInstanceOf(HostError);
    expect(http.code).toBe("conflict");
    expect(http.message).toContain("pinned to key(s) aaaa000011112222");
    expect(http.message).toContain("signed by key(s) bbbb333344445555");
    expect(http.message).toContain("?rekey=true");
    expect(http.message).not.toMatch(/host plugins|--[a-z]/);
  });
});
