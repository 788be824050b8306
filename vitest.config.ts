import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

export default defineConfig({
  resolve: {
    // Examples import the package by name, as a consumer would.
    alias: [
      {
        find: /^platform-kernel\/testing$/,
        replacement: fileURLToPath(new URL("./src/Database/Testing.ts", import.meta.url))
      },
      { find: /^platform-kernel$/, replacement: fileURLToPath(new URL("./src/index.ts", import.meta.url)) }
    ]
  },
  test: {
    include: ["test/**/*.test.ts", "examples/**/*.test.ts"],
    // Type-only assertions (expectTypeOf, @ts-expect-error) live in *.test-d.ts files, checked by tsc.
    typecheck: { enabled: true, include: ["test/**/*.test-d.ts"] },
    globalSetup: ["test/support/globalSetup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000
  }
})
