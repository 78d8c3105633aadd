"""A snapshot of the real definitions: adding, renaming or dropping an asset, check, job,
schedule or sensor must be a deliberate change to this file, so wiring cannot drift silently."""

from pipelines.definitions import defs

ASSETS = {
    "annotation_sample",
    "annotations",
    "annotator_agreement",
    "curated_documents",
    "curated_release",
    "dedup_index",
    "dedup_signatures",
    "deduplicated_documents",
    "document_signals",
    "duplicates",
    "filtered_documents",
    "label_studio_tasks",
    "quality_estimates",
    "quality_model",
    "quarantine",
    "raw_documents",
    "rejected_documents",
    "scored_documents",
}
CHECKS = {
    "annotation_sample:annotation_sample_expectations",
    "annotations:annotations_expectations",
    "annotator_agreement:agreement_alpha_at_least_min",
    "curated_documents:curated_documents_expectations",
    "curated_release:manifest_matches_files",
    "curated_release:release_manifest_expectations",
    "quality_estimates:curated_quality_lower_bound",
    "raw_documents:all_files_readable",
    "raw_documents:raw_documents_expectations",
}
UNPARTITIONED = {"annotations", "annotator_agreement", "quality_model"}


def test_definitions_snapshot():
    repo = defs.get_repository_def()
    graph = repo.asset_graph
    assert {k.to_user_string() for k in graph.get_all_asset_keys()} == ASSETS
    assert {f"{c.asset_key.to_user_string()}:{c.name}" for c in graph.asset_check_keys} == CHECKS
    assert {j.name for j in repo.get_all_jobs()} - {"__ASSET_JOB"} == {"annotation_pull", "nightly_curation"}
    assert [s.name for s in repo.schedule_defs] == ["nightly_curation_schedule"]
    assert [s.name for s in repo.sensor_defs] == ["label_studio_annotations"]


def test_nightly_job_runs_every_partitioned_asset_and_pull_job_the_rest():
    repo = defs.get_repository_def()
    nightly = {k.to_user_string() for k in repo.get_job("nightly_curation").asset_layer.executable_asset_keys}
    pull = {k.to_user_string() for k in repo.get_job("annotation_pull").asset_layer.executable_asset_keys}
    assert nightly == ASSETS - UNPARTITIONED
    assert pull == UNPARTITIONED
