// Fails loudly when npm scripts run under a Node.js older than 22: that happens when the
// `node` devDependency's install script was skipped, and every tool here needs Node 22.
const major = Number(process.versions.node.split('.')[0])
if (major < 22) {
  console.error(
    `cco: these scripts need Node.js 22 or newer, but ${process.execPath} is ${process.version}.\n` +
      'The Node 22 binary comes from the "node" devDependency: run `npm ci` (without --ignore-scripts)\n' +
      'and start tools through `npm run …` or `npx …`, which put node_modules/.bin first on PATH.',
  )
  process.exit(1)
}
