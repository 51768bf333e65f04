// The native layers hold by construction: every layer compiles against an include root that shows
// only itself and the layers below it (native/CMakeLists.txt, wenxin_layer), and the addon sees
// only the include/wenxin/ facade. The project is configured into a scratch folder (about a second;
// nothing is built), and each case compiles a one-line probe with the exact flags CMake gives a
// real source file of that layer: an allowed include compiles, an upward one fails as a missing file.
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import { afterAll, describe, expect, it } from "vitest";

const NATIVE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../native");
const run = promisify(execFile);

interface CompileCommand {
  directory: string;
  file: string;
  command: string;
}

const probes = mkdtempSync(path.join(os.tmpdir(), "wenxin-layering-"));
afterAll(() => rmSync(probes, { recursive: true, force: true }));

// CMAKE_JS_VERSION declares the addon target as cmake-js would (no Node headers: probes need none).
execFileSync(
  "cmake",
  ["-S", NATIVE, "-B", path.join(probes, "build"), "-DCMAKE_JS_VERSION=probe", "-DCMAKE_JS_INC=", "-DCMAKE_JS_LIB="],
  { stdio: "ignore" },
);
const commands = JSON.parse(readFileSync(path.join(probes, "build/compile_commands.json"), "utf8")) as CompileCommand[];

/** The compiler and flags of `source` (relative to native/), minus its input, output and dep-file arguments. */
function flagsOf(source: string): { directory: string; argv: string[] } {
  const c = commands.find((cmd) => cmd.file === path.join(NATIVE, source));
  if (!c) throw new Error(`${source} is not in compile_commands.json`);
  const words = c.command.match(/(?:[^\s"]+|"[^"]*")+/g)!.map((w) => w.replace(/"/g, ""));
  const argv: string[] = [];
  for (let i = 0; i < words.length; i++) {
    if (["-o", "-c", "-MT", "-MF"].includes(words[i]!)) i++;
    else if (words[i] !== "-MD") argv.push(words[i]!);
  }
  return { directory: c.directory, argv };
}

/** Compiles `#include "<header>"` as `source` would be compiled; resolves to the compiler's stderr. */
async function compileProbe(source: string, header: string): Promise<{ ok: boolean; stderr: string }> {
  const { directory, argv } = flagsOf(source);
  const probe = path.join(probes, `${header.replace(/\W/g, "_")}_${path.basename(source)}`);
  writeFileSync(probe, `#include "${header}"\n`);
  try {
    await run(argv[0]!, [...argv.slice(1), "-fsyntax-only", probe], { cwd: directory });
    return { ok: true, stderr: "" };
  } catch (err) {
    return { ok: false, stderr: (err as { stderr: string }).stderr };
  }
}

// layer: a source file compiled as that layer, headers it may include, headers it may not.
const LAYERS: { layer: string; source: string; allowed: string[]; forbidden: string[] }[] = [
  {
    layer: "core",
    source: "src/core/json.cpp",
    allowed: ["core/dtype.h"],
    forbidden: ["kernels/ops.h", "formats/gguf.h", "kv_cache/kv_cache.h", "model/batch.h", "runtime/engine.h"],
  },
  {
    layer: "kernels",
    source: "src/kernels/generic/ops.cpp",
    allowed: ["kernels/ops.h"],
    forbidden: ["formats/gguf.h", "kv_cache/kv_cache.h", "model/batch.h", "runtime/engine.h"],
  },
  {
    layer: "formats",
    source: "src/formats/gguf.cpp",
    allowed: ["formats/ggml_blocks.h"],
    forbidden: ["kernels/ops.h", "kv_cache/kv_cache.h", "model/batch.h", "runtime/engine.h"],
  },
  {
    layer: "kv_cache",
    source: "src/kv_cache/block_pool.cpp",
    allowed: ["kv_cache/kv_layout.h"],
    forbidden: ["kernels/ops.h", "formats/gguf.h", "model/batch.h", "runtime/engine.h"],
  },
  {
    layer: "model",
    source: "src/model/ernie4_5/model.cpp",
    allowed: ["kernels/ops.h", "formats/ggml_blocks.h", "kv_cache/kv_layout.h"],
    forbidden: ["runtime/engine.h", "runtime/grammar/grammar.h", "addon/convert.h"],
  },
  {
    layer: "grammar",
    source: "src/runtime/grammar/grammar.cpp",
    allowed: ["runtime/grammar/grammar.h"],
    forbidden: ["runtime/engine.h", "runtime/sampler/sampler.h", "model/batch.h", "kernels/ops.h"],
  },
  {
    layer: "runtime",
    source: "src/runtime/engine.cpp",
    allowed: ["runtime/kv_budget.h", "runtime/grammar/grammar.h"],
    forbidden: ["addon/convert.h"],
  },
  {
    layer: "addon",
    source: "src/addon/engine_wrap.cpp",
    allowed: ["wenxin/status.h"],
    forbidden: ["core/tensor.h", "kernels/kernels.h", "formats/gguf.h", "model/batch.h", "runtime/engine.h"],
  },
];

describe("native layering", () => {
  for (const { layer, source, allowed, forbidden } of LAYERS) {
    it(`${layer} may include ${allowed.join(", ")} and nothing above it`, async () => {
      const [ok, refused] = await Promise.all([
        Promise.all(allowed.map((h) => compileProbe(source, h))),
        Promise.all(forbidden.map((h) => compileProbe(source, h))),
      ]);
      ok.forEach((r, i) => expect(r, allowed[i]).toEqual({ ok: true, stderr: "" }));
      refused.forEach((r, i) => {
        expect(r.ok, `${layer} must not include ${forbidden[i]}`).toBe(false);
        expect(r.stderr).toMatch(/No such file or directory|file not found/);
      });
    });
  }

  it("no source reaches another layer by a relative path", () => {
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const p = path.join(dir, name);
        if (statSync(p).isDirectory()) walk(p);
        else if (/\.(h|cpp|inc)$/.test(name) && /#include\s+"\.\.?\//.test(readFileSync(p, "utf8")))
          offenders.push(path.relative(NATIVE, p));
      }
    };
    walk(path.join(NATIVE, "src"));
    walk(path.join(NATIVE, "include"));
    expect(offenders).toEqual([]);
  });
});
