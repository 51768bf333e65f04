// Verbatim from packages/transformers/src/pipelines/feature-extraction.js, FeatureExtractionPipeline's second example
// (huggingface/transformers.js at 5ed4c5c0d3c5), the import changed to @wenxin/transformers.
import { pipeline } from '@wenxin/transformers';

const extractor = await pipeline('feature-extraction', 'onnx-community/all-MiniLM-L6-v2-ONNX');
const output = await extractor('This is a simple test.', { pooling: 'mean', normalize: true });
// Tensor {
//   type: 'float32',
//   data: Float32Array [0.09528215229511261, -0.024730168282985687, ...],
//   dims: [1, 384]
// }

// You can convert this Tensor to a nested JavaScript array using `.tolist()`:
console.log(output.tolist());
