// Prefill's attention on AMX tiles: the AVX-512 kernel's online softmax with both products on TDPBF16PS.
// A run of queries of one GQA group (R = queries × heads rows) against its keys: the keys and values are
// split and laid out as B operands once (and kept for the next run of the same sequence and KV head:
// AttentionArgs::reuse), then each 32-row block walks all of them kKeyBlock keys a softmax step (S = Q·Kᵀ,
// then acc = acc · corr + P·V, its queries and acc in L1), skipping what it cannot see (causal). Every
// operand is split into a bf16 part and what rounding left (x = hi + lo within 2⁻¹⁸ of x) and multiplied
// as hi·hi + lo·hi + hi·lo, so the float32 cache's scores and outputs keep ~17 significant bits (a bf16
// cache has no lo part: one product less). The softmax itself stays in float32. Decode (a few rows a
// call) and head dims off 32 keep the AVX-512 kernel.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "core/aligned_vector.h"
#include "kernels/amx/amx.h"
#include "kernels/amx/tiles.h"
#include "kernels/attention_x86.h"
#include "kernels/avx512/exp512.h"
#include "kernels/avx512/lanes.h"
#include "kernels/avx512/transpose16.h"

namespace wenxin::kernels::amx {

namespace {

constexpr int64_t kKeyBlock = 64;   // keys per softmax step (two tile depths of P·V)
constexpr int64_t kKeyChunk = 512;  // keys of one chunk of the laid-out panels
constexpr int64_t kSpan = 1024;     // keys a row block walks before the next takes them (1 MB of panels)
constexpr int64_t kRowBlock = 32;   // rows of S and acc a block of four accumulator tiles covers
constexpr int64_t kTileCols = 16;   // keys (S) or head-dim columns (acc) of one accumulator tile
// Elements between a double buffer's two blocks: 4 KiB apart, the second block's loads would wait on
// the first's stores (their addresses alias in the low 12 bits).
constexpr int64_t kBlockStride = kRowBlock * kKeyBlock + 128;

inline int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

// One operand's rows (a chunk's keys or values) as bf16 parts, [keys][d]; lo unused for a bf16 cache.
struct SplitRows {
  aligned_vector<uint16_t> hi, lo;
};

// B operands of S = Q·Kᵀ from K's rows [keys][d] (bf16): per 16-key tile and 32-value depth step, 16 pair
// rows of 16 keys (the pair of depth 2q, 2q + 1 of key j at [q][j]): 16 × 16 transposes of 32-bit pairs.
void lay_keys(const uint16_t* k, int64_t keys, int64_t d, uint32_t* out) {
  const int64_t steps = d / 32;
  for (int64_t kt = 0; kt < keys / kTileCols; ++kt)
    for (int64_t s = 0; s < steps; ++s) {
      __m512 r[16];
      for (int j = 0; j < 16; ++j) r[j] = _mm512_loadu_ps(k + (kt * kTileCols + j) * d + 32 * s);
      avx512::transpose16(r);
      uint32_t* tile = out + (kt * steps + s) * 256;
      for (int q = 0; q < 16; ++q) _mm512_store_ps(reinterpret_cast<float*>(tile + 16 * q), r[q]);
    }
}

// B operands of acc += P·V from V's rows [keys][d] (bf16): per 32-key depth step and 16-column tile, 16
// pair rows (the values of keys 2q and 2q + 1 in column c at [q][c]): two rows interleaved.
void lay_values(const uint16_t* v, int64_t keys, int64_t d, uint32_t* out) {
  const int64_t col_tiles = d / kTileCols;
  for (int64_t t = 0; t < keys / 32; ++t)
    for (int64_t c = 0; c < col_tiles; ++c) {
      uint32_t* tile = out + (t * col_tiles + c) * 256;
      for (int q = 0; q < 16; ++q) {
        const uint16_t* even = v + (32 * t + 2 * q) * d + c * kTileCols;
        const __m512i e = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(even)));
        const __m512i o = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(even + d)));
        _mm512_store_si512(tile + 16 * q, _mm512_or_si512(e, _mm512_slli_epi32(o, 16)));
      }
    }
}

