// WENXIN_ISA naming a kernel path this build or CPU cannot run is a typed error from Engine.load
// (and from systemInfo), never a silent fallback to another path. The variable is read when an
// engine is created, so the test sets it around each load.
import { afterEach, describe, expect, it } from "vitest";

import { Engine, systemInfo, WenxinError } from "../../src/index.js";
import { DENSE_DIR } from "../../../../test/helpers/fixtures.js";

const KNOWN_X86 = ["generic", "avx2", "avxvnni", "avx512", "amx"];
const KNOWN_ARM64 = ["generic", "neon", "dotprod", "i8mm"];
const saved = process.env.WENXIN_ISA;
afterEach(() => {
  if (saved === undefined) delete process.env.WENXIN_ISA;
  else process.env.WENXIN_ISA = saved;
});

async function loadWith(isa: string): Promise<unknown> {
  process.env.WENXIN_ISA = isa;
  return Engine.load(DENSE_DIR, { threads: 1 }).then(
    (e) => {
      void e.close();
      return undefined;
    },
    (e: unknown) => e,
  );
}

describe("WENXIN_ISA", () => {
  const supported = systemInfo().kernels.supported;

  it("an unknown path name is ERR_WENXIN_UNSUPPORTED_ISA, listing the known paths and what this CPU runs", async () => {
    const err = await loadWith("avx9000");
    expect(err).toBeInstanceOf(WenxinError);
    expect((err as WenxinError).code).toBe("ERR_WENXIN_UNSUPPORTED_ISA");
    expect((err as WenxinError).message).toContain("WENXIN_ISA=avx9000");
    expect((err as WenxinError).message).toContain(`this CPU runs: ${supported.join(", ")}`);
    expect(() => systemInfo()).toThrow(expect.objectContaining({ code: "ERR_WENXIN_UNSUPPORTED_ISA" }));
  });

  // Every path of this architecture either runs here or is refused: no case depends on the CPU to exist.
  const known = process.arch === "arm64" ? KNOWN_ARM64 : KNOWN_X86;
  it(`each known path (${known.join(", ")}) loads where this CPU runs it and is refused, naming why, where not`, async () => {
    for (const isa of known) {
      const err = await loadWith(isa);
      if (supported.includes(isa)) {
        expect(err).toBeUndefined();
        expect(systemInfo().kernels.supported).toEqual(supported);
        continue;
      }
      expect((err as WenxinError).code).toBe("ERR_WENXIN_UNSUPPORTED_ISA");
      expect((err as WenxinError).message).toContain(`cannot run the ${isa} kernel path`);
      expect((err as WenxinError).message).toContain("CPU features:");
    }
  });
});
