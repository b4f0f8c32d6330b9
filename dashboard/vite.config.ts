import { defineConfig } from "vite";

// `npm run dev` style work: the dev server forwards the API (and its WebSocket) to a local
// collector, so the page talks to the same origin it will be served from in production.
const collector = `http://${process.env["PCAPFLEET_HTTP_LISTEN"] ?? "127.0.0.1:8080"}`;

/** Builds index.html and its modules into dist/, which the collector serves at `/`. */
export default defineConfig({
  root: import.meta.dirname,
  // The collector serves the dashboard at the site root and routes are hash-based, so the page
  // is always `/` and absolute asset URLs under /assets/ always resolve.
  base: "/",
  // esbuild transforms each module for `esnext` by default, which keeps TC39 decorators and
  // `accessor` fields as written; Rollup cannot parse those (vitejs/vite#18610) and no browser
  // runs them yet. A concrete target makes esbuild lower both.
  esbuild: { target: "es2023" },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: true,
  },
  server: {
    host: "127.0.0.1",
    proxy: { "/api": { target: collector, ws: true } },
  },
});
