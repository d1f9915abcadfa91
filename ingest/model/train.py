"""Train the site risk model on a synthetic data set and export it to ONNX.

The data set is generated from rules taken from shared/DOMAIN.md (gas analysis criteria, oxygen
range, SIMOPS, hot work at night, wind limits, guardian duty). The model learns a risk score in
0..1 from a snapshot of one work area: the latest environment readings, the AI detections seen
recently, the time of day and the permit types active in the area. The ingest service adds hard
rules on top (flammable gas above the permit criterion is always grade I), so the model only has
to rank everything that the hard rules do not decide.

Usage:  python train.py [--out DIR]      (writes risk-model.onnx, manifest.json, evaluation.json)
Everything is seeded: the same pinned requirements give the same model file and hash on a CPU
that OpenBLAS drives with the same kernels (the manifest records which: training.blas), and
OpenBLAS is asked for its Haswell kernels wherever the CPU has them (below).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
from pathlib import Path


def _cpu_runs_haswell_kernels() -> bool:
    """AVX2 and FMA, which OpenBLAS's Haswell kernels need (Linux's /proc/cpuinfo; elsewhere: no)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            flags = next((line.split() for line in cpuinfo if line.startswith("flags")), [])
    except OSError:
        return False
    return "avx2" in flags and "fma" in flags


# OpenBLAS picks its CPU kernels when numpy loads it, and their rounding decides the model's
# bytes: a SkylakeX machine and a Haswell one trained two models of the same quality. Haswell's
# kernels run on nearly every x86-64 CPU of the last decade (SkylakeX and Zen included), so they
# are asked for wherever the CPU has them, and the same requirements give the same bytes on any
# such machine, not only on one of the CPU the model was trained on. A caller's own
# OPENBLAS_CORETYPE is kept.
if "OPENBLAS_CORETYPE" not in os.environ and _cpu_runs_haswell_kernels():
    os.environ["OPENBLAS_CORETYPE"] = "Haswell"

import numpy as np  # noqa: E402  (after OPENBLAS_CORETYPE, which OpenBLAS reads when numpy loads it)
from skl2onnx import convert_sklearn  # noqa: E402
from skl2onnx.common.data_types import FloatTensorType  # noqa: E402
from sklearn.metrics import precision_score, recall_score, roc_auc_score  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from threadpoolctl import threadpool_info, threadpool_limits  # noqa: E402

MODEL_NAME = "site-risk-mlp"
MODEL_VERSION = "1.1.0"
SEED = 20260601
N_TRAIN = 60_000
N_TEST = 20_000
# Threaded OpenBLAS products are not reproducible from run to run (two runs with 2 threads on the
# same machine gave two different models); single-threaded ones are, on any number of cores.
BLAS_THREADS = 1

# Keep in the same order as ingest/src/features.ts; a test compares the two through the manifest.
BEHAVIOURS = [
    "no_helmet",
    "no_harness",
    "no_protective_clothing",
    "smoking",
    "warning_zone_intrusion",
    "fatigue",
    "guardian_absent",
    "fire_smoke",
    "phone_use",
    "unauthorized_person",
    "person_down",
    "extinguisher_missing",
]
PERMIT_TYPES = [
    "hot_work",
    "confined_space",
    "blind_plate",
    "work_at_height",
    "lifting",
    "temporary_electricity",
    "excavation",
    "road_breaking",
]
ENV_FEATURES = [
    "gas_lel_pct",
    "gas_criterion_ratio",
    "o2_pct",
    "h2s_ppm",
    "co_ppm",
    "temperature_c",
    "wind_ms",
]
TIME_FEATURES = ["hour_sin", "hour_cos", "night"]
FEATURES = (
    ENV_FEATURES
    + [f"det_{b}" for b in BEHAVIOURS]
    + TIME_FEATURES
    + [f"permit_{p}" for p in PERMIT_TYPES]
)

# Score thresholds for grades (1 = grade I, most severe). Below grade IV's threshold: no alarm.
GRADE_THRESHOLDS = {"1": 0.95, "2": 0.85, "3": 0.7, "4": 0.5}

# Numbers from DOMAIN.md; toxic limits are GBZ 2.1 values converted to ppm (unverified, so the
# service reads its own copies from configuration).
O2_LOW, O2_HIGH, O2_NEVER_ABOVE = 19.5, 21.0, 23.5
H2S_LIMIT_PPM, CO_LIMIT_PPM = 7.0, 26.0
WIND_FORCE5_MS, WIND_FORCE6_MS = 8.0, 10.8


def criterion_ratio(lel_pct: np.ndarray, gas_lel_vol: np.ndarray) -> np.ndarray:
    """Concentration in % by volume divided by the permit criterion (0.5 % or 0.2 % by volume)."""
    vol_pct = lel_pct / 100.0 * gas_lel_vol
    criterion = np.where(gas_lel_vol >= 4.0, 0.5, 0.2)
    return vol_pct / criterion


