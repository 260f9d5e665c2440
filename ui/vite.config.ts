import { defineConfig } from "vite";

// The build goes into the server binary (crates/server/build.rs embeds `dist/`), so
// everything must be local: no CDN, fonts or tiles from the internet.
export default defineConfig({
  base: "/",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    chunkSizeWarningLimit: 2048,
    reportCompressedSize: true,
  },
  server: {
    // `npm run dev` against a node on the default port.
    proxy: {
      "/api": { target: "http://127.0.0.1:8080", ws: true },
    },
  },
});
