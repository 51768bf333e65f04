// Verbatim from packages/transformers/src/pipelines/text-generation.js, TextGenerationPipeline's chat example
// (huggingface/transformers.js at 5ed4c5c0d3c5), the import changed to @wenxin/transformers.
import { pipeline, TextStreamer } from '@wenxin/transformers';

// Create a text generation pipeline
const generator = await pipeline(
  'text-generation',
  'onnx-community/Qwen3-0.6B-ONNX',
  { dtype: 'q4f16' },
);

// Define the list of messages
const messages = [
  { role: 'system', content: 'You are a helpful assistant.' },
  { role: 'user', content: 'Write me a poem about Machine Learning.' },
];

// Generate a response
const output = await generator(messages, {
  max_new_tokens: 512,
  do_sample: false,
  streamer: new TextStreamer(generator.tokenizer, { skip_prompt: true, skip_special_tokens: true }),
});
console.log(output[0].generated_text.at(-1)?.content);
