/**
 * The `plughost.signature` section: UTF-8 JSON
 * `{"signatures":[{"alg":"ed25519","keyId":"...","sig":"<base64>"}]}`.
 * @module
 */
import { z } from "zod";
import { fromBase64 } from "./base64.ts";
import { KeyIdSchema } from "./keys.ts";

/** One signature entry. Other algorithms parse, so a newer file reads, but never verify here. */
export const SignatureEntrySchema = z.strictObject({
  alg: z.string().min(1),
  keyId: KeyIdSchema,
  sig: z.string().refine((s) => fromBase64(s) !== undefined, { error: "must be canonical base64" }),
});
/** One signature entry. */
export type SignatureEntry = z.infer<typeof SignatureEntrySchema>;

/** The section's document. */
export const SignatureSectionSchema = z.strictObject({
  signatures: z.array(SignatureEntrySchema).min(1),
}).superRefine((doc, ctx) => {
  const seen = new Set<string>();
  doc.signatures.forEach((s, i) => {
    if (seen.has(s.keyId)) {
      ctx.addIssue({
        code: "custom",
        path: ["signatures", i, "keyId"],
        message: "repeats a key id",
      });
    }
    seen.add(s.keyId);
  });
});

/** Parses the section's bytes; returns the problem as a string when they are not valid. */
export function parseSignatureSection(data: Uint8Array): SignatureEntry[] | string {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(data));
  } catch {
    return "the plughost.signature section is not UTF-8 JSON";
  }
  const parsed = SignatureSectionSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.map(String).join(".") || "(root)";
    return `the plughost.signature section is invalid at ${where}: ${issue?.message}`;
  }
  return parsed.data.signatures;
}

/** Encodes signature entries as the section's bytes (compact JSON). */
export function encodeSignatureSection(signatures: readonly SignatureEntry[]): Uint8Array {
  const clean = signatures.map(({ alg, keyId, sig }) => ({ alg, keyId, sig }));
  return new TextEncoder().encode(JSON.stringify({ signatures: clean }));
}
