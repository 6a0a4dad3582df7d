// Fails loudly when npm scripts run under a Node.js older than the minimum: that happens when
// the `node` devDependency's install script was skipped, and the tools here (wrangler, vitest,
// undici) need it. The minimum is the lowest version package.json's `engines.node` allows, and
// test/contract/engines.test.ts keeps the two, the README and every installed package in step.
const MINIMUM = [22, 19]

const [major, minor] = process.versions.node.split('.').map(Number)
if (major < MINIMUM[0] || (major === MINIMUM[0] && minor < MINIMUM[1])) {
  console.error(
    `cco: these scripts need Node.js ${MINIMUM.join('.')} or newer, but ${process.execPath} is ${process.version}.\n` +
      'The Node 22 binary comes from the "node" devDependency: run `npm ci` (without --ignore-scripts)\n' +
      'and start tools through `npm run …` or `npx …`, which put node_modules/.bin first on PATH.',
  )
  process.exit(1)
}
