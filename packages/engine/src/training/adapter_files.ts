/**
 * A trainer's tensors on disk: the adapter in PEFT's format (adapter_config.json +
 * adapter_model.safetensors, tensor names as peft saves them), and checkpoints that add the AdamW
 * moments (optimizer.safetensors) and the trainer's state (trainer_state.json), as transformers'
 * Trainer lays out checkpoint-N/ folders. Files are written under a temporary name and renamed,
 * so an interrupted save never leaves a half-written adapter.
 */
import { mkdir, rename, writeFile } from "node:fs/promises";
import path from "node:path";

import { ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE } from "../adapters/peft_adapter.js";
import { readJsonFile } from "../json_file.js";
import {
  readSafetensorsHeader,
  readTensorF32,
  writeSafetensors,
  type TensorSource,
} from "../model/safetensors_file.js";
import { WenxinError } from "../errors.js";
import type { LoraTarget } from "./lora_targets.js";

export const OPTIMIZER_FILE = "optimizer.safetensors";
export const TRAINER_STATE_FILE = "trainer_state.json";

/** The name peft saves a target's A or B under. */
export function peftTensorName(t: LoraTarget, which: "lora_A" | "lora_B"): string {
  return `base_model.model.${t.peftPath}.${which}.weight`;
}

export function tensorShape(t: LoraTarget, which: "lora_A" | "lora_B"): [number, number] {
  const cols = t.experts * t.rank;
  return which === "lora_A" ? [cols, t.inFeatures] : [t.outFeatures, cols];
}

async function atomically(file: string, write: (tmp: string) => Promise<unknown>): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  await write(tmp);
  await rename(tmp, file);
}

/**
 * Writes sets of tensors (keyed "<name>.lora_A" / "<name>.lora_B", the trainer's keys) under peft's
 * names, each set's names followed by its suffix (the optimizer file holds both AdamW moments).
 */
export async function writeAdapterWeights(
  file: string,
  targets: readonly LoraTarget[],
  sets: { tensors: Record<string, Float32Array>; suffix?: string }[],
): Promise<void> {
  const list: TensorSource[] = [];
  for (const { tensors, suffix = "" } of sets)
    for (const t of targets)
      for (const which of ["lora_A", "lora_B"] as const)
        list.push({
          name: peftTensorName(t, which) + suffix,
          dtype: "F32",
          shape: tensorShape(t, which),
          data: tensors[`${t.name}.${which}`]!,
        });
  await atomically(file, (tmp) => writeSafetensors(tmp, list, { format: "pt" }));
}

export async function writePeftAdapter(
  dir: string,
  targets: readonly LoraTarget[],
  tensors: Record<string, Float32Array>,
  adapterConfig: Record<string, unknown>,
): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeAdapterWeights(path.join(dir, ADAPTER_WEIGHTS_FILE), targets, [{ tensors }]);
  await atomically(path.join(dir, ADAPTER_CONFIG_FILE), (tmp) =>
    writeFile(tmp, JSON.stringify(adapterConfig, null, 2) + "\n"),
  );
}

/** Reads tensors written by writeAdapterWeights back to the trainer's keys; every one must be there. */
export async function readAdapterWeights(
  file: string,
  targets: readonly LoraTarget[],
  suffix = "",
): Promise<Record<string, Float32Array>> {
  const header = await readSafetensorsHeader(file);
  const out: Record<string, Float32Array> = {};
  for (const t of targets)
    for (const which of ["lora_A", "lora_B"] as const) {
      const name = peftTensorName(t, which) + suffix;
      const info = header.tensors.get(name);
      const shape = tensorShape(t, which);
      if (!info) throw new WenxinError("ERR_WENXIN_MISSING_TENSOR", `${file} has no tensor ${name}`, { subject: name });
      if (info.shape.length !== 2 || info.shape[0] !== shape[0] || info.shape[1] !== shape[1])
        throw new WenxinError(
          "ERR_WENXIN_SHAPE_MISMATCH",
          `${file}: ${name} has shape [${info.shape.join(", ")}], expected [${shape.join(", ")}]`,
          { subject: name, expected: shape, actual: info.shape },
        );
      out[`${t.name}.${which}`] = await readTensorF32(file, info);
    }
  return out;
}

export async function writeTrainerState(dir: string, state: unknown): Promise<void> {
  await atomically(path.join(dir, TRAINER_STATE_FILE), (tmp) => writeFile(tmp, JSON.stringify(state, null, 2) + "\n"));
}

export async function readTrainerState(dir: string): Promise<Record<string, unknown>> {
  const state = await readJsonFile(path.join(dir, TRAINER_STATE_FILE));
  if (!state || typeof state !== "object" || Array.isArray(state))
    throw new WenxinError("ERR_WENXIN_INVALID_FILE", `${path.join(dir, TRAINER_STATE_FILE)} is not a JSON object`, {
      subject: TRAINER_STATE_FILE,
    });
  return state as Record<string, unknown>;
}
