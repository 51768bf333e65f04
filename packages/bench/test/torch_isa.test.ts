// `wenxin-bench --isa` holds PyTorch (--training's reference) to the same instruction-set level as our kernels
// and llama.cpp, through the environment its CPU back ends read.
import { describe, expect, it } from "vitest";

import { LLAMA_VARIANT_FOR_ISA } from "../src/llama_variant.js";
import { restrictTorchIsa, TORCH_ENV_FOR_ISA } from "../src/torch_isa.js";

describe("restrictTorchIsa", () => {
  it("caps ATen, oneDNN and MKL at the forced path's level", () => {
    const env: NodeJS.ProcessEnv = { PATH: "/usr/bin" };
    restrictTorchIsa(env, "avx2");
    expect(env).toEqual({
      PATH: "/usr/bin",
      ATEN_CPU_CAPABILITY: "avx2",
      ONEDNN_MAX_CPU_ISA: "AVX2",
      MKL_ENABLE_INSTRUCTIONS: "AVX2",
    });
    restrictTorchIsa(env, "generic");
    expect(env.ATEN_CPU_CAPABILITY).toBe("default");
    expect(env.MKL_ENABLE_INSTRUCTIONS).toBe("SSE4_2");
  });

  it("leaves PyTorch its own choice where ours is AMX, clearing an earlier cap", () => {
    const env: NodeJS.ProcessEnv = {};
    restrictTorchIsa(env, "avx512");
    expect(env.ONEDNN_MAX_CPU_ISA).toBe("AVX512_CORE_BF16");
    restrictTorchIsa(env, "amx");
    expect(env).toEqual({});
  });

  it("knows every path --isa accepts", () => {
    expect(Object.keys(TORCH_ENV_FOR_ISA).sort()).toEqual(Object.keys(LLAMA_VARIANT_FOR_ISA).sort());
  });
});