// c's four tiles (0..3, as [row tile][column tile]) += the A operand's two row tiles (`a` and 16 rows on,
// `a_stride` bytes apart) times two B tiles (`b0`, `b1`, rows 64 bytes apart).
inline void step(const void* a0, const void* a1, int64_t a_stride, const void* b0, const void* b1) {
  _tile_loadd(4, a0, a_stride);
  _tile_loadd(5, a1, a_stride);
  _tile_loadd(6, b0, 64);
  _tile_loadd(7, b1, 64);
  _tile_dpbf16ps(0, 4, 6);
  _tile_dpbf16ps(1, 4, 7);
  _tile_dpbf16ps(2, 5, 6);
  _tile_dpbf16ps(3, 5, 7);
}

inline void load_c(const float* c, int64_t ldc) {
  _tile_loadd(0, c, ldc * 4);
  _tile_loadd(1, c + kTileCols, ldc * 4);
  _tile_loadd(2, c + 16 * ldc, ldc * 4);
  _tile_loadd(3, c + 16 * ldc + kTileCols, ldc * 4);
}

inline void store_c(float* c, int64_t ldc) {
  _tile_stored(0, c, ldc * 4);
  _tile_stored(1, c + kTileCols, ldc * 4);
  _tile_stored(2, c + 16 * ldc, ldc * 4);
  _tile_stored(3, c + 16 * ldc + kTileCols, ldc * 4);
  tile_memory(c);
}

// A row-major operand split in two: rows `ld` bf16 apart.
struct SplitA {
  const uint16_t *hi, *lo;
  int64_t ld;
};

// c[32 rows][32 columns] (+)= A's 32 rows × B over `steps` depth steps of 32; B's tiles for the two column
// tiles at depth step s: b_hi(s, 0|1), b_lo(s, 0|1) (b_lo null: B has no lo part). Products hi·hi, lo·hi,
// hi·lo; A's depth step s starts 32 s values into its rows.
template <class TileOf, class Between>
void block_product(const SplitA& a, int64_t steps, const TileOf& b_hi, const TileOf* b_lo, Between&& between) {
  const int64_t stride = a.ld * 2;
  for (int64_t s = 0; s < steps; ++s) {
    const uint16_t* hi0 = a.hi + 32 * s;
    const uint16_t* lo0 = a.lo + 32 * s;
    step(hi0, hi0 + 16 * a.ld, stride, b_hi(s, 0), b_hi(s, 1));
    between();
    step(lo0, lo0 + 16 * a.ld, stride, b_hi(s, 0), b_hi(s, 1));
    between();
    if (b_lo != nullptr) {
      step(hi0, hi0 + 16 * a.ld, stride, (*b_lo)(s, 0), (*b_lo)(s, 1));
      between();
    }
  }
}

template <class TileOf>
void block_product(const SplitA& a, int64_t steps, const TileOf& b_hi, const TileOf* b_lo) {
  block_product(a, steps, b_hi, b_lo, [] {});
}

// 16 floats as bf16 parts: hi = v rounded, lo = v − hi rounded (denormals, far below what the sums can
// show, flushed to zero).
inline void split16(__m512 v, uint16_t* hi, uint16_t* lo) {
  const __m256bh h = _mm512_cvtneps_pbh(v);
  const __m256i hb = reinterpret_cast<const __m256i&>(h);
  const __m512 hw = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(hb), 16));
  const __m256bh l = _mm512_cvtneps_pbh(_mm512_sub_ps(v, hw));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(hi), hb);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(lo), reinterpret_cast<const __m256i&>(l));
}

// n floats (a multiple of 16) as bf16 parts.
inline void split_row(const float* x, uint16_t* hi, uint16_t* lo, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) split16(_mm512_loadu_ps(x + i), hi + i, lo + i);
}

