/**
 * The wenxin.js native addon (Node-API), as loaded by index.cjs. Its typed face is @wenxin/engine
 * (NativeAddon in packages/engine/src/native/addon_types.ts); this package only finds and loads the binary.
 */
declare const addon: { readonly [binding: string]: unknown };
export = addon;
