"""pyconvx's benchmark harness: pyconvx timed against its peers, as ratios.

Two measurements, each with a command line:

* the ratio table (:mod:`pyconvx_bench.table`): a fixed set of workloads, each
  against the peer that sets the bar for it (PyTorch, OpenCV, SciPy, NumPy),
  plus thread scaling, the first call and the peak memory measured in fresh
  processes (:mod:`pyconvx_bench.probes`);
* the model-zoo sweep (:mod:`pyconvx_bench.sweep`): every distinct convolution
  layer of a few well-known models (:mod:`pyconvx_bench.models`) against
  ``torch.nn.functional.conv1d/conv2d``.

``pyconvx bench`` runs them, as do ``bench/run_table.py`` and
``bench/sweep.py`` in the source tree.  Importing this package loads nothing
heavy: the measuring environment (:mod:`pyconvx_bench.environment`) has to be
set before NumPy, pyconvx or an OpenMP runtime is loaded.
"""


class HarnessError(Exception):
    """A failure the commands report as one line (a bad option, a missing peer)."""
