// Checks the packed tarballs as the registry would receive them: `npm publish --dry-run` accepts each
// with no correction, and each carries its LICENSE, README, every file its exports, bin and main name,
// the sources its source maps point at, and no workspace: version left unresolved.
//   node test/install/check_tarballs.mjs DIR   (DIR holds the .tgz files of `pnpm pack`)
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";

const dir = path.resolve(process.argv[2] ?? ".");
const failures = [];

/** Every file under `root`, relative to it. */
function walk(root, sub = "") {
  return readdirSync(path.join(root, sub), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(root, path.join(sub, e.name)) : [path.join(sub, e.name)],
  );
}

/** The files an `exports` map points at (every condition, every subpath). */
function exportTargets(exports) {
  if (typeof exports === "string") return [exports];
  return Object.values(exports ?? {}).flatMap(exportTargets);
}

function checkTarball(tarball) {
  const problems = [];
  const unpacked = mkdtempSync(path.join(os.tmpdir(), "wenxin-tarball-"));
  try {
    execFileSync("tar", ["-xzf", tarball, "-C", unpacked]);
    const root = path.join(unpacked, "package");
    const files = new Set(walk(root));
    const pkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8"));
    for (const required of ["LICENSE", "README.md"]) if (!files.has(required)) problems.push(`no ${required}`);
    const named = [...exportTargets(pkg.exports), ...Object.values(pkg.bin ?? {}), pkg.main, pkg.types].filter(Boolean);
    for (const file of named) if (!files.has(path.normalize(file))) problems.push(`names ${file}, not shipped`);
    for (const field of ["dependencies", "optionalDependencies", "peerDependencies"])
      for (const [name, version] of Object.entries(pkg[field] ?? {}))
        if (String(version).startsWith("workspace:")) problems.push(`${field}.${name} is ${version}`);
    for (const map of [...files].filter((f) => f.endsWith(".map"))) {
      const { sources } = JSON.parse(readFileSync(path.join(root, map), "utf8"));
      for (const source of sources)
        if (!existsSync(path.resolve(root, path.dirname(map), source)))
          problems.push(`${map} points at ${source}, not shipped`);
    }
    // The registry's own validation; "auto-corrected" means the manifest as written was not valid.
    const publish = spawnSync("npm", ["publish", "--dry-run", tarball], { encoding: "utf8" });
    if (publish.status !== 0) problems.push(`npm publish --dry-run failed:\n${publish.stderr}`);
    else if (/auto-corrected|npm warn publish (?!This command requires you to be logged in)/.test(publish.stderr))
      problems.push(`npm publish --dry-run warned:\n${publish.stderr}`);
    console.log(`${pkg.name}: ${files.size} files${problems.length ? "" : ", publishable"}`);
  } finally {
    rmSync(unpacked, { recursive: true, force: true });
  }
  return problems;
}

const tarballs = readdirSync(dir).filter((f) => f.endsWith(".tgz"));
if (tarballs.length === 0) failures.push(`no tarball in ${dir}`);
for (const tarball of tarballs)
  for (const problem of checkTarball(path.join(dir, tarball))) failures.push(`${tarball}: ${problem}`);
if (failures.length > 0) {
  console.error(failures.join("\n"));
  process.exitCode = 1;
}
