"""A bounded fuzz run under pytest (a few hundred cases, well under a minute).

Not part of ``tests/`` (the main suite stays fast); run it explicitly::

    python -m pytest -q fuzz/test_fuzz_smoke.py

Every default target runs a fixed, seeded set of cases in this process (a
failure prints the minimal case and how to replay it); the harness tests run
the worker pool on the self-check targets to show that a crash and a hang
are caught and reported with their case, that findings are shrunk and saved
as reproducers that replay, and that a campaign resumes from its checkpoint.
"""

import json
import subprocess
import sys
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fuzz import REPO_ROOT, atheris_args, engine, oracle, registry, values, winograd
from fuzz.campaign import Campaign
from fuzz.checks import Finding
from fuzz.findings import FindingStore
from fuzz.targets import invalid

#: Cases per unit of a target's weight (the conv target has weight 6).
CASES_PER_WEIGHT = 8
SEED = 20261130

TARGETS = registry.select()


# Cases with a NaN or Inf on the FFT path get that path's documented warning
# (tests/api/test_conv.py checks it); here only the results are checked.
@pytest.mark.filterwarnings("ignore:Use of fft convolution on input with NAN or inf")
@pytest.mark.parametrize("target", TARGETS, ids=[t.name for t in TARGETS])
def test_target(target):
    for module in target.requires:
        pytest.importorskip(module)
    result = engine.run_target(target, examples=CASES_PER_WEIGHT * target.weight,
                               random_seed=SEED)
    report = [f"{found.signature}: {found.message}\n  call: {target.describe(found.case)}\n"
              f"  case: {values.dumps(found.case)}" for found in result.findings]
    assert not report, "\n".join(report)
    assert result.cases >= CASES_PER_WEIGHT * target.weight


# ----------------------------------------------------------------------------- the oracle
def _ieee_conv1d(x, w, pad):
    """Cross-correlation of 1-d float64 lists by plain IEEE sums (NaN/Inf exact)."""
    xp = [0.0] * pad + list(x) + [0.0] * pad
    return [sum((xp[i + t] * w[t] for t in range(len(w))), 0.0)
            for i in range(len(xp) - len(w) + 1)]


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.lists(st.sampled_from([0.0, 1.0, -2.0, np.inf, -np.inf, np.nan]), min_size=1,
                max_size=6),
       st.lists(st.sampled_from([0.0, 1.5, -1.0, np.inf, -np.inf, np.nan]), min_size=1,
                max_size=3),
       st.integers(0, 2))
def test_oracle_places_nan_and_inf_as_ieee_sums_do(x, w, pad):
    if len(x) + 2 * pad < len(w):
        return
    expected = np.array(_ieee_conv1d(x, w, pad))
    kwargs = {"stride": 1, "padding": pad, "dilation": 1, "groups": 1, "flip": False,
              "padding_mode": "zeros"}
    got = oracle.conv_expected(np.array([[x]]), np.array([[w]]), None, kwargs)[0, 0]
    for test in (np.isnan, np.isposinf, np.isneginf):
        assert (test(got) == test(expected)).all(), (x, w, pad, got, expected)


