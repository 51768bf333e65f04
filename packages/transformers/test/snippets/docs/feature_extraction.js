// Verbatim from packages/transformers/src/pipelines/feature-extraction.js, FeatureExtractionPipeline's first example
// (huggingface/transformers.js at 5ed4c5c0d3c5), the import changed to @wenxin/transformers.
import { pipeline } from '@wenxin/transformers';

const extractor = await pipeline('feature-extraction', 'onnx-community/all-MiniLM-L6-v2-ONNX');
const output = await extractor('This is a simple test.');
// Tensor {
//   type: 'float32',
//   data: Float32Array [0.2157987803220749, -0.09140099585056305, ...],
//   dims: [1, 8, 384]
// }

// You can convert this Tensor to a nested JavaScript array using `.tolist()`:
console.log(output.tolist());
