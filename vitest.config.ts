import { defineConfig } from "vitest/config"

const major = Number(process.versions.node.split(".")[0])
if (major < 24) {
  throw new Error(
    `vitest is running on Node ${process.version}; this project needs the pinned Node 24 ` +
      '(devDependency "node"). Run the tests with `npm test` after a normal `npm ci`.'
  )
}

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000
  }
})
