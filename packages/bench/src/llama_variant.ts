/**
 * Which of node-llama-cpp's CPU builds llama.cpp runs. node-llama-cpp ships one libggml-cpu-<variant>.so
 * per x86 level in @node-llama-cpp/linux-x64 and ggml loads the best one the CPU supports; to compare
 * like with like under `wenxin-bench --isa`, a measurement child gets a scratch copy of that package
 * whose bins hold only the matching variant, and imports it in place of the original. The variant that
 * actually loaded is read back from the process's mappings, never assumed.
 */
import { cpSync, existsSync, readFileSync } from "node:fs";
import { createRequire, register } from "node:module";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";

/** Our kernel path → node-llama-cpp's CPU variant of the same instruction set (undefined: its own choice). */
export const LLAMA_VARIANT_FOR_ISA: Record<string, string | undefined> = {
  generic: "x64",
  avx2: "haswell",
  avxvnni: "alderlake",
  avx512: "icelake",
  amx: undefined, // sapphirerapids where the CPU has AMX: ggml's AMX products come with it
};

/** Set in the measurement children's environment by the parent: the variant to restrict llama.cpp to. */
export const LLAMA_VARIANT_ENV = "WENXIN_BENCH_LLAMA_VARIANT";

const PACKAGE = "@node-llama-cpp/linux-x64";

/**
 * When LLAMA_VARIANT_ENV is set: makes the scratch package (once per variant and version) and redirects
 * node-llama-cpp's import of its binaries to it. Call before importing node-llama-cpp.
 */
export async function restrictLlamaVariant(): Promise<void> {
  const variant = process.env[LLAMA_VARIANT_ENV];
  if (!variant) return;
  if (process.platform !== "linux" || process.arch !== "x64")
    throw new Error(`--isa restricts llama.cpp only on linux-x64 (its CPU variants live in ${PACKAGE})`);
  const nodeLlama = createRequire(import.meta.url).resolve("node-llama-cpp");
  const entry = createRequire(nodeLlama).resolve(PACKAGE);
  const original = path.dirname(path.dirname(entry));
  const version = (JSON.parse(readFileSync(path.join(original, "package.json"), "utf8")) as { version: string })
    .version;
  const bins = path.join(original, "bins", "linux-x64");
  if (!existsSync(path.join(bins, `libggml-cpu-${variant}.so`)))
    throw new Error(`node-llama-cpp ${version} has no CPU variant '${variant}' (${bins})`);
  const scratch = path.join(os.tmpdir(), `wenxin-bench-llama-${version}-${variant}`);
  if (!existsSync(path.join(scratch, "bins", "linux-x64", `libggml-cpu-${variant}.so`))) {
    cpSync(original, scratch, {
      recursive: true,
      dereference: true,
      filter: (src) => {
        const base = path.basename(src);
        return !base.startsWith("libggml-cpu-") || base === `libggml-cpu-${variant}.so`;
      },
    });
  }
  const target = pathToFileURL(path.join(scratch, path.relative(original, entry))).href;
  const hook = `export async function resolve(specifier, context, next) {
    if (specifier === ${JSON.stringify(PACKAGE)}) return { url: ${JSON.stringify(target)}, shortCircuit: true };
    return next(specifier, context);
  }`;
  register(`data:text/javascript,${encodeURIComponent(hook)}`);
}

/** The libggml-cpu variant this process has loaded ("haswell", "zen4", ...), from /proc/self/maps. */
export function loadedLlamaVariant(): string {
  try {
    const maps = readFileSync("/proc/self/maps", "utf8");
    const found = new Set([...maps.matchAll(/libggml-cpu-([\w-]+)\.so/g)].map((m) => m[1]!));
    return [...found].join("+") || "unknown";
  } catch {
    return "unknown";
  }
}
