"use strict";
// Finds and loads the wenxin.js addon, first that loads wins:
//   1. WENXIN_NATIVE_PATH, when set (debug and sanitizer builds; nothing else is tried then);
//   2. a build of this package from source (the repository's `pnpm build`, or the install-time fallback);
//   3. the prebuilt binary of this platform's optional package, @wenxin/native-<platform>.
// When none loads, the error says what was tried, why each failed, and what would fix it.
const path = require("node:path");

const { BINARY_NAME, GLIBC_FLOOR, describeHost, hostPlatform, packageName } = require("./platforms.cjs");

/** The build directory of a from-source build (CMakeLists.txt via cmake-js). */
const SOURCE_BUILD = path.join(__dirname, "build", "Release", BINARY_NAME);

function candidates() {
  if (process.env.WENXIN_NATIVE_PATH) {
    return [{ label: "WENXIN_NATIVE_PATH", request: path.resolve(process.env.WENXIN_NATIVE_PATH) }];
  }
  const list = [{ label: "build from source", request: SOURCE_BUILD }];
  const platform = hostPlatform();
  if (platform) list.push({ label: "prebuilt", request: `${packageName(platform)}/${BINARY_NAME}` });
  return list;
}

function isNotFound(err) {
  return err.code === "MODULE_NOT_FOUND" && String(err.message).includes(BINARY_NAME);
}

function remedies(tried) {
  const platform = hostPlatform();
  const lines = [];
  if (process.env.WENXIN_NATIVE_PATH) {
    lines.push("- unset WENXIN_NATIVE_PATH, or point it at a built wenxin_native.node");
    return lines;
  }
  if (platform) {
    const prebuilt = tried.find((t) => t.label === "prebuilt");
    if (prebuilt && isNotFound(prebuilt.error)) {
      lines.push(
        `- install the prebuilt binary (an optional dependency: was it omitted, e.g. --omit=optional?):`,
        `    npm install ${packageName(platform)}`,
      );
    } else if (platform.libc === "glibc" && /GLIBC_|GLIBCXX_/.test(prebuilt?.error.message ?? "")) {
      lines.push(`- the prebuilt binary needs glibc >= ${GLIBC_FLOOR}: update the OS, or build from source`);
    }
  } else {
    lines.push(`- no prebuilt binary is published for ${describeHost()}: build from source`);
  }
  lines.push(
    "- build from source (needs cmake >= 3.18 and a C++20 compiler):",
    "    npm rebuild @wenxin/native --build-from-source",
    "- or use a remote server instead of a local model (ChatWenxin with baseUrl needs no addon)",
  );
  return lines;
}

function load() {
  const tried = [];
  for (const candidate of candidates()) {
    try {
      return require(candidate.request);
    } catch (error) {
      tried.push({ ...candidate, error });
    }
  }
  const reasons = tried.map(
    (t) => `  ${t.label} (${t.request}): ${isNotFound(t.error) ? "not found" : t.error.message}`,
  );
  const err = new Error(
    [
      `the wenxin.js native addon could not be loaded on ${describeHost()}. Tried:`,
      ...reasons,
      "Possible fixes:",
      ...remedies(tried),
    ].join("\n"),
  );
  err.code = "ERR_WENXIN_NATIVE_UNAVAILABLE";
  throw err;
}

module.exports = load();
