/**
 * Which modules an adapter config selects, with PEFT's rules: a list entry matches a module
 * named exactly so or ending in ".entry"; a string is a regex that must match the whole name;
 * "all-linear" selects every linear layer but the output head; exclude_modules and
 * layers_to_transform narrow the choice; target_parameters name parameters adapted in place.
 * rank_pattern / alpha_pattern keys match like `^(.*\.)?(key)$`, first key first.
 */
import { WenxinError } from "../errors.js";
import type { LoraConfig } from "./lora_config.js";

export const ALL_LINEAR = "all-linear";

/** Python regex syntax that JS spells differently: named groups `(?P<name>…)` and `(?P=name)`. */
function compile(pattern: string, anchored: string, what: string): RegExp {
  const js = pattern.replace(/\(\?P</g, "(?<").replace(/\(\?P=(\w+)\)/g, "\\k<$1>");
  try {
    return new RegExp(anchored.replace("PATTERN", js));
  } catch (err) {
    throw new WenxinError(
      "ERR_WENXIN_INVALID_CONFIG",
      `adapter_config.json: ${what} '${pattern}' is not a valid regular expression`,
      { subject: what },
      { cause: err },
    );
  }
}

function fullMatch(pattern: string, name: string, what: string): boolean {
  return compile(pattern, "^(?:PATTERN)$", what).test(name);
}

function endsWithEntry(entries: string[], name: string): boolean {
  return entries.some((e) => name === e || name.endsWith(`.${e}`));
}

/** The layer index PEFT reads from a module name (`…layers.<n>.…`), for layers_to_transform. */
function layerIndex(name: string, layersPattern: string[] | undefined): number | undefined {
  const patterns = layersPattern?.length
    ? layersPattern.map((p) => compile(p, "^.*\\.(?:PATTERN)\\.(\\d+)\\.", "layers_pattern"))
    : [/^.*\.[^.]*\.(\d+)\./];
  for (const re of patterns) {
    const m = re.exec(name);
    if (m) return Number(m[m.length - 1]);
  }
  return undefined;
}

/** Does `config` select the module `name`? `isOutputLayer` marks the head "all-linear" skips. */
export function selectsModule(config: LoraConfig, name: string, isOutputLayer = false): boolean {
  const exclude = config.exclude_modules;
  if (exclude !== undefined) {
    if (typeof exclude === "string" ? fullMatch(exclude, name, "exclude_modules") : endsWithEntry(exclude, name))
      return false;
  }
  const target = config.target_modules;
  if (typeof target === "string") {
    if (target.toLowerCase() === ALL_LINEAR) return !isOutputLayer;
    return fullMatch(target, name, "target_modules");
  }
  if (!endsWithEntry(target, name)) return false;
  if (!config.layers_to_transform?.length) return true;
  const layer = layerIndex(name, config.layers_pattern);
  return layer !== undefined && config.layers_to_transform.includes(layer);
}

/** Does `config` adapt the parameter `key` in place (target_parameters: `key` or `*.key`, as peft)? */
export function selectsParameter(config: Pick<LoraConfig, "target_parameters">, key: string): boolean {
  return endsWithEntry(config.target_parameters, key);
}

/** The value of the first pattern key that matches `name`, if any. */
export function patternValue(patterns: Record<string, number>, name: string, what: string): number | undefined {
  for (const [key, value] of Object.entries(patterns))
    if (compile(key, "^(?:.*\\.)?(?:PATTERN)$", what).test(name)) return value;
  return undefined;
}

/** A list entry of target_modules that selects none of `names`, if there is one. */
export function unmatchedTargets(config: LoraConfig, names: string[]): string[] {
  const target = config.target_modules;
  if (typeof target === "string") {
    if (target.toLowerCase() === ALL_LINEAR) return [];
    return names.some((n) => fullMatch(target, n, "target_modules")) ? [] : [target];
  }
  return target.filter((entry) => !names.some((n) => endsWithEntry([entry], n)));
}
