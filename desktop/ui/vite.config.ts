import { defineConfig } from "vitest/config";

// The app loads its UI from Tauri's asset protocol: relative paths, no dev server in production.
export default defineConfig({
  base: "./",
  esbuild: { jsx: "automatic" },
  build: { outDir: "dist", emptyOutDir: true, target: "es2022" },
  test: { environment: "node", globals: true },
});
