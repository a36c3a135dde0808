/* Undo begin.h for the next element type. */
#undef PCX_CFG
#undef PCX_UKERNEL
#undef PCX_HELPER
#undef PCX_ACC_ADD
#undef PCX_VL
#undef VEC
#undef UVEC
#undef IVEC
