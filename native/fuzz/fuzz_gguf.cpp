// Fuzz target: a whole GGUF image (header, metadata, tensor infos, data). Every tensor the reader
// accepts must lie inside the image: both ends of each view are read, and the first row of every
// readable type is dequantized, so a view that escaped the buffer is an AddressSanitizer report.
#include <cstdint>
#include <string>
#include <vector>

#include "formats/ggml_blocks.h"
#include "formats/gguf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  wenxin::GgufFile file;
  const wenxin::Status st = file.parse(data, size, "fuzz.gguf");
  if (!st.is_ok()) {
    if (st.message().find("fuzz.gguf") == std::string::npos) __builtin_trap();  // errors name the file
    return 0;
  }
  std::vector<float> row;
  for (const wenxin::GgufTensorInfo& t : file.tensors()) {
    if (t.data < data || t.data + t.bytes > data + size) __builtin_trap();
    if (t.bytes == 0 || !wenxin::ggml::readable(t.type)) continue;
    volatile uint8_t sink = t.data[0] ^ t.data[t.bytes - 1];
    (void)sink;
    const int64_t n = t.ne[0] < 4096 ? t.ne[0] : 0;  // one row, when small enough to be cheap
    if (n > 0 && wenxin::ggml::row_bytes(t.type, n) <= t.bytes) {
      row.resize(static_cast<size_t>(n));
      wenxin::ggml::dequantize_row(t.type, t.data, n, row.data());
    }
  }
  return 0;
}
