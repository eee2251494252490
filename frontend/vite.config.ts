/// <reference types="vitest/config" />
import { defineConfig } from 'vite'
import react from '@vitejs/plugin-react'

export default defineConfig({
  plugins: [react()],
  // Served by the engine at `/`; relative asset paths keep it working under any prefix.
  base: './',
  build: { target: 'es2022', sourcemap: false, chunkSizeWarningLimit: 400 },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.{ts,tsx}'],
    // The machine is shared with Rust builds: one worker is enough for these tests.
    maxWorkers: 1,
  },
})
