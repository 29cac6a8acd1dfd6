/**
 * The URL of a module next to another, with the other's own extension: `.ts` when the library
 * runs from its sources, `.js` when it runs built (`npm run build`: Node strips no types under
 * node_modules). For module URLs given as strings, which the build does not rewrite as it does
 * import specifiers (a worker's entry, the CLI's task table).
 * @internal
 */
export const siblingModule = (base: string, name: string): URL =>
  new URL(`./${name}${base.endsWith(".ts") ? ".ts" : ".js"}`, base)