struct Scratch {
  aligned_vector<uint16_t> q_hi, q_lo;  // the queries [Rp][d], pre-scaled (base-2 scores)
  SplitRows k, v;                       // one chunk's keys and values [kKeyChunk][d]
  // The call's keys and values as B operands, chunk after chunk, for positions [tag_begin, tag_begin +
  // laid): kept for the next call of the same reuse tag (a prefill step's next run of this sequence and
  // KV head), which lays out only what it sees beyond them.
  aligned_vector<uint32_t> k_hi, k_lo, v_hi, v_lo;
  uint64_t tag = 0;
  int64_t tag_begin = 0, laid = 0;
  aligned_vector<float> s, acc, row;    // S [32][kKeyBlock], acc [Rp][d], one widened row
  aligned_vector<uint16_t> p_hi, p_lo;  // P [32][kKeyBlock]
  std::vector<float> m, max, l, corr;   // per row: the exponentials' base, the running max, their sum
  std::vector<int64_t> last;            // each row's last visible position
  std::vector<const float*> rows;       // each row's query
  std::vector<char> started;            // per row block: whether its acc holds a P·V yet
};

// This thread's scratch, found once a call: in a shared object each use of a thread_local goes through
// __tls_get_addr, which the compiler repeats after every tile barrier.
[[gnu::noinline]] Scratch& thread_scratch() {
  thread_local Scratch w;
  return w;
}

// The chunk's n rows of the cache from block `blk`, slot `slot` on, as bf16 parts; the pad rows up to
// `padded` zero.
void gather(const AttentionArgs& a, int64_t n, int64_t padded, int64_t blk, int64_t slot, Scratch& w) {
  const int64_t d = a.d;
  for (SplitRows* rows : {&w.k, &w.v}) {
    rows->hi.resize(padded * d);
    rows->lo.resize(padded * d);
  }
  w.row.resize(d);
  for (int64_t j = 0; j < n; ++j) {
    const size_t off = static_cast<size_t>(slot * a.pos_stride);
    const void* kb = a.k_blocks[blk];
    const void* vb = a.v_blocks[blk];
    uint16_t *k_hi = w.k.hi.data() + j * d, *k_lo = w.k.lo.data() + j * d;
    uint16_t *v_hi = w.v.hi.data() + j * d, *v_lo = w.v.lo.data() + j * d;
    if (a.kv_type == 1) {
      std::memcpy(k_hi, static_cast<const uint16_t*>(kb) + off, d * 2);
      std::memcpy(v_hi, static_cast<const uint16_t*>(vb) + off, d * 2);
    } else if (a.kv_type == 0) {
      split_row(static_cast<const float*>(kb) + off, k_hi, k_lo, d);
      split_row(static_cast<const float*>(vb) + off, v_hi, v_lo, d);
    } else {
      const int8_t* kq = static_cast<const int8_t*>(kb) + off;
      const int8_t* vq = static_cast<const int8_t*>(vb) + off;
      const float ks = a.k_scales[blk][slot * a.scale_stride], vs = a.v_scales[blk][slot * a.scale_stride];
      for (int64_t i = 0; i < d; ++i) w.row[i] = static_cast<float>(kq[i]) * ks;
      split_row(w.row.data(), k_hi, k_lo, d);
      for (int64_t i = 0; i < d; ++i) w.row[i] = static_cast<float>(vq[i]) * vs;
      split_row(w.row.data(), v_hi, v_lo, d);
    }
    if (++slot == a.block_tokens) {
      slot = 0;
      ++blk;
    }
  }
  for (SplitRows* rows : {&w.k, &w.v}) {
    std::fill(rows->hi.begin() + n * d, rows->hi.end(), uint16_t{0});
    std::fill(rows->lo.begin() + n * d, rows->lo.end(), uint16_t{0});
  }
}

