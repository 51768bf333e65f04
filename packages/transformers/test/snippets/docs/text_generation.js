// Verbatim from packages/transformers/src/pipelines/text-generation.js, TextGenerationPipeline's first example
// (huggingface/transformers.js at 5ed4c5c0d3c5), the import changed to @wenxin/transformers.
import { pipeline } from '@wenxin/transformers';

const generator = await pipeline('text-generation', 'onnx-community/SmolLM2-135M-ONNX');
const text = 'Once upon a time,';
const output = await generator(text, { max_new_tokens: 8 });
// [{ generated_text: 'Once upon a time, there was a little girl named Lily.' }]
