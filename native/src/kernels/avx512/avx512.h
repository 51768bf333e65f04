#pragma once
#include "kernels/kernels.h"
namespace wenxin::kernels::avx512 {
extern const KernelTable kTable;
}