def _tile_scale_by_loops(x, w, pads, groups, flip):
    """Winograd's T (see fuzz/winograd.py) of every output, one product at a time."""
    padded = np.pad(np.abs(x), ((0, 0), (0, 0)) + pads)
    c_out, c_in_g = w.shape[:2]
    h_out, w_out = padded.shape[2] - 2, padded.shape[3] - 2
    padded = np.pad(padded, ((0, 0), (0, 0), (0, 2), (0, 2)))   # past the edge: zeros
    kernel = np.abs(w[..., ::-1, ::-1] if flip else w)
    g, b_t, a_t = (np.abs(m) for m in (winograd.G, winograd.B_T, winograd.A_T))
    scale = np.zeros((x.shape[0], c_out, h_out, w_out))
    for n, co, i, j in np.ndindex(scale.shape):
        top, left = 2 * (i // 2), 2 * (j // 2)
        for ci in range(c_in_g):
            channel = (co // (c_out // groups)) * c_in_g + ci
            d = padded[n, channel, top:top + 4, left:left + 4]
            u, v = g @ kernel[co, ci] @ g.T, b_t @ d @ b_t.T
            for k, m in np.ndindex(4, 4):
                scale[n, co, i, j] += a_t[i % 2, k] * u[k, m] * v[k, m] * a_t[j % 2, m]
    return scale


def test_winograd_tile_scale_is_the_documented_sum():
    """tile_bound's vectorised T (tiles, groups, flip, padding, odd sizes) against loops."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 4, 5, 8))
    w = rng.standard_normal((6, 2, 3, 3))
    kwargs = {"stride": 1, "padding": ((1, 2), 0), "dilation": 1, "groups": 2, "flip": True,
              "padding_mode": "zeros"}
    bound = winograd.tile_bound(x, w, None, np.float64, kwargs)
    terms, tiny = 2 * 9 + 1, np.finfo(np.float64).smallest_subnormal
    scale = (bound - 2 * terms * tiny) / (terms * np.finfo(np.float64).eps)
    expected = _tile_scale_by_loops(x, w, ((1, 2), (0, 0)), 2, True)
    np.testing.assert_allclose(scale, expected, rtol=1e-12)
    assert bound.shape == oracle.conv_expected(x, w, None, kwargs).shape


def test_a_long_invalid_call_is_stopped_and_must_stop_promptly(monkeypatch):
    monkeypatch.setattr(invalid, "CALL_SECONDS", 0.1)
    monkeypatch.setattr(invalid, "INTERRUPT_SECONDS", 0.5)
    def sleep(secs):
        time.sleep(secs)

    start = time.monotonic()
    assert invalid.call_within_budget(sleep, {"secs": 30}, "sleep") == (None, None)
    assert time.monotonic() - start < 5

    def stubborn(secs):
        try:
            time.sleep(secs)
        except KeyboardInterrupt:
            time.sleep(1.0)  # stops, but later than INTERRUPT_SECONDS
            raise

    with pytest.raises(Finding, match="took"):
        invalid.call_within_budget(stubborn, {"secs": 30}, "stubborn")


# ----------------------------------------------------------------------------- the harness
def _campaign(tmp_path, names, **kwargs):
    targets = [registry.get(name) for name in names]
    return Campaign(targets, FindingStore(tmp_path / "findings"), log=lambda line: None,
                    **kwargs)


def test_pool_reports_a_crash_with_its_case_and_goes_on(tmp_path):
    campaign = _campaign(tmp_path, ["selftest.crash", "shapes.output_size"], total_cases=20,
                         jobs=1, job_examples=10).run()
    crashes = {sig: entry for sig, entry in campaign.store.index.items()
               if entry["kind"] == "crash"}
    assert list(crashes) == ["selftest.crash|crash|SIGSEGV"]
    script = campaign.store.directory / crashes["selftest.crash|crash|SIGSEGV"]["file"]
    assert "CASE = {'n': 3}" in script.read_text()  # replayed smaller until minimal
    assert campaign.state["per_target"]["shapes.output_size"] >= 10  # the run went on


def test_pool_reports_a_hang(tmp_path):
    campaign = _campaign(tmp_path, ["selftest.hang"], total_cases=1, jobs=1, job_examples=5,
                         case_timeout=2.0, minimize=False).run()
    assert "selftest.hang|crash|hang" in campaign.store.index


def test_findings_are_shrunk_and_their_reproducers_replay(tmp_path):
    campaign = _campaign(tmp_path, ["selftest.finding"], total_cases=40, jobs=1).run()
    entry = campaign.store.index["selftest.finding|selftest|n>=3"]
    assert entry["minimized"]
    script = campaign.store.directory / entry["file"]
    assert "CASE = {'n': 3}" in script.read_text()
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         cwd=str(REPO_ROOT), check=False)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "finding: selftest" in run.stdout


def test_campaign_resumes_from_its_checkpoint(tmp_path):
    state = tmp_path / "campaign.json"
    first = _campaign(tmp_path, ["shapes.output_size"], total_cases=30, jobs=1,
                      job_examples=10, state_path=state).run()
    saved = json.loads(state.read_text())
    assert saved["cases"] == first.state["cases"] >= 30
    assert saved["pending"] == []
    second = _campaign(tmp_path, ["shapes.output_size"], total_cases=60, jobs=1,
                       job_examples=10, state_path=state).run()
    assert second.state["cases"] >= 60
    assert second.state["next_job"] == saved["next_job"] + (second.state["cases"]
                                                            - saved["cases"]) // 10


# ----------------------------------------------------------------------------- atheris
@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.binary(max_size=64))
def test_atheris_decoder_raises_only_documented_errors(data):
    atheris_args.one_input(data)


def test_atheris_decoder_reaches_every_function():
    seen = {atheris_args.decode(bytes([first]))[0] for first in range(3)}
    assert seen == {"output_shape", "plan", "conv"}
