/* The FMA peak probe: PCX_PROBE_CHAINS independent fused multiply-add chains,
 * as many as the set's vector registers hold beside the two constants (more
 * would spill to memory and halve the rate; fewer than the FMA latency times
 * the number of FMA units would leave them idle). */
static double PCX_UKERNEL(fma_probe, PCX_CAT(PCX_PROBE_CHAINS, chains))(int64_t iterations)
{
    VEC acc[PCX_PROBE_CHAINS];
    const VEC scale = (VEC){0} + (PCX_TEMPLATE_TYPE)0.999999;
    const VEC shift = (VEC){0} + (PCX_TEMPLATE_TYPE)1e-7;
    PCX_UNROLL for (int i = 0; i < PCX_PROBE_CHAINS; ++i)
        acc[i] = (VEC){0} + (PCX_TEMPLATE_TYPE)(1 + i);
    for (int64_t it = 0; it < iterations; ++it) {
        PCX_UNROLL for (int i = 0; i < PCX_PROBE_CHAINS; ++i)
            acc[i] = acc[i] * scale + shift;
    }
    double total = 0;
    for (int i = 0; i < PCX_PROBE_CHAINS; ++i)
        for (int l = 0; l < PCX_VL; ++l)
            total += acc[i][l];
    return total;
}
