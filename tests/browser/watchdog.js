// A hang anywhere in a browser test (a request the server never answers, a
// browser that never starts) fails it within two minutes, naming the step it
// was at, rather than holding up the whole CI run. `serverOf` gives the
// server process to kill, if any; set `progress.step` as the test goes.
"use strict";

function watchdog(serverOf, ms = 120000) {
  const progress = { step: "start" };
  setTimeout(() => {
    console.log(`FAIL timed out at: ${progress.step}`);
    const server = serverOf();
    if (server) server.kill("SIGKILL");
    process.exit(1);
  }, ms).unref();
  return progress;
}

module.exports = { watchdog };
