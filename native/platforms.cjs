"use strict";
// The platforms with a prebuilt addon: one optional package each, @wenxin/native-<name>, whose
// package.json carries the same os/cpu/libc so that npm installs only the one that fits.
// Read by the loader (index.cjs), the install step (scripts/install.cjs) and the prebuild (scripts/prebuild.mjs).

/**
 * The oldest glibc the Linux binaries load on: 2.28 (Debian 10, Ubuntu 20.04 has 2.31, RHEL 8). Their
 * GLIBC_ symbol versions stay at or below it; they need no GLIBCXX_/CXXABI_ (libc++ is linked statically),
 * and would need at most gcc 8's libstdc++ if they did.
 */
const GLIBC_FLOOR = "2.28";
const GLIBCXX_FLOOR = "3.4.25";
const CXXABI_FLOOR = "1.3.11";

/**
 * name: the package suffix; os/cpu: Node's process.platform/arch; libc: "glibc" for Linux;
 * zigArch: the architecture for `zig c++ -target <zigArch>-linux-gnu.<GLIBC_FLOOR>` (Linux, built by
 * scripts/prebuild.mjs); the others are built natively on their OS (README "Prebuilt binaries").
 */
const PLATFORMS = [
  { name: "linux-x64-gnu", os: "linux", cpu: "x64", libc: "glibc", zigArch: "x86_64" },
  { name: "linux-arm64-gnu", os: "linux", cpu: "arm64", libc: "glibc", zigArch: "aarch64" },
  { name: "darwin-arm64", os: "darwin", cpu: "arm64" },
  { name: "darwin-x64", os: "darwin", cpu: "x64" },
  { name: "win32-x64", os: "win32", cpu: "x64" },
];

const BINARY_NAME = "wenxin_native.node";

function packageName(platform) {
  return `@wenxin/native-${platform.name}`;
}

/** The glibc version this process runs on ("2.36"), or undefined off Linux or on musl. */
function glibcVersion() {
  if (process.platform !== "linux") return undefined;
  const report = process.report;
  const excludeNetwork = report.excludeNetwork;
  report.excludeNetwork = true; // the report would otherwise resolve every socket's peer name
  try {
    return report.getReport().header.glibcVersionRuntime;
  } finally {
    report.excludeNetwork = excludeNetwork;
  }
}

/** What this process runs on, as the platform table names it: { os, cpu, libc }. */
function currentHost() {
  const libc = process.platform === "linux" ? (glibcVersion() ? "glibc" : "musl") : undefined;
  return { os: process.platform, cpu: process.arch, libc };
}

/** The table entry for this host, or undefined when no prebuilt binary is published for it. */
function hostPlatform(host = currentHost()) {
  return PLATFORMS.find((p) => p.os === host.os && p.cpu === host.cpu && p.libc === host.libc);
}

/** "linux-x64 (glibc 2.36)", for messages. */
function describeHost(host = currentHost()) {
  if (host.libc === "glibc") return `${host.os}-${host.cpu} (glibc ${glibcVersion()})`;
  return host.libc ? `${host.os}-${host.cpu} (${host.libc})` : `${host.os}-${host.cpu}`;
}

module.exports = {
  GLIBC_FLOOR,
  GLIBCXX_FLOOR,
  CXXABI_FLOOR,
  PLATFORMS,
  BINARY_NAME,
  packageName,
  glibcVersion,
  currentHost,
  hostPlatform,
  describeHost,
};
