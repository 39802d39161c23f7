'use strict';
// debug-stub.cjs stands in for the debug package in the layer's bundle
// (build.sh aliases it): require-in-the-middle logs through debug, whose
// set-up (terminal colours, the DEBUG variable) costs ~30 ms of cold start
// for lines nobody reads in Lambda.
module.exports = function debug() {
  const log = () => {};
  log.enabled = false;
  return log;
};
