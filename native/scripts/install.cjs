"use strict";
// The install step of @wenxin/native (`npm install`): nothing to do when the prebuilt binary of this
// platform loads; otherwise builds the addon from the shipped sources with cmake-js, or, when the
// toolchain is missing, says exactly what is missing and how to get it.
//   npm_config_build_from_source=true (npm install --build-from-source) or WENXIN_BUILD_FROM_SOURCE=1:
//     build from source even when a prebuilt binary fits.
//   WENXIN_SKIP_NATIVE_BUILD=1: never build; the loader then reports what is missing at run time.
const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

const { BINARY_NAME, describeHost, hostPlatform, packageName } = require("../platforms.cjs");

const packageDir = path.join(__dirname, "..");
const log = (line) => console.error(`@wenxin/native: ${line}`);

const truthy = (value) => value !== undefined && !["", "0", "false"].includes(value.toLowerCase());

function prebuiltLoads() {
  const platform = hostPlatform();
  if (!platform) return { ok: false, why: `no prebuilt binary is published for ${describeHost()}` };
  try {
    require(`${packageName(platform)}/${BINARY_NAME}`);
    return { ok: true };
  } catch (err) {
    return { ok: false, why: `${packageName(platform)} does not load: ${err.message.split("\n")[0]}` };
  }
}

/** The first of `names` found on PATH (with PATHEXT on Windows), or undefined. */
function onPath(names) {
  const dirs = (process.env.PATH ?? "").split(path.delimiter).filter(Boolean);
  const exts = process.platform === "win32" ? (process.env.PATHEXT ?? ".EXE;.CMD").split(";") : [""];
  for (const name of names)
    for (const dir of dirs)
      for (const ext of exts) {
        const file = path.join(dir, name + ext);
        try {
          fs.accessSync(file, fs.constants.X_OK);
          return file;
        } catch {
          // not here
        }
      }
  return undefined;
}

/** What a source build needs and this machine lacks, each with how to get it. */
function missingToolchain() {
  const missing = [];
  const cmake = onPath(["cmake"]);
  if (!cmake) missing.push("cmake >= 3.18 (https://cmake.org/download, `apt-get install cmake`, `brew install cmake`)");
  else {
    const version = /cmake version (\d+)\.(\d+)/.exec(spawnSync(cmake, ["--version"], { encoding: "utf8" }).stdout);
    if (!version || Number(version[1]) * 1000 + Number(version[2]) < 3018)
      missing.push(`cmake >= 3.18 (found ${version ? `${version[1]}.${version[2]}` : "an unreadable version"})`);
  }
  // On Windows CMake finds Visual Studio's compiler itself.
  if (process.platform !== "win32") {
    const compiler = process.env.CXX ? onPath([process.env.CXX]) : onPath(["c++", "g++", "clang++"]);
    if (!compiler)
      missing.push(
        process.platform === "darwin"
          ? "a C++20 compiler (`xcode-select --install`)"
          : "a C++20 compiler: g++ >= 10 or clang++ >= 14 (`apt-get install g++`, `dnf install gcc-c++`)",
      );
  }
  return missing;
}

function buildFromSource() {
  const missing = missingToolchain();
  if (missing.length > 0) {
    log(`cannot build the addon from source on ${describeHost()}: missing`);
    for (const m of missing) log(`  - ${m}`);
    log("install them and run `npm rebuild @wenxin/native`, or use a remote server (ChatWenxin with baseUrl).");
    return 1;
  }
  log(`building the addon from source (cmake-js, Release) into ${path.join(packageDir, "build")}`);
  const cmakeJs = require.resolve("cmake-js/bin/cmake-js");
  const args = ["compile", "--config", "Release", "--out", "build", "--CDWENXIN_ADDON_ONLY=ON"];
  const env = { ...process.env, CMAKE_BUILD_PARALLEL_LEVEL: String(os.availableParallelism()) };
  const result = spawnSync(process.execPath, [cmakeJs, ...args], { cwd: packageDir, stdio: "inherit", env });
  if (result.status !== 0) {
    log("the source build failed (its output is above)");
    return 1;
  }
  require(path.join(packageDir, "build", "Release", BINARY_NAME));
  log("built and loaded");
  return 0;
}

function main() {
  // In the repository the addon is built by `pnpm build`; this step is for installed copies.
  if (!packageDir.split(path.sep).includes("node_modules")) return 0;
  const forced = truthy(process.env.npm_config_build_from_source) || truthy(process.env.WENXIN_BUILD_FROM_SOURCE);
  if (!forced) {
    const prebuilt = prebuiltLoads();
    if (prebuilt.ok) return 0;
    log(prebuilt.why);
  }
  if (truthy(process.env.WENXIN_SKIP_NATIVE_BUILD)) {
    log("WENXIN_SKIP_NATIVE_BUILD is set: not building from source");
    return 0;
  }
  return buildFromSource();
}

process.exitCode = main();