// The online softmax of a row block's scores for keys [j0, j0 + kKeyBlock) (the first n of them cached; scores
// in base 2, log2 e folded into the queries' scale), a row at a time: keys past a row's position (and pad keys)
// masked to -inf, P = 2^(s − base) split into p_hi/p_lo, l updated. A row's base is its running max, moved only
// when the max passes it by more than kLazyRescale (P and l stay below 2^kLazyRescale times their exact values,
// far from float32's range), so acc is rescaled (corr ≠ 1) a few times a row rather than every block;
// attention_tiles moves every row to its true max at the end.
constexpr float kLazyRescale = 12.0f;

// Row i of a row block's scores `s_block` (row r0 + i of the call); returns whether its corr differs from 1.
bool softmax_row(int64_t r0, int64_t i, int64_t j0, int64_t n, const float* s_block, uint16_t* p_hi, uint16_t* p_lo,
                 Scratch& w) {
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  constexpr int kVecs = kKeyBlock / 16;
  const int64_t r = r0 + i;
  const float* s = s_block + i * kKeyBlock;
  const int64_t visible = std::clamp<int64_t>(w.last[r] - j0 + 1, 0, n);
  __m512 v[kVecs];
  __m512 mx = _mm512_set1_ps(w.max[r]);
  for (int k = 0; k < kVecs; ++k) {
    v[k] = _mm512_mask_blend_ps(avx512::first_lanes(visible - 16 * k), _mm512_set1_ps(kNegInf),
                                _mm512_load_ps(s + 16 * k));
    mx = _mm512_max_ps(mx, v[k]);
  }
  w.max[r] = _mm512_reduce_max_ps(mx);
  float corr = 1.0f;
  bool rescaled = false;
  if (w.max[r] > w.m[r] + kLazyRescale) {  // also the first keys a row sees (m = -inf)
    corr = w.m[r] == kNegInf ? 0.0f : std::exp2(w.m[r] - w.max[r]);
    w.m[r] = w.max[r];
    rescaled = true;
  }
  const __m512 base = _mm512_set1_ps(w.m[r] == kNegInf ? 0.0f : w.m[r]);  // 2^(-inf - 0) = 0, never NaN
  __m512 sum = _mm512_setzero_ps();
  for (int k = 0; k < kVecs; ++k) {
    uint16_t *hi = p_hi + i * kKeyBlock + 16 * k, *lo = p_lo + i * kKeyBlock + 16 * k;
    if (visible <= 16 * k) {  // keys past the row's position (the causal diagonal): P = 0
      _mm256_store_si256(reinterpret_cast<__m256i*>(hi), _mm256_setzero_si256());
      _mm256_store_si256(reinterpret_cast<__m256i*>(lo), _mm256_setzero_si256());
      continue;
    }
    const __m512 p = avx512::exp2_512(_mm512_sub_ps(v[k], base));
    sum = _mm512_add_ps(sum, p);
    split16(p, hi, lo);
  }
  w.corr[r] = corr;
  w.l[r] = w.l[r] * corr + _mm512_reduce_add_ps(sum);
  return rescaled;
}

// Rows [r0, r1) of the call's output: relative to their true max, as the contract (and the other kernels)
// have it, or, asked for the output, divided by their sums (the same for the lazy base); rows that saw no
// key (`started` false, or l = 0) are 0. Output rows on cache lines are streamed past the cache, as the o
// projection reads them only after every head's attention; returns whether any was (the caller fences).
bool write_rows(const AttentionPartial& out, int64_t r0, int64_t r1, int64_t H, int64_t d, bool started,
                const Scratch& w) {
  bool streamed = false;
  for (int64_t r = r0; r < r1; ++r) {
    const float f = w.m[r] == w.max[r] ? 1.0f : std::exp2(w.m[r] - w.max[r]);
    const bool seen = started && w.l[r] > 0;
    const __m512 fv = _mm512_set1_ps(!seen ? 0.0f : out.normalised ? 1.0f / w.l[r] : f);
    float* o = out.row(r, H, d);
    const bool stream = out.normalised && reinterpret_cast<uintptr_t>(o) % 64 == 0;
    streamed |= stream;
    for (int64_t x = 0; x < d; x += 16) {
      const __m512 v = seen ? _mm512_mul_ps(_mm512_load_ps(w.acc.data() + r * d + x), fv) : _mm512_setzero_ps();
      if (stream)
        _mm512_stream_ps(o + x, v);
      else
        _mm512_storeu_ps(o + x, v);
    }
    out.m[r] = w.max[r] * exp_poly::kLn2;  // back to base e
    out.l[r] = w.l[r] * f;
  }
  return streamed;
}

