// Lint for every package, test and example. Layer rules: the engine imports no adapter, adapters import
// no other adapter, nothing imports the CLI (see CONTRIBUTING.md for the layers).
import js from "@eslint/js";
import globals from "globals";
import tseslint from "typescript-eslint";

const adapters = ["langchain", "transformers", "server", "ai-sdk"];
const forbid = (names) =>
  names.flatMap((name) => [
    { group: [`@wenxin/${name}`, `@wenxin/${name}/*`], message: `this layer must not import @wenxin/${name}` },
    { group: [`**/packages/${name}/**`], message: `this layer must not reach into packages/${name}` },
  ]);
const boundary = (files, names) => ({
  files,
  rules: { "no-restricted-imports": ["error", { patterns: forbid(names) }] },
});

export default tseslint.config(
  {
    ignores: [
      "**/dist/**",
      "**/build/**",
      "**/build-*/**",
      "**/node_modules/**",
      ".bench/**",
      "test/fixtures/**",
      // verbatim copies of transformers.js' docs snippets, run as written by their test
      "packages/transformers/test/snippets/docs/**",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
      "no-control-regex": "off",
    },
  },
  boundary(["packages/engine/**"], [...adapters, "cli", "bench"]),
  ...adapters.map((a) => boundary([`packages/${a}/src/**`], [...adapters.filter((b) => b !== a), "cli"])),
  boundary(["packages/bench/**"], [...adapters, "cli"]),
  boundary(["examples/**", "test/**"], ["cli"]),
  {
    // Tests poke at loosely typed payloads (HTTP bodies, GGUF metadata).
    files: ["**/test/**", "test/**"],
    rules: { "@typescript-eslint/no-explicit-any": "off" },
  },
  {
    // Python-shaped config classes: attributes declared through a merged interface.
    files: ["packages/transformers/src/**"],
    rules: { "@typescript-eslint/no-unsafe-declaration-merging": "off" },
  },
  {
    files: ["**/*.cjs"],
    languageOptions: { sourceType: "commonjs" },
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
);
