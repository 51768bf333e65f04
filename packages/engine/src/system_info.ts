import { readFileSync } from "node:fs";
import os from "node:os";

import { fromNativeError } from "./errors.js";
import { nativeAddon } from "./native/binding.js";

/** What the engine runs on: the CPU, and the kernel path it chose (WENXIN_ISA overrides it). */
export interface SystemInfo {
  cpu: string;
  logicalCores: number;
  cpuFlags: string[];
  kernels: { active: string; supported: string[] };
}

export function systemInfo(): SystemInfo {
  let flags: string[] = [];
  try {
    const line = readFileSync("/proc/cpuinfo", "utf8")
      .split("\n")
      .find((l) => l.startsWith("flags"));
    flags = (line?.split(":")[1] ?? "")
      .trim()
      .split(/\s+/)
      .filter((f) => /avx|fma|f16c|vnni|bf16|amx/.test(f));
  } catch {
    // not Linux: leave the flags empty
  }
  return {
    cpu: os.cpus()[0]?.model ?? "unknown",
    logicalCores: os.availableParallelism(),
    cpuFlags: flags,
    kernels: kernelInfo(),
  };
}

/** The kernel paths; throws ERR_WENXIN_UNSUPPORTED_ISA when WENXIN_ISA names one this CPU cannot run. */
function kernelInfo(): SystemInfo["kernels"] {
  try {
    return nativeAddon().kernelInfo();
  } catch (err) {
    throw fromNativeError(err);
  }
}

/** Streaming-read memory bandwidth in GB/s, for roofline figures. */
export function measureReadBandwidth(megabytes = 1024, threads = 1): number {
  return nativeAddon().measureReadBandwidth(megabytes, threads);
}
