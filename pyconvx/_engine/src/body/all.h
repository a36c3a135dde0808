/* Every microkernel body for one element type (PCX_TEMPLATE_TYPE, tag PCX_T),
 * included twice by ukernel_set.h (float, then double). */
#include "begin.h"
#include "gemm.h"
#include "rowblock.h"
#include "depthwise.h"
#include "winograd.h"
#include "gather.h"
#include "transpose.h"
#include "taps.h"
#include "probe.h"
#include "end.h"