def generate(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    hour = rng.uniform(0, 24, n)
    night = ((hour < 6) | (hour >= 20)).astype(float)
    permit = {p: (rng.random(n) < q).astype(float) for p, q in zip(
        PERMIT_TYPES, [0.35, 0.2, 0.1, 0.25, 0.15, 0.2, 0.1, 0.05])}
    hot, confined = permit["hot_work"], permit["confined_space"]
    height, lifting = permit["work_at_height"], permit["lifting"]

    # Flammable gas: mostly clean air, a share near the permit criterion, a few leaks.
    regime = rng.random(n)
    lel = np.where(regime < 0.80, rng.exponential(1.5, n),
                   np.where(regime < 0.96, rng.uniform(3, 14, n), rng.uniform(14, 80, n)))
    lel = np.clip(lel, 0, 100)
    gas_lel_vol = rng.choice([5.0, 4.0, 2.1, 1.4], n, p=[0.6, 0.15, 0.15, 0.1])
    ratio = criterion_ratio(lel, gas_lel_vol)

    o2 = rng.normal(20.9, 0.15, n)
    bad_o2 = rng.random(n)
    o2 = np.where(bad_o2 < 0.05, rng.uniform(16, 19.6, n), o2)
    o2 = np.where(bad_o2 > 0.96, rng.uniform(21.0, 25.0, n), o2)
    h2s = np.where(rng.random(n) < 0.06, rng.uniform(2, 30, n), rng.exponential(0.4, n))
    co = np.where(rng.random(n) < 0.06, rng.uniform(10, 120, n), rng.exponential(3, n))
    temp = rng.uniform(-10, 45, n)
    wind = np.where(rng.random(n) < 0.15, rng.uniform(6, 16, n), rng.gamma(2.0, 1.5, n))

    det = {}
    for b in BEHAVIOURS:
        present = rng.random(n) < (0.03 if b in ("fire_smoke", "person_down") else 0.07)
        det[b] = np.where(present, rng.uniform(0.4, 1.0, n), 0.0)

    risk = np.zeros(n)
    # Gas: above the criterion is decisive; near it (60–100 %) is risky, more so with hot work.
    risk += np.where(ratio > 1.0, 1.0, np.where(ratio > 0.6, 0.3 + 0.3 * hot, 0.0))
    # Oxygen: deficiency or > 23.5 % is dangerous, above all in a confined space; enrichment
    # (21–23.5 %) feeds fire during hot work.
    o2_out = (o2 < O2_LOW) | (o2 > O2_NEVER_ABOVE)
    risk += np.where(o2_out, 0.5 + 0.4 * confined, 0.0)
    risk += np.where((o2 > O2_HIGH) & ~o2_out, 0.1 + 0.35 * hot, 0.0)
    risk += np.where(h2s > H2S_LIMIT_PPM, 0.6 + 0.2 * confined, 0.0)
    risk += np.where(co > CO_LIMIT_PPM, 0.5 + 0.2 * confined, 0.0)
    # Hot work at night is raised one level; outdoor hot work and height stop at force 5, lifting
    # at force 6; cold and heat add to height and confined-space risk.
    risk += 0.25 * hot * night
    risk += np.where(wind >= WIND_FORCE5_MS, 0.55 * np.maximum(hot, height), 0.0)
    risk += np.where(wind >= WIND_FORCE6_MS, 0.55 * lifting, 0.0)
    risk += np.where(temp <= 5, 0.15 * height, 0.0) + np.where(temp >= 40, 0.3 * confined, 0.0)
    # Detections, weighted by confidence and by the operations they endanger.
    guarded_work = np.maximum(hot, confined)
    risk += det["guardian_absent"] * (0.1 + 0.6 * guarded_work)
    risk += det["smoking"] * (0.3 + 0.5 * np.maximum(hot, (ratio > 0.3).astype(float)))
    risk += det["fire_smoke"] * 0.95
    risk += det["person_down"] * 0.85
    risk += det["no_harness"] * (0.1 + 0.6 * height)
    risk += det["no_helmet"] * 0.25
    risk += det["no_protective_clothing"] * (0.2 + 0.15 * hot)
    risk += det["warning_zone_intrusion"] * (0.3 + 0.25 * lifting)
    risk += det["fatigue"] * 0.2
    risk += det["phone_use"] * (0.1 + 0.2 * hot)
    risk += det["unauthorized_person"] * (0.35 + 0.2 * confined)
    risk += det["extinguisher_missing"] * 0.45 * hot

    # Label noise stands in for the judgement of the human reviewers the labels would come from.
    label = (risk + rng.normal(0, 0.08, n) >= 0.5).astype(int)

    columns = [lel, ratio, o2, h2s, co, temp, wind]
    columns += [det[b] for b in BEHAVIOURS]
    columns += [np.sin(2 * np.pi * hour / 24), np.cos(2 * np.pi * hour / 24), night]
    columns += [permit[p] for p in PERMIT_TYPES]
    x = np.stack(columns, axis=1).astype(np.float32)
    # Situations named in DOMAIN.md, to report how well each is caught (evaluation only).
    situations = {
        "gas_above_permit_criterion": ratio > 1.0,
        "gas_near_criterion_during_hot_work": (ratio > 0.6) & (ratio <= 1.0) & (hot > 0),
        "o2_out_of_range_in_confined_space": o2_out & (confined > 0),
        "guardian_absent_during_hot_work_or_confined_space": (det["guardian_absent"] > 0) & (guarded_work > 0),
        "hot_work_at_night": (hot > 0) & (night > 0),
        "wind_force5_during_hot_work_or_height": (wind >= WIND_FORCE5_MS) & (np.maximum(hot, height) > 0),
        "smoking_during_hot_work": (det["smoking"] > 0) & (hot > 0),
        "no_harness_at_height": (det["no_harness"] > 0) & (height > 0),
    }
    return x, label, situations


def evaluate(y: np.ndarray, score: np.ndarray, situations: dict[str, np.ndarray]) -> dict:
    report = {"samples": int(len(y)), "positives": int(y.sum()),
              "rocAuc": round(float(roc_auc_score(y, score)), 4), "byThreshold": {}}
    for grade, t in sorted(GRADE_THRESHOLDS.items()):
        pred = (score >= t).astype(int)
        report["byThreshold"][f"grade{grade}_{t}"] = {
            "threshold": t,
            "alarms": int(pred.sum()),
            "precision": round(float(precision_score(y, pred, zero_division=0)), 4),
            "recall": round(float(recall_score(y, pred, zero_division=0)), 4),
        }
    # Per situation: how often it is labelled risky, and how many of those the lowest alarm
    # threshold catches (the service's hard rules cover gas above the criterion regardless).
    alarm = score >= GRADE_THRESHOLDS["4"]
    report["bySituation"] = {}
    for name, mask in situations.items():
        positives = mask & (y == 1)
        report["bySituation"][name] = {
            "samples": int(mask.sum()),
            "labelledRisky": round(float(y[mask].mean()), 4) if mask.any() else None,
            "recallAtGrade4": round(float(alarm[positives].mean()), 4) if positives.any() else None,
        }
    return report


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
    out = Path(parser.parse_args().out)
    out.mkdir(parents=True, exist_ok=True)

    rng = np.random.default_rng(SEED)
    x_train, y_train, _ = generate(rng, N_TRAIN)
    x_test, y_test, situations = generate(rng, N_TEST)

    model = Pipeline([
        ("scale", StandardScaler()),
        ("mlp", MLPClassifier(hidden_layer_sizes=(32, 16), alpha=1e-4, max_iter=200,
                              early_stopping=True, random_state=SEED)),
    ])
    with threadpool_limits(limits=BLAS_THREADS, user_api="blas"):
        model.fit(x_train, y_train)
        score = model.predict_proba(x_test)[:, 1]
        # The CPU kernels OpenBLAS picked decide the rounding too (see OPENBLAS_CORETYPE above):
        # recorded, so that a test on another machine knows whether the bytes can match.
        blas = sorted({f"{lib['internal_api']} {lib['architecture']}, {lib['num_threads']} threads"
                       for lib in threadpool_info() if lib["user_api"] == "blas"})

    onx = convert_sklearn(model, name=MODEL_NAME,
                          initial_types=[("features", FloatTensorType([None, len(FEATURES)]))],
                          options={id(model): {"zipmap": False}}, target_opset=17)
    # A fixed producer version keeps the file (and so its hash) independent of the exporter's
    # build metadata.
    onx.producer_version = "pinned"
    data = onx.SerializeToString()
    onnx_file = out / "risk-model.onnx"
    onnx_file.write_bytes(data)
    sha256 = hashlib.sha256(data).hexdigest()

    evaluation = {"model": MODEL_NAME, "version": MODEL_VERSION, "sha256": sha256,
                  "heldOut": evaluate(y_test, score, situations)}
    # Golden vectors let the Node side prove onnxruntime-node reproduces scikit-learn's scores.
    golden_idx = np.linspace(0, N_TEST - 1, 16).astype(int)
    goldens = [{"features": [float(v) for v in x_test[i]], "score": float(score[i])}
               for i in golden_idx]
    manifest = {
        "name": MODEL_NAME,
        "version": MODEL_VERSION,
        "file": onnx_file.name,
        "sha256": sha256,
        "input": "features",
        "output": "probabilities",
        "positiveClassIndex": 1,
        "features": FEATURES,
        "behaviours": BEHAVIOURS,
        "permitTypes": PERMIT_TYPES,
        "gradeThresholds": GRADE_THRESHOLDS,
        "training": {"seed": SEED, "train": N_TRAIN, "test": N_TEST,
                     "estimator": "StandardScaler + MLPClassifier(32, 16)",
                     "iterations": int(model.named_steps["mlp"].n_iter_), "blas": blas},
        "evaluationFile": "evaluation.json",
        "goldens": goldens,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    (out / "evaluation.json").write_text(json.dumps(evaluation, indent=2) + "\n")
    print(json.dumps(evaluation["heldOut"], indent=2))
    print(f"wrote {onnx_file} sha256={sha256}")


if __name__ == "__main__":
    main()
