"""Command line of the fuzzer (see fuzz/README.md).

    python -m fuzz list
    python -m fuzz run --examples 2000 [--jobs 2] [--targets conv,signal] [--seed 1]
    python -m fuzz run --budget-seconds 60
    python -m fuzz campaign --cases 1000000 --jobs 2 [--fresh]
    python -m fuzz replay --case-file FILE
"""

import argparse
import shutil
import signal
import sys
import time
from pathlib import Path

from . import registry, values
from .campaign import JOB_EXAMPLES, Campaign
from .findings import DEFAULT_DIR, FindingStore


def _targets(names):
    chosen = registry.select(names.split(",") if names else None)
    usable = []
    for target in chosen:
        missing = target.missing()
        if missing:
            print(f"skipping {target.name}: needs {', '.join(missing)}")
        else:
            usable.append(target)
    if not usable:
        raise SystemExit("no fuzz target to run")
    return usable


def _header(args, targets):
    import pyconvx

    config = pyconvx.show_config(print_=False)
    print(f"pyconvx {config['version']} from {pyconvx.__file__}")
    print(f"  openmp {config['openmp']}, simd {config['simd_level']}, "
          f"{len(targets)} targets, {args.jobs} worker processes, seed {args.seed}")


def _summary(campaign, seconds):
    print(f"\n{campaign.run_cases} cases in {seconds:.1f} s ({campaign.rate():.1f} cases/s) "
          f"with {campaign.jobs} workers")
    per_target = campaign.state["per_target"]
    for name in sorted(per_target):
        print(f"  {name:28s} {per_target[name]:8d} cases")
    if campaign.state["worst_ratio"]:
        print("largest error/bound ratio per comparison:")
        for key, ratio in sorted(campaign.state["worst_ratio"].items()):
            print(f"  {key:48s} {ratio:.3g}")
    if campaign.run_findings:
        print(f"findings ({len(campaign.run_findings)} signatures) in "
              f"{campaign.store.directory}:")
        for signature, count in sorted(campaign.run_findings.items()):
            entry = campaign.store.index[signature]
            print(f"  {count:7d} x {signature}\n            {entry['file']}")
    else:
        print("no findings")


def _interrupt(signum, frame):
    """SIGTERM stops a campaign as Ctrl-C does: workers stopped, checkpoint kept."""
    raise KeyboardInterrupt


def cmd_list(args):
    for target in registry.select(include_self_checks=True):
        missing = target.missing()
        note = f"  (needs {', '.join(missing)})" if missing else ""
        default = "" if target.default else "  [not in default runs]"
        print(f"{target.name:28s} weight {target.weight}  {', '.join(target.functions)}"
              f"{note}{default}")
    return 0


def cmd_run(args):
    targets = _targets(args.targets)
    if args.examples is None and args.budget_seconds is None:
        args.examples = 1000
    _header(args, targets)
    store = FindingStore(args.findings_dir)
    campaign = Campaign(targets, store, total_cases=args.examples,
                        budget_seconds=args.budget_seconds, jobs=args.jobs,
                        base_seed=args.seed, job_examples=args.job_examples,
                        case_timeout=args.case_timeout, minimize=not args.no_minimize)
    start = time.monotonic()
    campaign.run()
    _summary(campaign, time.monotonic() - start)
    return 1 if campaign.run_findings else 0


def cmd_campaign(args):
    targets = _targets(args.targets)
    store = FindingStore(args.findings_dir)
    state = store.directory / "campaign.json"
    if args.fresh and state.exists():
        state.unlink()
    _header(args, targets)
    campaign = Campaign(targets, store, total_cases=args.cases, jobs=args.jobs,
                        base_seed=args.seed, state_path=state, job_examples=args.job_examples,
                        case_timeout=args.case_timeout, minimize=not args.no_minimize)
    start = time.monotonic()
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        campaign.run()
    except KeyboardInterrupt:
        print(f"\ninterrupted: resume with the same command (checkpoint {state})")
        return 130
    _summary(campaign, time.monotonic() - start)
    return 1 if campaign.run_findings else 0


def cmd_replay(args):
    import faulthandler

    from .replay import replay_main

    faulthandler.enable()
    text = Path(args.case_file).read_text().split("\n")
    target = text[0]
    rest = [line for line in text[1:] if line.strip()]
    case = values.loads(rest[-1])
    return replay_main(target, case, quiet=args.quiet)


def cmd_clean(args):
    shutil.rmtree(args.findings_dir, ignore_errors=True)
    print(f"removed {args.findings_dir}")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m fuzz", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p):
        p.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
        p.add_argument("--targets", help="comma-separated targets or families (default: all)")
        p.add_argument("--seed", type=int, default=0, help="random seed of the whole run")
        p.add_argument("--findings-dir", default=str(DEFAULT_DIR),
                       help="where reproducers go (default fuzz/findings)")
        p.add_argument("--job-examples", type=int, default=JOB_EXAMPLES,
                       help=f"cases per job (default {JOB_EXAMPLES})")
        p.add_argument("--case-timeout", type=float, default=30.0,
                       help="seconds one case may run before it counts as a hang")
        p.add_argument("--no-minimize", action="store_true",
                       help="save crashes as they happened, without replaying them smaller")

    p = sub.add_parser("list", help="list the targets")
    p.set_defaults(func=cmd_list)
    p = sub.add_parser("run", help="a bounded run")
    common(p)
    p.add_argument("--examples", type=int, help="cases in all (default 1000)")
    p.add_argument("--budget-seconds", type=float, help="stop starting jobs after this long")
    p.set_defaults(func=cmd_run)
    p = sub.add_parser("campaign", help="a long, checkpointed, resumable run")
    common(p)
    p.add_argument("--cases", type=int, default=1_000_000, help="cases in all")
    p.add_argument("--fresh", action="store_true", help="discard the checkpoint and start over")
    p.set_defaults(func=cmd_campaign)
    p = sub.add_parser("replay", help="replay one saved case (the crash minimiser uses it)")
    p.add_argument("--case-file", required=True)
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_replay)
    p = sub.add_parser("clean", help="delete the findings directory")
    p.add_argument("--findings-dir", default=str(DEFAULT_DIR))
    p.set_defaults(func=cmd_clean)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
