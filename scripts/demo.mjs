#!/usr/bin/env node
// `npm run demo`: the collector on embedded PGlite plus two agents on generated sample rings.
// The collector and the agent daemon are not built yet (issues #4 to #6); until they are, say
// so plainly rather than pretend.
console.error(
  "pcapfleet demo: not available yet. The collector and agent daemons land with issues #4-#6;\n" +
    "today the repository holds the foundation (see README.md, Status). Run `npm test` to exercise it.",
);
process.exit(1);
