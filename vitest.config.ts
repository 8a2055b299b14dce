import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // Functions log JSON lines; tests keep them quiet unless TEST_LOG_LEVEL says otherwise.
    env: {
      POWERTOOLS_LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "SILENT",
      // Metrics are log lines too (EMF): quiet unless asked (lib/core/metrics.ts's observers still see them).
      POWERTOOLS_METRICS_DISABLED: process.env.TEST_LOG_LEVEL ? "false" : "true",
    },
    projects: [
      { extends: true, test: { name: "unit", include: ["test/unit/**/*.test.ts"], environment: "node" } },
      {
        extends: true,
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          globalSetup: ["test/helpers/global-setup.ts"],
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
      {
        extends: true,
        test: {
          // Fault matrices, process crashes, the soak, fuzzing: `npm run test:reliability` runs them at
          // full size (SOAK_EVENTS=1000); `npm test` runs them sized for CI.
          name: "reliability",
          include: ["test/reliability/**/*.test.ts"],
          globalSetup: ["test/helpers/global-setup.ts"],
          testTimeout: 600_000,
          hookTimeout: 180_000,
        },
      },
      {
        extends: true,
        test: {
          // The status page in headless Chromium (a system one, else the one inside @sparticuz/chromium,
          // through playwright-core), over the real routes.
          name: "browser",
          include: ["test/browser/**/*.test.ts"],
          globalSetup: ["test/helpers/global-setup.ts"],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      // Real Redmine, RT and Kanboard (Debian packages, a source snapshot): `npm run test:real` only.
      ...(process.env.DESKBRIDGE_REAL
        ? [
            {
              extends: true as const,
              test: {
                name: "real",
                include: ["test/real/**/*.test.ts"],
                globalSetup: ["test/real/global-setup.ts"],
                testTimeout: 300_000,
                hookTimeout: 900_000,
              },
            },
          ]
        : []),
      {
        extends: true,
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          globalSetup: ["test/helpers/global-setup.ts"],
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
