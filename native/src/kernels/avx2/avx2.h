#pragma once
#include "kernels/kernels.h"
namespace wenxin::kernels::avx2 {
extern const KernelTable kTable;
}
