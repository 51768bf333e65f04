import { createRequire } from "node:module";

import { WenxinError } from "../errors.js";
import type { NativeAddon } from "./addon_types.js";

let addon: NativeAddon | undefined;

/** Loads the compiled addon once (from @wenxin/native, or WENXIN_NATIVE_PATH). */
export function nativeAddon(): NativeAddon {
  if (addon) return addon;
  const require = createRequire(import.meta.url);
  try {
    addon = require("@wenxin/native") as NativeAddon;
  } catch (err) {
    throw new WenxinError(
      "ERR_WENXIN_INTERNAL",
      `the native engine is not built or cannot load (${(err as Error).message}); run \`pnpm build\``,
      {},
      { cause: err },
    );
  }
  return addon;
}
