/**
 * Secrets in the environment are scoped one to one: no plugin id can name
 * another plugin's variables, neither through a scope that two ids share
 * (`acme-billing` vs `acme.billing` vs `acme_billing`) nor through a secret
 * name that spells a scoped variable (`ACME_BILLING__STRIPE_KEY`).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { envSafeName, envSecrets, secretScope } from "../../host/capabilities/secrets.ts";

const env = {
  PLUGHOST_SECRET_ACME_BILLING__STRIPE_KEY: "sk_live_victim",
  PLUGHOST_SECRET_SHARED_TOKEN: "shared",
};

describe("secret scopes", () => {
  it("keeps the readable form for ids of words and dots", () => {
    expect(secretScope("example.db")).toBe("EXAMPLE_DB");
    expect(secretScope("acme.billing")).toBe("ACME_BILLING");
  });

  it("gives every id its own scope (property: distinct ids, distinct scopes)", () => {
    const segment = fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,6}$/);
    const id = fc.array(segment, { minLength: 1, maxLength: 4 }).map((s) => s.join("."));
    fc.assert(
      fc.property(id, id, (a, b) => a === b || secretScope(a) !== secretScope(b)),
      { numRuns: 5000 },
    );
    expect(new Set(["acme-billing", "acme_billing", "acme.billing"].map(secretScope)).size).toBe(3);
  });

  it("another plugin cannot read acme.billing's variable, by a look-alike id or a spelled name", () => {
    const secrets = envSecrets(undefined, env);
    expect(secrets.get("STRIPE_KEY", "acme.billing")).toBe("sk_live_victim");
    expect(secrets.get("STRIPE_KEY", "acme-billing")).toBeUndefined();
    expect(secrets.get("STRIPE_KEY", "acme_billing")).toBeUndefined();
    expect(secrets.get("ACME_BILLING__STRIPE_KEY", "evil.plugin")).toBeUndefined();
    expect(secrets.get("SHARED_TOKEN", "evil.plugin")).toBe("shared");
    expect(envSafeName("ACME_BILLING__STRIPE_KEY")).toBe(false);
    expect(envSafeName("_X")).toBe(false);
    expect(envSafeName("API_TOKEN")).toBe(true);
  });
});
