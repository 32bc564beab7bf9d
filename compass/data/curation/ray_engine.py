"""``--engine ray``: the same stages on Ray Data (a local ``ray.init`` or a cluster address).

Files are read in parallel (``flat_map`` over the file list), phase A and phase B run as
``map_batches`` over actor pools (each actor builds its language identifier once), and the quality
model is trained on the driver from the same hash-selected sample the local engine uses. The
global step (dedup clusters + weights) runs on the driver over the collected survivors with
:func:`finalize`, exactly as in-process; so the kept set is identical to the local engine's.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from pathlib import Path

import numpy as np

from compass.data.curation.config import CurationConfig
from compass.data.curation.langid import LanguageIdentifier
from compass.data.curation.pipeline import CurationResult, finalize, train_quality, training_texts
from compass.data.curation.quality import QualityModel
from compass.data.curation.readers import list_inputs, read_file
from compass.data.curation.records import FIELDS
from compass.data.curation.stages import PhaseB, phase_a

log = logging.getLogger(__name__)


def _to_records(batch: dict) -> list[dict]:
    cols = {k: (v.tolist() if hasattr(v, "tolist") else list(v)) for k, v in batch.items()}
    n = len(cols["uid"])
    return [{k: cols[k][i] for k in cols} for i in range(n)]


def _to_columns(records: list[dict], keys: tuple[str, ...]) -> dict:
    return {k: [r.get(k, "") for r in records] for k in keys}


class _ReadFile:
    def __init__(self, cfg_dict: dict) -> None:
        self.cfg = CurationConfig.from_dict(cfg_dict)

    def __call__(self, row: dict) -> list[dict]:
        return [{k: r[k] for k in FIELDS} for r in read_file(row["path"], self.cfg.reader)]


class _PhaseA:
    def __init__(self, cfg_dict: dict) -> None:
        self.cfg = CurationConfig.from_dict(cfg_dict)
        self.lid = LanguageIdentifier(self.cfg.langid)

    def __call__(self, batch: dict) -> dict:
        stats: Counter = Counter()
        recs = phase_a(_to_records(batch), self.cfg, self.lid, stats)
        out = _to_columns(recs, FIELDS)
        # Per-batch counters travel as a column on the batch's first row.
        out["stats"] = [json.dumps(dict(stats)) if i == 0 else "" for i in range(len(recs))]
        return out


class _PhaseB:
    def __init__(self, cfg_dict: dict, w: np.ndarray, b: float) -> None:
        self.cfg = CurationConfig.from_dict(cfg_dict)
        self.phase = PhaseB(self.cfg, QualityModel(self.cfg.quality, w, b))

    def __call__(self, batch: dict) -> dict:
        recs = _to_records(batch)
        _, ehash, sig = self.phase(recs)
        out = _to_columns(recs, (*FIELDS, "quality"))
        live = [i for i, r in enumerate(recs) if not r["reason"]]
        full_h = np.zeros(len(recs), dtype=np.int64)
        full_s = np.zeros((len(recs), self.cfg.dedup.num_perm), dtype=np.uint32)
        full_h[live], full_s[live] = ehash, sig
        out["quality"] = [float(q or 0.0) for q in out["quality"]]
        out["ehash"], out["sig"] = full_h, full_s
        return out


def _init_ray(cfg: CurationConfig) -> None:
    import ray

    if ray.is_initialized():
        return
    if cfg.ray_address:
        ray.init(address=cfg.ray_address, log_to_driver=False)
    else:
        ray.init(num_cpus=cfg.ray_num_cpus, include_dashboard=False, log_to_driver=False)
    ray.data.DataContext.get_current().enable_progress_bars = True


def run_ray(cfg: CurationConfig) -> CurationResult:
    import ray

    files = list_inputs(cfg.inputs)
    if not files:
        raise FileNotFoundError(
            f"curation.inputs = {cfg.inputs}: no files found; pass --input PATH"
        )
    _init_ray(cfg)
    conc = max(1, cfg.ray_num_cpus)
    cfg_dict = cfg.to_dict()
    t0 = time.perf_counter()
    ds = ray.data.from_items([{"path": f} for f in files], override_num_blocks=len(files))
    ds = ds.flat_map(_ReadFile, fn_constructor_kwargs={"cfg_dict": cfg_dict}, concurrency=conc)
    ds_a = ds.map_batches(
        _PhaseA,
        fn_constructor_kwargs={"cfg_dict": cfg_dict},
        batch_size=cfg.reader.batch_size,
        concurrency=conc,
    ).materialize()
    stats: Counter = Counter()
    for row in ds_a.select_columns(["stats"]).iter_rows():
        stats.update(json.loads(row["stats"]) if row["stats"] else {})
    survivors_a = ds_a.filter(lambda r: r["reason"] == "").select_columns(["uid", "text"])
    t1 = time.perf_counter()
    model = train_quality(
        training_texts(survivors_a.take_all(), cfg.quality.max_train_docs), cfg, seed=0
    )
    t2 = time.perf_counter()
    ds_b = ds_a.drop_columns(["stats"]).map_batches(
        _PhaseB,
        fn_constructor_kwargs={"cfg_dict": cfg_dict, "w": model.w, "b": model.b},
        batch_size=cfg.reader.batch_size,
        concurrency=conc,
    )
    rows = ds_b.take_all()
    t3 = time.perf_counter()
    rejected = [r for r in rows if r["reason"]]
    live = [r for r in rows if not r["reason"]]
    ehash = np.array([r.pop("ehash") for r in live], dtype=np.int64)
    sig = (
        np.stack([np.asarray(r.pop("sig"), dtype=np.uint32) for r in live])
        if live
        else (np.zeros((0, cfg.dedup.num_perm), dtype=np.uint32))
    )
    kept, dedup_rejected, dstats = finalize(live, ehash, sig, cfg)
    stats.update({f"dedup_{k}": v for k, v in dstats.items()})
    timings = {"read_normalize_lid_filter": t1 - t0, "quality_train": t2 - t1}
    timings.update({"quality_minhash": t3 - t2, "dedup_resample": time.perf_counter() - t3})
    nbytes = sum(Path(f).stat().st_size for f in files if Path(f).is_file())
    return CurationResult(kept, rejected + dedup_rejected, stats, timings, nbytes, model)
