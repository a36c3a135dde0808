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

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fuzz import REPO_ROOT, atheris_args, engine, oracle, registry, values
from fuzz.campaign import Campaign
from fuzz.findings import FindingStore

#: Cases per unit of a target's weight (the conv target has weight 6).
CASES_PER_WEIGHT = 8
SEED = 20261130

TARGETS = registry.select()


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
