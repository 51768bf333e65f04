"use strict";
// `prepack` of every @wenxin/native-<platform> package (run in its folder): refuses to pack without the
// binary, or with one built for another OS or CPU, so that no empty or mismatched prebuilt is published.
const fs = require("node:fs");
const path = require("node:path");

const { BINARY_NAME, PLATFORMS, packageName } = require("../platforms.cjs");

/** The OS and CPU a binary was built for, from its header (ELF, Mach-O or PE), as Node names them. */
function binaryTarget(bytes) {
  if (bytes.readUInt32BE(0) === 0x7f454c46) {
    const machine = bytes.readUInt16LE(18);
    return { os: "linux", cpu: { 62: "x64", 183: "arm64" }[machine] ?? `ELF machine ${machine}` };
  }
  if (bytes.readUInt32LE(0) === 0xfeedfacf) {
    const cputype = bytes.readUInt32LE(4);
    return { os: "darwin", cpu: { 0x01000007: "x64", 0x0100000c: "arm64" }[cputype] ?? `Mach-O cpu ${cputype}` };
  }
  if (bytes.toString("latin1", 0, 2) === "MZ") {
    const machine = bytes.readUInt16LE(bytes.readUInt32LE(0x3c) + 4);
    return { os: "win32", cpu: { 0x8664: "x64", 0xaa64: "arm64" }[machine] ?? `PE machine ${machine}` };
  }
  return { os: "unknown", cpu: "unknown" };
}

function main() {
  const { name } = JSON.parse(fs.readFileSync("package.json", "utf8"));
  const platform = PLATFORMS.find((p) => packageName(p) === name);
  if (!platform) throw new Error(`${name} is not in native/platforms.cjs`);
  const file = path.resolve(BINARY_NAME);
  if (!fs.existsSync(file))
    throw new Error(
      `${name}: ${file} is missing; build it first: pnpm --filter @wenxin/native build:prebuilt ${platform.name}`,
    );
  const built = binaryTarget(fs.readFileSync(file).subarray(0, 4096));
  if (built.os !== platform.os || built.cpu !== platform.cpu)
    throw new Error(
      `${name}: ${BINARY_NAME} is built for ${built.os}-${built.cpu}, not ${platform.os}-${platform.cpu}`,
    );
}

if (require.main === module) {
  try {
    main();
  } catch (err) {
    console.error(err.message);
    process.exitCode = 1;
  }
}

module.exports = { binaryTarget };
