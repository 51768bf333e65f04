/**
 * An ERNIE 4.5 GGUF file as the engine loads it: hyper-parameters from `{arch}.*` metadata (shapes
 * cross-checked against the tensors), tokenizer from `tokenizer.ggml.*`, chat template from
 * `tokenizer.chat_template`. The tensors themselves are mapped by the native side.
 */
import { ChatTemplate } from "../chat/chat_template.js";
import { WenxinError } from "../errors.js";
import type { ModelConfig } from "../model/config.js";
import type { NativeHparams } from "../native/addon_types.js";
import type { WenxinTokenizer } from "../tokenizer/tokenizer.js";
import { LOADABLE_GGML_TYPES } from "./gguf_format.js";
import { readGgufFile, type GgufFile, type GgufMetadataValue, type GgufTensorInfo } from "./gguf_reader.js";
import { tokenizerFromGguf } from "./gguf_tokenizer.js";
import { MOE_LAYER_END_KEY } from "./ernie_gguf_layout.js";

/** GGUF architectures we run, and the model type each is. */
const GGUF_ARCHITECTURES: Record<string, NativeHparams["modelType"]> = {
  ernie4_5: "ernie4_5",
  "ernie4_5-moe": "ernie4_5_moe",
};

export interface GgufModel {
  file: GgufFile;
  config: ModelConfig;
  tokenizer: WenxinTokenizer;
  chatTemplate?: ChatTemplate;
}

export function isGgufPath(p: string): boolean {
  return p.toLowerCase().endsWith(".gguf");
}

function invalid(
  file: string,
  message: string,
  details: { expected?: unknown; actual?: unknown; subject?: string } = {},
): never {
  throw new WenxinError("ERR_WENXIN_INVALID_CONFIG", `${file}: ${message}`, { subject: file, ...details });
}

class Meta {
  constructor(
    private readonly m: Map<string, GgufMetadataValue>,
    private readonly arch: string,
    private readonly file: string,
  ) {}

  num(key: string, fallback?: number): number {
    const full = `${this.arch}.${key}`;
    const v = this.m.get(full);
    if (v === undefined) {
      if (fallback !== undefined) return fallback;
      invalid(this.file, `metadata key ${full} is missing`, { subject: full });
    }
    if (typeof v !== "number" || !Number.isFinite(v))
      invalid(this.file, `metadata key ${full} is not a number`, { subject: full, actual: v });
    return v;
  }
}

/** Rows of a matrix tensor (its outer ggml dimension), or undefined when absent. */
function rows(t: GgufTensorInfo | undefined): number | undefined {
  return t ? t.dims[t.dims.length - 1] : undefined;
}

/**
 * The last MoE layer: our `{arch}.moe_layer_end_index` key when the file has it; otherwise (files
 * from llama.cpp's converter) the last layer that has a router tensor, so the layer kinds follow
 * the tensors present.
 */
function moeLayerEnd(meta: Meta, byName: Map<string, GgufTensorInfo>, layers: number, file: string): number {
  const end = meta.num(MOE_LAYER_END_KEY, -1);
  if (end >= 0) {
    if (!Number.isInteger(end) || end >= layers)
      invalid(file, `${MOE_LAYER_END_KEY} ${end} is not a layer index below block_count ${layers}`);
    return end === layers - 1 ? -1 : end; // -1: the last layer, as config.json says by default
  }
  if (byName.has(`blk.${layers - 1}.ffn_gate_inp.weight`)) return -1;
  for (let l = layers - 2; l >= 0; l--) if (byName.has(`blk.${l}.ffn_gate_inp.weight`)) return l;
  return -1;
}

