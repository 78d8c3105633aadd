"""document_signals and filtering as Dagster assets: signals, kept/rejected split, funnel metadata."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import polars as pl

from tests.resources import resources_for

P = "2026-11-24"

GOOD = (
    "The package manager keeps track of the software that is installed on the system. It resolves the "
    "dependencies of each package and downloads the files that are needed from a mirror. When a new version "
    "of a package is released, the tool can upgrade it together with the libraries that depend on it. The "
    "administrator can also hold a package at a fixed version, so that it is not changed by an upgrade of the "
    "whole system. Each action is recorded in a log file with the date and the list of packages."
)


def _corpus(root: Path) -> Path:
    d = root / "in" / P
    d.mkdir(parents=True)
    rows = [{"id": f"good{i}", "text": f"Section {i}. {GOOD} Contact admin{i}@example.org for help."} for i in range(4)]
    rows += [
        {"id": "short", "text": "Home. About. Contact."},
        {"id": "spam", "text": "BUY NOW cheap watches\n" * 30},
        {
            "id": "zh",
            "text": "软件包管理系统负责安装和升级系统中的软件。它会自动解决依赖关系，并从镜像下载所需的文件。"
            "管理员可以把某个软件包固定在特定版本，这样整体升级时就不会改变它。每一次操作都会连同日期和软件包列表"
            "记录在日志文件里。\n\n如果下载失败，工具会换用另一个镜像重试，并在结束时报告仍然缺少的文件。",
        },
    ]
    (d / "a.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n")
    recipe = root / "recipe.yaml"
    recipe.write_text(
        "name: tiny\nversion: 1\nseed: 7\nsources:\n  - {name: s, path: 'in/{partition}/*.jsonl', format: jsonl}\n"
    )
    return recipe


def test_signals_and_filtering_assets(tmp_path, winnow_home):
    from assets.curate import document_signals, filtering
    from assets.ingest import ingest

    recipe = _corpus(tmp_path)
    result = dg.materialize(
        [ingest, document_signals, filtering],
        partition_key=P,
        resources=resources_for(recipe),
    )
    assert result.success
    store = winnow_home / "storage"
    signals = pl.read_parquet(store / "document_signals" / f"{P}.parquet")
    kept = pl.read_parquet(store / "filtered_documents" / f"{P}.parquet")
    rejected = pl.read_parquet(store / "rejected_documents" / f"{P}.parquet")

    # every raw document is in exactly one of the two outputs, with all its signals
    assert signals.height == 7 and kept.height + rejected.height == 7
    assert set(kept["doc_id"]) | set(rejected["doc_id"]) == set(signals["doc_id"])
    assert {"gopher_n_words", "c4_sentences", "fineweb_line_punct_ratio", "text_redacted"} <= set(kept.columns)
    assert kept["keep"].all() and kept["drop_reason"].null_count() == kept.height

    by_id = {r["doc_id"].removeprefix("s:"): r for r in signals.iter_rows(named=True)}
    reasons = dict(zip(rejected["doc_id"].str.strip_prefix("s:"), rejected["drop_reason"]))
    assert set(kept["doc_id"].str.strip_prefix("s:")) == {"good0", "good1", "good2", "good3", "zh"}
    # repetition runs before quality (FineWeb order): a 3-word page already fails top_2_gram
    assert reasons == {"short": "top_2_gram", "spam": "dup_line_frac"}
    assert by_id["zh"]["lang_detected"] == "zh" and by_id["good0"]["lang_detected"] == "en"
    assert by_id["good1"]["pii_email"] == 1 and "[EMAIL]" in by_id["good1"]["text_redacted"]

    # the funnel table and its chart are in the metadata of both outputs
    mats = {
        m.asset_key.to_user_string(): m for m in result.get_asset_materialization_events() for m in [m.materialization]
    }
    meta = mats["rejected_documents"].metadata
    assert "top_2_gram" in meta["funnel"].value and "dup_line_frac" in meta["funnel"].value
    assert meta["funnel_chart"].value.startswith(
        "![documents and characters removed per reason](data:image/png;base64,"
    )
    assert "funnel_chart" in mats["filtered_documents"].metadata
    # whose thresholds judged each language: zh on FineWeb-2's, en on the defaults, none on a fallback
    sources = meta["thresholds_by_language"].value
    assert "| zh |" in sources and "FineWeb-2 configs/cmn_Hani.yml" in sources and "| en |" in sources
    assert meta["languages_on_fallback_thresholds"].value == []
