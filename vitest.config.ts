import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["host/**/*.test.ts", "test/**/*.test.ts"],
    exclude: ["test/deno/**", "node_modules/**"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});
