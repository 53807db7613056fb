// drizzle-kit configuration: `npx drizzle-kit generate` writes SQL migrations
// for host/store/schema/ into host/store/migrations/ (committed). Then run
// `node scripts/run-ts.mjs scripts/gen-store-schemas.ts` to embed them in
// host/store/migrations.ts, which the host applies at open.
import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "sqlite",
  schema: "./host/store/schema/index.ts",
  out: "./host/store/migrations",
});
