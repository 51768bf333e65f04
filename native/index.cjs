// Locates the compiled addon. WENXIN_NATIVE_PATH overrides it (for debug builds and sanitizer runs).
const path = require("node:path");
module.exports = require(
  process.env.WENXIN_NATIVE_PATH || path.join(__dirname, "build", "Release", "wenxin_native.node"),
);
