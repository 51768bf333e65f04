import { createRequire } from "node:module";

import { WenxinError } from "../errors.js";
import type { NativeAddon } from "./addon_types.js";

let addon: NativeAddon | undefined;

/**
 * Loads the native addon on first use (@wenxin/native: WENXIN_NATIVE_PATH, a build from source, or the
 * platform's prebuilt package). Only local models call this: @wenxin/native is an optional dependency,
 * and the chat format, output parser, tokenizer and remote mode work without it.
 */
export function nativeAddon(): NativeAddon {
  if (addon) return addon;
  const require = createRequire(import.meta.url);
  try {
    addon = require("@wenxin/native") as NativeAddon;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    // Not installed at all (e.g. --omit=optional), or installed but no binary loads (the loader says why).
    const notInstalled = e.code === "MODULE_NOT_FOUND" && e.message.includes("'@wenxin/native'");
    const reason = notInstalled
      ? "@wenxin/native is not installed (it is an optional dependency of @wenxin/engine): `npm install @wenxin/native`"
      : e.message;
    throw new WenxinError(
      "ERR_WENXIN_NATIVE_UNAVAILABLE",
      `a local model needs the native engine, which is unavailable: ${reason}`,
      { subject: "@wenxin/native" },
      { cause: err },
    );
  }
  return addon;
}