void attention_tiles(const AttentionArgs& a, const AttentionPartial& out) {
  const int64_t H = a.heads, d = a.d, Q = a.queries, R = Q * H, Rp = round_up(R, kRowBlock);
  const int64_t kend = std::min(a.end, a.q_pos + Q), steps = d / 32, col_tiles = d / kTileCols;
  const bool lo = a.kv_type != 1;  // a bf16 cache holds its values exactly
  Scratch& w = thread_scratch();
  const __m512 scale = _mm512_set1_ps(a.scale * exp_poly::kLog2e);  // scores in base 2
  const int64_t panels = kKeyChunk * d / 2;                         // uint32 pairs of one chunk's keys (or values)
  const int64_t need = kend - a.begin;
  int64_t laid = a.reuse != 0 && a.reuse == w.tag && a.begin == w.tag_begin ? w.laid : 0;
  if (laid < need) {
    const int64_t chunks = (need + kKeyChunk - 1) / kKeyChunk;
    for (auto* p : {&w.k_hi, &w.k_lo, &w.v_hi, &w.v_lo}) p->resize(chunks * panels);  // keeps the laid chunks
    for (int64_t c = laid / kKeyChunk * kKeyChunk; c < need; c += kKeyChunk) {  // a partly laid chunk again, whole
      const int64_t nc = std::min(kKeyChunk, need - c), padded = round_up(nc, kKeyBlock), at = c / kKeyChunk * panels;
      const int64_t p = a.begin + c;
      gather(a, nc, padded, p / a.block_tokens, p % a.block_tokens, w);
      lay_keys(w.k.hi.data(), padded, d, w.k_hi.data() + at);
      lay_values(w.v.hi.data(), padded, d, w.v_hi.data() + at);
      if (lo) {
        lay_keys(w.k.lo.data(), padded, d, w.k_lo.data() + at);
        lay_values(w.v.lo.data(), padded, d, w.v_lo.data() + at);
      }
    }
    laid = need;
  }
  w.tag = a.reuse;
  w.tag_begin = a.begin;
  w.laid = laid;
  for (auto* p : {&w.k_hi, &w.k_lo, &w.v_hi, &w.v_lo}) tile_memory(p->data());

  // A 32-row block at a time over the keys of a span (its queries and acc in L1, the span's panels in L2),
  // span after span: a prompt's keys fit one span, a long context's panels are read from L2 by every row
  // block rather than from memory.
  w.q_hi.resize(Rp * d);
  w.q_lo.resize(Rp * d);
  w.acc.resize(Rp * d);
  w.m.resize(Rp);
  w.max.resize(Rp);
  w.l.resize(Rp);
  w.corr.resize(Rp);
  w.last.resize(Rp);
  w.started.assign(Rp / kRowBlock, 0);
  w.s.resize(2 * kBlockStride);  // two blocks' scores and probabilities: the pipeline's
  w.p_hi.resize(2 * kBlockStride);
  w.p_lo.resize(2 * kBlockStride);
  // Each row's query (pad rows read the last query's, and are zeroed) and last visible position.
  w.rows.resize(Rp);
  for (int64_t query = 0, r = 0; query < Q; ++query)
    for (int64_t h = 0; h < H; ++h, ++r) {
      w.rows[r] = a.q + query * a.q_stride + h * d;
      w.last[r] = a.q_pos + query;
    }
  for (int64_t r = R; r < Rp; ++r) {
    w.rows[r] = w.rows[R - 1];
    w.last[r] = w.last[R - 1];
  }
  const int64_t row_lines = d / 16;
  const TileScope tiles;
  bool streamed = false;
  for (int64_t s0 = a.begin; s0 < kend; s0 += kSpan) {
    for (int64_t r0 = 0; r0 < Rp; r0 += kRowBlock) {
      const int64_t seen_end = std::min(kend, w.last[r0 + kRowBlock - 1] + 1);  // past the block's last key
      const bool first = s0 == a.begin, last_span = s0 + kSpan >= seen_end;
      if (!first && s0 >= seen_end) continue;  // written in an earlier span
      if (first)
        for (int64_t r = r0; r < r0 + kRowBlock; ++r) {
          w.m[r] = w.max[r] = -std::numeric_limits<float>::infinity();
          w.l[r] = 0.0f;
          const __mmask16 real = r < R ? 0xFFFF : 0;  // pad rows zero
          for (int64_t x = 0; x < d; x += 16)
            split16(_mm512_mul_ps(_mm512_maskz_loadu_ps(real, w.rows[r] + x), scale), w.q_hi.data() + r * d + x,
                    w.q_lo.data() + r * d + x);
        }
      // The next row block's queries fetched while this one computes: prefill's q has left the cache by the
      // time its attention runs, and rows a q_stride apart (a page or more) defeat the hardware's prefetchers.
      int64_t fetch_row = r0 + kRowBlock, fetch_line = 0;
      const int64_t fetch_end = first ? std::min(R, r0 + 2 * kRowBlock) : 0;
      const auto prefetch_some = [&](int64_t lines) {
        for (; lines > 0 && fetch_row < fetch_end; --lines) {
          _mm_prefetch(reinterpret_cast<const char*>(w.rows[fetch_row] + fetch_line * 16), _MM_HINT_T0);
          if (++fetch_line == row_lines) {
            fetch_line = 0;
            ++fetch_row;
          }
        }
      };
      const SplitA q{w.q_hi.data() + r0 * d, w.q_lo.data() + r0 * d, d};
      float* acc = w.acc.data() + r0 * d;
      char& started = w.started[r0 / kRowBlock];  // whether acc holds a P·V yet
      for (int64_t c0 = s0; c0 < std::min(kend, s0 + kSpan); c0 += kKeyChunk) {
        // The chunk's keys and values (keys past kend, laid for an earlier call that saw more, are masked
        // like pad keys).
        const int64_t nc = std::min(kKeyChunk, kend - c0), at = (c0 - a.begin) / kKeyChunk * panels;
        const uint32_t *k_hi_chunk = w.k_hi.data() + at, *k_lo_chunk = w.k_lo.data() + at;
        const uint32_t *v_hi_chunk = w.v_hi.data() + at, *v_lo_chunk = w.v_lo.data() + at;
        // The key blocks the row block sees (causal), as a pipeline: block b + 1's scores on the tiles
        // while the vector units run block b's softmax, a few rows after each tile step, then b's P·V.
        const int64_t seen = std::min(c0 + nc, seen_end) - c0;
        const int64_t blocks = seen <= 0 ? 0 : (seen + kKeyBlock - 1) / kKeyBlock;
        // Keys of block b any row of the block sees: the causal diagonal's block skips the 32 keys past them.
        const auto keys_seen = [&](int64_t b) { return std::min(kKeyBlock, seen - b * kKeyBlock); };
        const auto scores = [&](int64_t b, float* s_out, auto&& between) {
          const int64_t kb = b * kKeyBlock / kTileCols;  // the block's first key tile in the chunk
          for (int64_t kt = 0; kt < round_up(keys_seen(b), 32) / kTileCols; kt += 2) {
            const auto keys_of = [&, kt](const uint32_t* p) {
              return [p, kt, kb, steps](int64_t s, int c) { return p + ((kb + kt + c) * steps + s) * 256; };
            };
            const auto k_hi = keys_of(k_hi_chunk), k_lo = keys_of(k_lo_chunk);
            _tile_zero(0);
            _tile_zero(1);
            _tile_zero(2);
            _tile_zero(3);
            block_product(q, steps, k_hi, lo ? &k_lo : nullptr, between);
            store_c(s_out + kt * kTileCols, kKeyBlock);
          }
        };
        // acc += P·V for block b: 32 rows × 32 head-dim columns at a time, over the block's 64 keys.
        const auto values = [&](int64_t b) {
          const uint16_t* p_hi = w.p_hi.data() + (b % 2) * kBlockStride;
          const uint16_t* p_lo = w.p_lo.data() + (b % 2) * kBlockStride;
          tile_memory(p_hi);
          tile_memory(p_lo);
          tile_memory(acc);
          const int64_t t0 = b * kKeyBlock / 32;  // the block's first 32-key depth step in the chunk
          for (int64_t col = 0; col < col_tiles; col += 2) {
            const auto values_of = [&, col](const uint32_t* p) {
              return [p, col, t0, col_tiles](int64_t t, int c) { return p + ((t0 + t) * col_tiles + col + c) * 256; };
            };
            const auto v_hi = values_of(v_hi_chunk), v_lo = values_of(v_lo_chunk);
            if (started) {
              load_c(acc + col * kTileCols, d);
            } else {
              _tile_zero(0);
              _tile_zero(1);
              _tile_zero(2);
              _tile_zero(3);
            }
            block_product(SplitA{p_hi, p_lo, kKeyBlock}, round_up(keys_seen(b), 32) / 32, v_hi, lo ? &v_lo : nullptr);
            store_c(acc + col * kTileCols, d);
            prefetch_some(8);
          }
          started = 1;
        };
        // Block b's softmax on the vector units while the tiles compute block b + 1's scores, its rows
        // spread evenly over the tile steps; then acc rescaled and block b's P·V.
        const int64_t score_steps = kKeyBlock / 32 * (lo ? 3 : 2) * steps;
        if (blocks > 0) scores(0, w.s.data(), [] {});
        for (int64_t b = 0; b < blocks; ++b) {
          const int64_t j0 = c0 + b * kKeyBlock, n = std::min(kKeyBlock, c0 + nc - j0);
          const float* s_cur = w.s.data() + (b % 2) * kBlockStride;
          float* s_next = w.s.data() + ((b + 1) % 2) * kBlockStride;
          uint16_t* p_hi = w.p_hi.data() + (b % 2) * kBlockStride;
          uint16_t* p_lo = w.p_lo.data() + (b % 2) * kBlockStride;
          bool rescaled = false;
          int64_t row = 0, done_steps = 0;
          const auto softmax_rows = [&](int64_t upto) {
            for (; row < upto; ++row) rescaled |= softmax_row(r0, row, j0, n, s_cur, p_hi, p_lo, w);
          };
          if (b + 1 < blocks)
            scores(b + 1, s_next, [&] { softmax_rows((++done_steps * kRowBlock + score_steps - 1) / score_steps); });
          softmax_rows(kRowBlock);
          if (rescaled && started)
            for (int64_t i = 0; i < kRowBlock; ++i) {
              if (w.corr[r0 + i] == 1.0f) continue;
              const __m512 c = _mm512_set1_ps(w.corr[r0 + i]);
              for (int64_t x = 0; x < d; x += 16)
                _mm512_store_ps(acc + i * d + x, _mm512_mul_ps(_mm512_load_ps(acc + i * d + x), c));
            }
          values(b);
        }
      }
      prefetch_some(kRowBlock * row_lines);
      if (last_span) streamed |= write_rows(out, r0, std::min(R, r0 + kRowBlock), H, d, started != 0, w);
    }
  }
  if (streamed) _mm_sfence();  // streaming stores are weakly ordered: visible before the thread pool's handoff
}

}  // namespace

void attention(const AttentionArgs& args, const AttentionPartial& out) {
  const int64_t rows = args.queries * args.heads, keys = std::min(args.end, args.q_pos + args.queries) - args.begin;
  if (args.d % 32 != 0 || rows < kRowBlock || keys < kKeyBlock) {
    avx512::attention(args, out);
    return;
  }
  attention_tiles(args, out);
}

}  // namespace wenxin::kernels::amx
