/**
 * Which of PyTorch's CPU code paths the training benchmark's reference runs. Under `wenxin-bench --isa`
 * our kernels are forced to one instruction-set level; PyTorch is held to the same one through the
 * environment its three CPU back ends read at start: ATen's vectorised kernels (ATEN_CPU_CAPABILITY),
 * oneDNN (ONEDNN_MAX_CPU_ISA) and MKL's GEMMs (MKL_ENABLE_INSTRUCTIONS). The capability ATen took is
 * read back in the child (`torch.backends.cpu.get_cpu_capability()`) and reported, never assumed.
 */

const VARIABLES = ["ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "MKL_ENABLE_INSTRUCTIONS"] as const;
type TorchCaps = Record<(typeof VARIABLES)[number], string>;

/** Our kernel path → the environment that caps PyTorch at the same level (undefined: its own choice). */
export const TORCH_ENV_FOR_ISA: Record<string, TorchCaps | undefined> = {
  generic: { ATEN_CPU_CAPABILITY: "default", ONEDNN_MAX_CPU_ISA: "SSE41", MKL_ENABLE_INSTRUCTIONS: "SSE4_2" },
  avx2: { ATEN_CPU_CAPABILITY: "avx2", ONEDNN_MAX_CPU_ISA: "AVX2", MKL_ENABLE_INSTRUCTIONS: "AVX2" },
  avxvnni: { ATEN_CPU_CAPABILITY: "avx2", ONEDNN_MAX_CPU_ISA: "AVX2_VNNI", MKL_ENABLE_INSTRUCTIONS: "AVX2" },
  avx512: { ATEN_CPU_CAPABILITY: "avx512", ONEDNN_MAX_CPU_ISA: "AVX512_CORE_BF16", MKL_ENABLE_INSTRUCTIONS: "AVX512" },
  amx: undefined, // oneDNN's AMX products where the CPU has them
};

/** Sets (or, for a path PyTorch picks itself, clears) the variables in `env`, which the children inherit. */
export function restrictTorchIsa(env: NodeJS.ProcessEnv, isa: string): void {
  const caps = TORCH_ENV_FOR_ISA[isa];
  for (const name of VARIABLES) {
    if (caps) env[name] = caps[name];
    else delete env[name];
  }
}
