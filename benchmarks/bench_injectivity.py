"""Injectivity benchmarks: maximal-bias constructions on random frames, digits MLP layers.

Run from the repository root::

    python benchmarks/bench_injectivity.py            # a few minutes on 2 cores
    python benchmarks/bench_injectivity.py --quick    # smoke run (seconds)

(1) Random Gaussian frames, n = 2..8, m = n..12n (a sub-grid of the redundancies
m/n): per neuron, the share whose (unit-row, unit-sphere) bias alpha_hat is >= 0,
>= -0.1 and >= an independent N(0, 1) draw, for the exact polytope construction
(n <= 6, omnidirectional frames) and for Monte Carlo sampling; time per frame and
method and their ratio; agreement of the two constructions; validity of the
sampled bias on fresh sphere points (without margin and with the covering-radius
margin); and the sampled probability that zero bias is valid (the critical
redundancy m ~ 6.7 n sanity check).

(2) The first hidden layer of polyfold.zoo.digits_mlp for the six architectures on
the digits test set: is every test point the unique preimage of its first-layer
output, the ranks of the active rows, whether distinct test points at least get
distinct outputs, and the bias margin (largest uniform shift of alpha keeping
every point's active rows at rank W; negative = thresholds must come down).

Writes benchmarks/results/injectivity.json.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from polyfold import zoo  # noqa: E402
from polyfold.datasets import load_digits_split  # noqa: E402
from polyfold.exceptions import DegenerateInputError  # noqa: E402
from polyfold.injectivity import (  # noqa: E402
    bias_margin,
    check_injectivity,
    is_alpha_rectifying_at,
    layer_weights,
    maximal_bias,
)

RATIOS = (1, 2, 3, 4, 6, 8, 10, 12)


def sphere(n, k, rng):
    X = rng.standard_normal((k, n))
    return X / np.linalg.norm(X, axis=1)[:, None]


def frames_experiment(dims, ratios, n_frames, n_samples, n_check, polytope_max_n, seed):
    rng = np.random.default_rng(seed)
    rows = []
    for n in dims:
        for r in ratios:
            m = r * n
            acc = {k: [] for k in ("poly_ge0", "poly_ge01", "poly_geN", "samp_ge0", "samp_ge01",
                                   "samp_geN", "t_poly", "t_samp", "gap", "samp_above",
                                   "samp_valid", "cov_valid", "zero_ok", "poly_all_ge0",
                                   "cov_ge0", "poly_mean", "samp_mean", "cov_mean")}
            n_omni = 0
            for _ in range(n_frames):
                W = rng.standard_normal((m, n))
                draw = rng.standard_normal(m)  # an independent N(0, 1) bias per neuron
                check = sphere(n, n_check, rng)
                t0 = time.perf_counter()
                s = maximal_bias(W, method="sampling", n_samples=n_samples, seed=rng)
                acc["t_samp"].append(time.perf_counter() - t0)
                ah = s.alpha_hat
                acc["samp_ge0"].append(np.mean(ah >= 0))
                acc["samp_ge01"].append(np.mean(ah >= -0.1))
                acc["samp_geN"].append(np.mean(ah >= draw))
                U = W / np.linalg.norm(W, axis=1)[:, None]
                acc["samp_valid"].append(bool(is_alpha_rectifying_at(U, check, alpha=ah).all()))
                cov = maximal_bias(W, method="sampling", n_samples=n_samples, seed=np.random.default_rng(1),
                                   margin="covering")  # independent samples, conservative
                acc["cov_valid"].append(bool(is_alpha_rectifying_at(U, check, alpha=cov.alpha_hat).all()))
                acc["cov_ge0"].append(np.mean(cov.alpha_hat >= 0))
                acc["cov_mean"].append(float(np.mean(cov.alpha_hat)))
                acc["samp_mean"].append(float(np.mean(ah)))
                acc["zero_ok"].append(bool(is_alpha_rectifying_at(U, check, alpha=0.0).all()))
                if n <= polytope_max_n:
                    try:
                        t0 = time.perf_counter()
                        p = maximal_bias(W, method="polytope")
                        acc["t_poly"].append(time.perf_counter() - t0)
                    except DegenerateInputError:  # not omnidirectional (e.g. m = n)
                        p = None
                    if p is not None:
                        n_omni += 1
                        ph = p.alpha_hat
                        acc["poly_ge0"].append(np.mean(ph >= 0))
                        acc["poly_ge01"].append(np.mean(ph >= -0.1))
                        acc["poly_geN"].append(np.mean(ph >= draw))
                        acc["poly_all_ge0"].append(bool(np.all(ph >= 0)))
                        acc["poly_mean"].append(float(np.mean(ph)))
                        acc["gap"].append(float(np.mean(ah - ph)))
                        acc["samp_above"].append(float(np.mean(ah >= ph - 1e-12)))
            mean = lambda k: float(np.mean(acc[k])) if acc[k] else None  # noqa: E731
            row = {
                "n": n, "m": m, "ratio": r, "frames": n_frames, "omnidirectional": n_omni,
                "poly_share_ge0": mean("poly_ge0"), "poly_share_ge-0.1": mean("poly_ge01"),
                "poly_share_geN01": mean("poly_geN"), "poly_all_ge0": mean("poly_all_ge0"),
                "samp_share_ge0": mean("samp_ge0"), "samp_share_ge-0.1": mean("samp_ge01"),
                "samp_share_geN01": mean("samp_geN"), "covering_share_ge0": mean("cov_ge0"),
                "mean_alpha_hat_poly": mean("poly_mean"), "mean_alpha_hat_samp": mean("samp_mean"),
                "mean_alpha_hat_covering": mean("cov_mean"),
                "mean_samp_minus_poly": mean("gap"), "share_samp_ge_poly": mean("samp_above"),
                "samp_valid_frames": mean("samp_valid"), "covering_valid_frames": mean("cov_valid"),
                "zero_bias_valid_frames": mean("zero_ok"),
                "t_poly_s": mean("t_poly"), "t_samp_s": mean("t_samp"),
            }
            row["time_ratio_samp_over_poly"] = (
                row["t_samp_s"] / row["t_poly_s"] if row["t_poly_s"] else None)
            rows.append(row)
            print(_frame_line(row), flush=True)
    return rows


def _fmt(v, spec="{:.2f}"):
    return "   -" if v is None else spec.format(v)


FRAME_HEADER = (
    " n    m  m/n | poly>=0 >=-.1 >=N | samp>=0 >=-.1 >=N | cov>=0 | samp-poly samp>=poly | "
    "valid: samp cov zero | t_poly[ms] t_samp[ms] ratio"
)


def _frame_line(r):
    return (
        f"{r['n']:2d} {r['m']:4d} {r['ratio']:4d} | "
        f"{_fmt(r['poly_share_ge0'])}  {_fmt(r['poly_share_ge-0.1'])} {_fmt(r['poly_share_geN01'])} | "
        f"{_fmt(r['samp_share_ge0'])}  {_fmt(r['samp_share_ge-0.1'])} {_fmt(r['samp_share_geN01'])} | "
        f"{_fmt(r['covering_share_ge0']):>6} | "
        f"{_fmt(r['mean_samp_minus_poly'], '{:+.3f}'):>9} {_fmt(r['share_samp_ge_poly']):>11} | "
        f"{_fmt(r['samp_valid_frames']):>11} {_fmt(r['covering_valid_frames'])} {_fmt(r['zero_bias_valid_frames'])} | "
        f"{_fmt(None if r['t_poly_s'] is None else 1e3 * r['t_poly_s'], '{:.1f}'):>10} "
        f"{1e3 * r['t_samp_s']:10.1f} {_fmt(r['time_ratio_samp_over_poly'], '{:.2f}'):>5}"
    )


def digits_experiment(archs):
    _, _, Xte, _ = load_digits_split()
    centred = Xte - Xte.mean(axis=0)
    data_dim = int(np.linalg.matrix_rank(centred))
    rows = []
    for arch in archs:
        net = zoo.digits_mlp(arch)
        W, alpha = layer_weights(net, 0)
        t0 = time.perf_counter()
        v = check_injectivity((net, 0), domain=Xte, exact=True)
        t_check = time.perf_counter() - t0
        Y = np.maximum(Xte @ W.T - alpha, 0)
        distinct = len(np.unique(Y, axis=0))
        bm = bias_margin((net, 0), Xte)
        act = v.active_sets
        row = {
            "arch": arch, "m": int(W.shape[0]), "n": int(W.shape[1]), "rank_W": int(np.linalg.matrix_rank(W)),
            "test_points": int(len(Xte)), "data_affine_dim": data_dim,
            "injective_on_data": bool(v.is_injective), "points_failing": int(v.failing.sum()),
            "rank_active_min": int(v.ranks.min()), "rank_active_mean": float(v.ranks.mean()),
            "rank_active_max": int(v.ranks.max()),
            "active_mean": float(act.sum(axis=1).mean()),
            "never_active_neurons": int(np.sum(~act.any(axis=0))),
            "distinct_outputs": int(distinct),
            "margin_target_rank": int(bm.target_rank), "bias_margin_min": float(bm.margin),
            "bias_margin_median": float(np.median(bm.per_point)),
            "points_below_target": int(bm.n_below),
            "witness_collision_verified": bool(v.collision_verified), "t_check_s": t_check,
        }
        rows.append(row)
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny grid (smoke test)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "injectivity.json"))
    args = ap.parse_args(argv)
    if args.quick:
        cfg = dict(dims=(2, 3), ratios=(1, 4, 8), n_frames=2, n_samples=5000, n_check=5000,
                   polytope_max_n=6)
        archs = ("10x6",)
    else:
        cfg = dict(dims=(2, 3, 4, 5, 6, 7, 8), ratios=RATIOS, n_frames=4, n_samples=20_000,
                   n_check=20_000, polytope_max_n=6)
        archs = ("2x30", "3x20", "4x15", "5x12", "6x10", "10x6")
    t0 = time.perf_counter()
    print("(1) random Gaussian frames: shares of neurons (unit rows, unit sphere); "
          f"{cfg['n_frames']} frames per cell, N = {cfg['n_samples']} samples, validity on "
          f"{cfg['n_check']} fresh sphere points")
    print(FRAME_HEADER)
    frames = frames_experiment(seed=args.seed, **cfg)
    print()
    print("(2) first hidden layer of the digits MLPs on the digits test set")
    digits = digits_experiment(archs)
    print(" arch   m  rankW   n  inj  fail  rank(W_I) min/mean/max  active  dead  distinct/pts"
          "  margin min / median  t[s]")
    for r in digits:
        print(f"{r['arch']:>5} {r['m']:3d} {r['rank_W']:5d} {r['n']:3d}  {str(r['injective_on_data'])[0]}  "
              f"{r['points_failing']:4d}  {r['rank_active_min']:5d} /{r['rank_active_mean']:5.1f} /"
              f"{r['rank_active_max']:3d}     {r['active_mean']:6.1f}  {r['never_active_neurons']:4d}  "
              f"{r['distinct_outputs']:4d}/{r['test_points']}  {r['bias_margin_min']:+8.3f} / "
              f"{r['bias_margin_median']:+7.3f}  {r['t_check_s']:.2f}")
    total = time.perf_counter() - t0
    print(f"\ntotal {total:.1f} s")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "command": "python benchmarks/bench_injectivity.py" + (" --quick" if args.quick else ""),
        "config": {k: list(v) if isinstance(v, tuple) else v for k, v in cfg.items()},
        "seed": args.seed, "frames": frames, "digits": digits, "total_s": total,
    }, indent=1))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
