// What every public package must carry to be published, read from the package.json files themselves.
// The tarballs are checked by test/install/check_tarballs.mjs (`npm publish --dry-run` included).
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { describe, expect, it } from "vitest";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const { PLATFORMS, packageName } = createRequire(import.meta.url)(path.join(root, "native/platforms.cjs")) as {
  PLATFORMS: { name: string; os: string; cpu: string; libc?: string }[];
  packageName(p: { name: string }): string;
};

interface Manifest {
  name: string;
  private?: boolean;
  license?: string;
  repository?: { type: string; url: string; directory: string };
  engines?: { node?: string };
  files?: string[];
  exports?: Record<string, string | Record<string, string>>;
  publishConfig?: { access?: string };
  os?: string[];
  cpu?: string[];
  libc?: string[];
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

/** Every workspace package (the globs of pnpm-workspace.yaml), with its folder relative to the root. */
function workspacePackages(): { dir: string; pkg: Manifest }[] {
  const globs = [...readFileSync(path.join(root, "pnpm-workspace.yaml"), "utf8").matchAll(/^ {2}- (\S+)$/gm)].map(
    (m) => m[1]!,
  );
  const dirs = globs.flatMap((g) =>
    g.endsWith("/*")
      ? readdirSync(path.join(root, g.slice(0, -2)), { withFileTypes: true })
          .filter((e) => e.isDirectory())
          .map((e) => `${g.slice(0, -2)}/${e.name}`)
      : [g],
  );
  return dirs
    .filter((dir) => existsSync(path.join(root, dir, "package.json")))
    .map((dir) => ({ dir, pkg: JSON.parse(readFileSync(path.join(root, dir, "package.json"), "utf8")) as Manifest }));
}

const all = workspacePackages();
const published = all.filter((p) => !p.pkg.private);
const privateNames = new Set(all.filter((p) => p.pkg.private).map((p) => p.pkg.name));

describe("publishable packages", () => {
  it("are the libraries, the CLI, the addon and its platform packages", () => {
    expect(published.map((p) => p.pkg.name).sort()).toEqual(
      [
        "@wenxin/ai-sdk",
        "@wenxin/cli",
        "@wenxin/engine",
        "@wenxin/langchain",
        "@wenxin/native",
        "@wenxin/server",
        "@wenxin/transformers",
        ...PLATFORMS.map(packageName),
      ].sort(),
    );
  });

  it("the repository is licensed Apache-2.0 (the ERNIE 4.5 weights' license); pnpm pack adds LICENSE to each", () => {
    const license = readFileSync(path.join(root, "LICENSE"), "utf8");
    expect(createHash("md5").update(license).digest("hex")).toBe("3b83ef96387f14655fc854ddc3c6bd57");
  });

  it.each(published)("$pkg.name has license, repository, engines, files and public access", ({ dir, pkg }) => {
    expect(pkg.license).toBe("Apache-2.0");
    expect(pkg.repository).toEqual({
      type: "git",
      url: expect.stringMatching(/^git\+https:\/\/.+\.git$/),
      directory: dir,
    });
    expect(pkg.engines?.node).toBe(">=20");
    expect(pkg.files?.length).toBeGreaterThan(0);
    expect(pkg.publishConfig?.access).toBe("public");
    expect(pkg.exports?.["./package.json"]).toBe("./package.json");
  });

  it.each(published.filter((p) => typeof p.pkg.exports?.["."] === "object"))(
    "$pkg.name exports types beside its entry point, both shipped",
    ({ pkg }) => {
      for (const [subpath, target] of Object.entries(pkg.exports!)) {
        if (typeof target === "string") continue;
        expect(Object.keys(target)[0], `${subpath}: "types" must come first`).toBe("types");
        expect(target.types).toMatch(/\.d\.c?ts$/);
        for (const file of Object.values(target))
          expect(pkg.files!.some((f) => file.replace(/^\.\//, "").startsWith(f))).toBe(true);
      }
    },
  );

  it.each(published)("$pkg.name depends on no private package", ({ pkg }) => {
    const deps = { ...pkg.dependencies, ...pkg.optionalDependencies, ...pkg.peerDependencies };
    expect(Object.keys(deps).filter((name) => privateNames.has(name))).toEqual([]);
  });
});

describe("prebuilt platform packages", () => {
  const native = all.find((p) => p.pkg.name === "@wenxin/native")!.pkg;

  it("are every platform of native/platforms.cjs, each an optional dependency of @wenxin/native", () => {
    expect(Object.keys(native.optionalDependencies ?? {}).sort()).toEqual(PLATFORMS.map(packageName).sort());
  });

  it.each(PLATFORMS)("@wenxin/native-$name installs only on $os-$cpu and ships the binary alone", (platform) => {
    const entry = all.find((p) => p.pkg.name === packageName(platform));
    expect(entry?.dir).toBe(`native/npm/${platform.name}`);
    const pkg = entry!.pkg;
    expect(pkg.os).toEqual([platform.os]);
    expect(pkg.cpu).toEqual([platform.cpu]);
    expect(pkg.libc).toEqual(platform.libc ? [platform.libc] : undefined);
    expect(pkg.files).toEqual(["wenxin_native.node"]);
    expect(pkg.exports?.["./wenxin_native.node"]).toBe("./wenxin_native.node");
  });

  it("@wenxin/engine loads @wenxin/native lazily, as an optional dependency", () => {
    const engine = all.find((p) => p.pkg.name === "@wenxin/engine")!.pkg;
    expect(engine.dependencies?.["@wenxin/native"]).toBeUndefined();
    expect(engine.optionalDependencies?.["@wenxin/native"]).toBe("workspace:*");
  });
});
