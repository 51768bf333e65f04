// Verbatim from the model card of onnx-community/ERNIE-4.5-0.3B-ONNX
// (https://huggingface.co/onnx-community/ERNIE-4.5-0.3B-ONNX/blob/main/README.md, "Usage (Transformers.js)"),
// the import changed to @wenxin/transformers.
import { pipeline, TextStreamer } from "@wenxin/transformers";

// Create a text generation pipeline
const generator = await pipeline(
  "text-generation",
  "onnx-community/ERNIE-4.5-0.3B-ONNX",
  { dtype: "fp32" }, // Options: "fp32", "fp16", "q8", "q4", "q4f16"
);

// Define the list of messages
const messages = [
  { role: "system", content: "You are a helpful assistant." },
  { role: "user", content: "What is the capital of France?" },
];

// Generate a response
const output = await generator(messages, {
    max_new_tokens: 512,
    do_sample: false,
    streamer: new TextStreamer(generator.tokenizer, { skip_prompt: true, skip_special_tokens: true}),
});
console.log(output[0].generated_text.at(-1).content);
// The capital of France is Paris.