/** Reads `file` and derives what Engine.load needs; rejects unknown architectures and tensor types early. */
export function loadGgufModel(file: string): GgufModel {
  const gguf = readGgufFile(file);
  const arch = gguf.metadata.get("general.architecture");
  const modelType = typeof arch === "string" ? GGUF_ARCHITECTURES[arch] : undefined;
  if (!modelType)
    throw new WenxinError(
      "ERR_WENXIN_UNKNOWN_ARCHITECTURE",
      `${file}: GGUF architecture '${String(arch ?? "(none)")}' is not supported; expected one of ${Object.keys(GGUF_ARCHITECTURES).join(", ")}`,
      { subject: file, expected: Object.keys(GGUF_ARCHITECTURES), actual: arch },
    );
  for (const t of gguf.tensors) {
    if (
      !(LOADABLE_GGML_TYPES as readonly string[]).includes(t.typeName) &&
      /^(token_embd|output|output_norm|blk\.\d+\.)/.test(t.name)
    )
      throw new WenxinError(
        "ERR_WENXIN_UNSUPPORTED_DTYPE",
        `${file}: tensor '${t.name}' has type ${t.typeName}, which wenxin.js cannot load (supported: ${LOADABLE_GGML_TYPES.join(", ")})`,
        { subject: t.name, expected: LOADABLE_GGML_TYPES, actual: t.typeName },
      );
    if (t.bytes !== undefined && t.offset + t.bytes > gguf.fileSize)
      throw new WenxinError(
        "ERR_WENXIN_INVALID_FILE",
        `${file}: tensor '${t.name}' (${t.bytes} bytes at offset ${t.offset}) extends past the end of the file (${gguf.fileSize} bytes); the file is truncated or corrupt`,
        { subject: t.name },
      );
  }
  const byName = new Map(gguf.tensors.map((t) => [t.name, t]));
  const meta = new Meta(gguf.metadata, arch as string, file);

  const hidden = meta.num("embedding_length");
  const heads = meta.num("attention.head_count");
  const kvHeads = meta.num("attention.head_count_kv", heads);
  const headDim = meta.num("attention.key_length", Math.floor(hidden / heads));
  if (meta.num("attention.value_length", headDim) !== headDim)
    invalid(file, `attention.value_length ${meta.num("attention.value_length")} differs from key_length ${headDim}`);
  const layers = meta.num("block_count");
  const embd = byName.get("token_embd.weight");
  if (!embd)
    throw new WenxinError("ERR_WENXIN_MISSING_TENSOR", `${file}: tensor 'token_embd.weight' is missing`, {
      subject: "token_embd.weight",
    });
  const vocab = rows(embd)!;
  const qRows = rows(byName.get("blk.0.attn_q.weight"));
  if (qRows !== undefined && qRows !== heads * headDim)
    invalid(
      file,
      `blk.0.attn_q.weight has ${qRows} rows but ${heads} heads × head_dim ${headDim} = ${heads * headDim}`,
    );

  const moe = modelType === "ernie4_5_moe";
  const experts = moe ? meta.num("expert_count") : 0;
  const expertWidth = moe ? meta.num("expert_feed_forward_length") : 0;
  let shared = moe ? meta.num("expert_shared_count", 0) : 0;
  if (shared > 0) {
    // The shared MLP's width is what its tensors say; the engine builds it as width / expert width experts.
    const start = meta.num("leading_dense_block_count", 1);
    const width =
      rows(byName.get(`blk.${start}.ffn_gate_shexp.weight`)) ??
      meta.num("expert_shared_feed_forward_length", expertWidth * shared);
    if (width % expertWidth !== 0)
      invalid(
        file,
        `the shared experts' width ${width} is not a multiple of the expert width ${expertWidth}, which the engine needs`,
      );
    shared = width / expertWidth;
  }
  const hparams: NativeHparams = {
    modelType,
    hiddenSize: hidden,
    intermediateSize: meta.num("feed_forward_length"),
    numHiddenLayers: layers,
    numAttentionHeads: heads,
    numKeyValueHeads: kvHeads,
    headDim,
    vocabSize: vocab,
    maxPositionEmbeddings: meta.num("context_length", 131072),
    ropeTheta: meta.num("rope.freq_base", 500000),
    rmsNormEps: meta.num("attention.layer_norm_rms_epsilon", 1e-5),
    useBias: false,
    tieWordEmbeddings: !byName.has("output.weight"),
    moeNumExperts: experts,
    moeK: moe ? meta.num("expert_used_count") : 0,
    moeIntermediateSize: expertWidth,
    moeNumSharedExperts: shared,
    moeLayerStartIndex: moe ? meta.num("leading_dense_block_count", 1) : 0,
    moeLayerEndIndex: moe ? moeLayerEnd(meta, byName, layers, file) : -1,
    moeLayerInterval: moe ? meta.num("interleave_moe_layer_step", 1) : 1,
    moeNormMin: 1e-12,
  };
  if (heads % kvHeads !== 0) invalid(file, `head_count_kv ${kvHeads} does not divide head_count ${heads}`);
  const scaling = gguf.metadata.get(`${String(arch)}.rope.scaling.type`);
  if (scaling !== undefined && scaling !== "none") invalid(file, `RoPE scaling '${String(scaling)}' is not supported`);

  const tokenizer = tokenizerFromGguf(gguf.metadata, file);
  if (tokenizer.vocabSize > vocab)
    invalid(file, `the tokenizer has ${tokenizer.vocabSize} tokens but token_embd.weight only ${vocab} rows`);
  const template = gguf.metadata.get("tokenizer.chat_template");
  const chatTemplate = typeof template === "string" ? new ChatTemplate(template, tokenizer) : undefined;
  const id = (key: string) => {
    const v = gguf.metadata.get(key);
    return typeof v === "number" ? v : undefined;
  };
  const eos = id("tokenizer.ggml.eos_token_id");
  return {
    file: gguf,
    config: {
      architecture: String(arch),
      hparams,
      eosTokenIds: eos === undefined ? [] : [eos],
      bosTokenId: id("tokenizer.ggml.bos_token_id"),
      padTokenId: id("tokenizer.ggml.padding_token_id"),
    },
    tokenizer,
    chatTemplate,
  };
}
