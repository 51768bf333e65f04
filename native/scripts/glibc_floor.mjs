// The oldest Linux a binary loads on, read from what it asks of the dynamic loader: the GLIBC_, GLIBCXX_
// and CXXABI_ versions in its version-needs section (`readelf -V`). dlopen refuses a binary that needs a
// version the system's libc.so.6 / libstdc++.so.6 lacks, whatever the symbol.
//   node native/scripts/glibc_floor.mjs FILE...   prints each file's needs; exits 1 when one is above the floor
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const { GLIBC_FLOOR, GLIBCXX_FLOOR, CXXABI_FLOOR } = createRequire(import.meta.url)("../platforms.cjs");

/** The floor per versioned library; a binary built with a static libc++ (our prebuilds) needs no GLIBCXX_ at all. */
export const FLOORS = { GLIBC: GLIBC_FLOOR, GLIBCXX: GLIBCXX_FLOOR, CXXABI: CXXABI_FLOOR };

/** -1, 0 or 1, comparing dotted versions numerically ("2.3.4" < "2.28"). */
export function compareVersions(a, b) {
  const x = a.split(".").map(Number),
    y = b.split(".").map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

/** Every GLIBC_/GLIBCXX_/CXXABI_ version the ELF file needs, as { library: "GLIBC", version: "2.17" }. */
export function requiredVersions(file) {
  let out;
  try {
    out = execFileSync("readelf", ["--version-info", "--wide", file], { encoding: "utf8" });
  } catch (err) {
    throw new Error(`cannot read ${file} with readelf (binutils): ${err.message}`, { cause: err });
  }
  const needs = out.slice(out.indexOf(".gnu.version_r"));
  const found = new Map();
  for (const [, library, version] of needs.matchAll(/Name: (GLIBC|GLIBCXX|CXXABI)_([0-9][0-9.]*)\b/g))
    found.set(`${library}_${version}`, { library, version });
  return [...found.values()];
}

/** The highest version needed per library, and those above the floor. */
export function checkFloor(file, floors = FLOORS) {
  const needs = requiredVersions(file);
  const highest = {};
  for (const { library, version } of needs)
    if (!highest[library] || compareVersions(version, highest[library]) > 0) highest[library] = version;
  const above = needs.filter(({ library, version }) => compareVersions(version, floors[library]) > 0);
  return { highest, above };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const files = process.argv.slice(2);
  if (files.length === 0) {
    console.error("usage: node native/scripts/glibc_floor.mjs FILE...");
    process.exit(2);
  }
  let failed = false;
  for (const file of files) {
    const { highest, above } = checkFloor(file);
    const needs = Object.entries(highest).map(([lib, v]) => `${lib}_${v}`);
    console.log(`${file}: needs at most ${needs.join(", ") || "no versioned glibc symbol"}`);
    if (above.length > 0) {
      failed = true;
      const floors = Object.entries(FLOORS).map(([lib, v]) => `${lib}_${v}`);
      console.error(
        `  above the floor (${floors.join(", ")}): ${above.map((n) => `${n.library}_${n.version}`).join(", ")}`,
      );
    }
  }
  process.exitCode = failed ? 1 : 0;
}
