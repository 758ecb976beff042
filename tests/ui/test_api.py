"""The dashboard's JSON API and pages, through Starlette's test client (no browser)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from concurrent.futures import Executor, Future
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from ferry.devserver import LocalS3Server
from ferry.storage.base import StoredObject
from ferry.storage.local import LocalStore
from ferry.tracking import Rubicon
from ferry.ui.app import STATIC, create_app
from ferry.ui.model_source import ModelSource, summary
from ferry.ui.tracking_source import TrackingSource
from tests.support.recording import RecordingStore
from tests.ui.data import PROJECT, fill

Filled = tuple[Path, dict[str, Any]]
REF = {"root": 0, "project": PROJECT}


def rows(client: TestClient, **query: Any) -> dict[str, Any]:
    answer = client.get("/api/experiments", params={**REF, **query})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def names(page: dict[str, Any]) -> list[str]:
    return [row["name"] for row in page["rows"]]


def test_projects_have_counts_and_last_activity(client: TestClient, filled: Filled) -> None:
    answer = client.get("/api/projects").json()
    assert answer["roots"] == [str(filled[0])]
    (project,) = answer["projects"]
    assert project["name"] == PROJECT and project["experiments"] == 12
    assert project["last_activity"] >= project["created_at"]


class KeyRecorder(RecordingStore):
    """Records the key of every object read."""

    def __init__(self, inner: LocalStore) -> None:
        super().__init__(inner)
        self.keys: list[str] = []

    def get_object(self, key: str) -> StoredObject:
        self.keys.append(key)
        return super().get_object(key)


def test_columns_are_read_only_when_shown(filled: Filled) -> None:
    store = KeyRecorder(LocalStore(str(filled[0])))
    tracking = TrackingSource([(str(filled[0]), Rubicon(stores=[store]))])
    with TestClient(create_app(tracking, ModelSource([]), allowed_hosts=["testserver"])) as client:
        page = rows(client, columns="model_name,tags")
        assert len(page["rows"]) == 12 and set(page["rows"][0]) == {
            "id",
            "name",
            "model_name",
            "tags",
        }
        assert not [k for k in store.keys if "/metrics/" in k or "/parameters/" in k]
        page = rows(client, columns="metric:auc", sort="metric:auc")
        assert [k for k in store.keys if "/metrics/" in k]
        assert not [k for k in store.keys if "/parameters/" in k]
        assert all(isinstance(r["metric:auc"], float) for r in page["rows"])


def test_one_experiment_or_a_few_are_read_alone_not_the_whole_project(filled: Filled) -> None:
    store = KeyRecorder(LocalStore(str(filled[0])))
    tracking = TrackingSource([(str(filled[0]), Rubicon(stores=[store]))])
    first, second = (r["id"] for r in filled[1]["runs"][:2])
    with TestClient(create_app(tracking, ModelSource([]), allowed_hosts=["testserver"])) as client:
        rows(client)
        store.keys.clear()
        assert client.get("/api/experiment", params={**REF, "id": first}).status_code == 200
        compared = client.get("/api/compare", params={**REF, "ids": f"{first},{second}"})
        assert len(compared.json()["metrics"]) == 3
        series = {**REF, "ids": f"{first},{second}", "metric": "auc"}
        assert client.get("/api/series", params=series).json()["runs"][0]["last"] is not None
    entities = [k for k in store.keys if "/experiments/" in k and k.count("/") > 3]
    assert entities and all(k.split("/")[2] in (first, second) for k in entities)


def test_paging_and_sorting_on_any_column(client: TestClient, filled: Filled) -> None:
    runs = filled[1]["runs"]
    first = rows(client, sort="name", desc="0", limit=5)
    second = rows(client, sort="name", desc="0", limit=5, offset=5)
    assert names(first) + names(second) == sorted(r["name"] for r in runs)[:10]
    assert first["total"] == 12 and first["experiments"] == 12
    by_depth = rows(client, sort="param:max_depth", columns="param:max_depth", limit=100)
    depths = [r["param:max_depth"] for r in by_depth["rows"]]
    assert depths == sorted(depths, reverse=True)
    newest = rows(client)  # default: newest first
    assert names(newest)[0] == runs[-1]["name"]


def test_filters_by_name_tags_and_expressions(client: TestClient, filled: Filled) -> None:
    runs = filled[1]["runs"]
    assert sorted(names(rows(client, name="gbm-1*"))) == ["gbm-10", "gbm-11"]
    assert rows(client, name="GBM-0")["total"] == 10  # a substring, any case
    assert rows(client, tags="baseline")["total"] == 3
    assert rows(client, tags="baseline,opt:sgd", qtype="or")["total"] == 3 + 3
    assert rows(client, tags="baseline,opt:sgd", qtype="and")["total"] == 1
    assert rows(client, tags="opt:adam*")["total"] == 8  # adam and adamw: tracking's wildcards
    wanted = {r["name"] for r in runs if r["rate"] >= 0.01 and r["depth"] <= 5}
    page = rows(client, where="learning_rate >= 0.01 and params.max_depth <= 5", limit=100)
    assert set(names(page)) == wanted and page["total"] == len(wanted)
    both = rows(client, where="auc > 0", tags="sweep", name="gbm-0*")
    assert both["total"] == 7  # gbm-03 .. gbm-09


@pytest.mark.parametrize(
    ("query", "status", "message"),
    [
        ({"where": "auc >"}, 400, "not a valid expression"),
        ({"where": "nope > 1"}, 400, "No metric or parameter named 'nope'"),
        ({"sort": "metric:nope"}, 400, "No column 'metric:nope'"),
        ({"limit": "0"}, 400, "limit between 1 and 500"),
        ({"offset": "x"}, 400, "'offset' must be a whole number"),
        ({"project": "Nope"}, 404, "No project named 'Nope'"),
        ({"root": "3"}, 404, "No root number 3"),
    ],
)
def test_bad_queries_say_what_is_wrong(
    client: TestClient, query: dict[str, str], status: int, message: str
) -> None:
    answer = client.get("/api/experiments", params={**REF, **query})
    assert answer.status_code == status
    assert message in answer.json()["error"]


def test_compare_puts_parameters_and_metrics_side_by_side(
    client: TestClient, filled: Filled
) -> None:
    a, b, c = filled[1]["runs"][:3]
    ids = ",".join([a["id"], b["id"], c["id"]])
    answer = client.get("/api/compare", params={**REF, "ids": ids}).json()
    assert [r["name"] for r in answer["runs"]] == [a["name"], b["name"], c["name"]]
    params = {p["name"]: p for p in answer["params"]}
    assert params["learning_rate"]["values"] == [a["rate"], b["rate"], c["rate"]]
    assert params["learning_rate"]["differs"] is True
    metrics = {m["name"]: m for m in answer["metrics"]}
    assert metrics["loss"]["directionality"] == "loss"
    same = client.get("/api/compare", params={**REF, "ids": f"{a['id']},{a['id']}"}).json()
    assert len(same["runs"]) == 1 and not any(p["differs"] for p in same["params"])
    missing = client.get("/api/compare", params={**REF, "ids": "no-such-id"})
    assert missing.status_code == 404


def test_series_are_thinned_to_the_chart_width_with_exact_stats(
    client: TestClient, filled: Filled
) -> None:
    run = filled[1]["runs"][0]
    history = Rubicon(root_dir=str(filled[0])).get_project(PROJECT).experiment(id=run["id"])
    values = [p["value"] for p in history.metric_history("loss")]
    query = {**REF, "ids": run["id"], "metric": "loss"}
    full = client.get("/api/series", params={**query, "width": 800}).json()["runs"][0]
    assert full["y"] == values and full["x"] == list(range(120))
    thin = client.get("/api/series", params={**query, "width": 16}).json()["runs"][0]
    assert len(thin["x"]) <= 2 * 16 + 2 < 120
    assert (thin["min"], thin["max"], thin["last"], thin["count"]) == (
        min(values),
        max(values),
        values[-1],
        120,
    )
    assert min(values) in thin["y"] and max(values) in thin["y"]


def test_series_x_axis_by_time_and_without_steps(client: TestClient, filled: Filled) -> None:
    run = filled[1]["runs"][1]
    query = {**REF, "ids": run["id"], "metric": "loss"}
    timed = client.get("/api/series", params={**query, "x": "time"}).json()["runs"][0]
    assert timed["x"][1] - timed["x"][0] == pytest.approx(5.0)  # logged 5 s apart
    relative = client.get("/api/series", params={**query, "x": "relative"}).json()["runs"][0]
    assert relative["x"][0] == 0.0 and relative["x"][-1] == pytest.approx(119 * 5)
    single = client.get("/api/series", params={**query, "metric": "auc"}).json()["runs"][0]
    assert single["count"] == 0 and single["x"] == [] and single["last"] is not None
    unknown = client.get("/api/series", params={**query, "metric": "nope"}).json()["runs"][0]
    assert unknown["count"] == 0 and unknown["last"] is None
    assert client.get("/api/series", params={**query, "x": "epoch"}).status_code == 400


def test_experiment_detail_artifacts_and_dataframe_preview(
    client: TestClient, filled: Filled
) -> None:
    run = filled[1]["runs"][0]
    detail = client.get("/api/experiment", params={**REF, "id": run["id"]}).json()
    assert detail["name"] == run["name"] and detail["tags"] == sorted(run["tags"])
    assert {p["name"]: p["value"] for p in detail["params"]}["max_depth"] == run["depth"]
    importances = [f["importance"] for f in detail["features"]]
    assert importances == sorted(importances, reverse=True) and len(importances) == 3
    (artifact,) = detail["artifacts"]
    download = client.get(
        "/api/artifact", params={**REF, "id": run["id"], "artifact": artifact["id"]}
    )
    assert download.content == b"weights \x00\x01"
    assert download.headers["content-disposition"] == "attachment; filename*=UTF-8''model.bin"
    (frame,) = detail["dataframes"]
    preview = client.get(
        "/api/dataframe", params={**REF, "id": run["id"], "dataframe": frame["id"], "rows": 2}
    ).json()
    assert preview["shape"] == [3, 3]
    assert [c["dtype"] for c in preview["schema"]] == ["int64", "bool", "float64"]
    assert preview["rows"] == [[1, True, 0.9], [2, False, 0.2]]


def test_a_damaged_file_is_an_error_the_page_shows_not_a_traceback(tmp_path: Path) -> None:
    import pandas as pd

    rubicon = Rubicon(root_dir=str(tmp_path / "root"))
    run = rubicon.create_project("p").log_experiment("run")
    frame = run.log_dataframe(pd.DataFrame({"a": [1, 2]}))
    (data,) = (tmp_path / "root").rglob("*.parquet")
    data.write_bytes(b"not parquet at all")
    tracking = TrackingSource([("root", rubicon)], refresher=Inline())
    with TestClient(create_app(tracking, ModelSource([]), allowed_hosts=["testserver"])) as client:
        query = {"root": 0, "project": "p", "id": run.id, "dataframe": frame.id}
        answer = client.get("/api/dataframe", params=query)
    assert answer.status_code == 500
    assert answer.json()["error"].startswith("Could not read it: ")


def test_models_show_domains_versions_states_and_metadata(client: TestClient) -> None:
    domains = client.get("/api/models").json()
    (churn,) = domains["domains"]
    assert churn["domain"] == "churn" and churn["versions"] == 2
    versions = client.get("/api/models/versions", params={"root": 0, "domain": "churn"}).json()
    newer, older = versions["versions"]
    assert newer["model_id"] == churn["latest"] and newer["states"] == ["production"]
    assert older["states"] == [] and newer["extra_metadata"] == {"auc": 0.88}
    one = client.get(
        "/api/models/version",
        params={"root": 0, "domain": "churn", "model_id": older["model_id"]},
    ).json()
    assert one["record"]["extra"] == {"auc": 0.86} and one["flavour"] == newer["flavour"]
    gone = client.get("/api/models/versions", params={"root": 4, "domain": "churn"})
    assert gone.status_code == 404


def test_pages_are_shells_under_a_policy_that_allows_no_other_origin(client: TestClient) -> None:
    pages = (("/", "projects"), ("/compare", "compare"), ("/models", "models"), ("/run", "run"))
    for path, script in pages:
        page = client.get(path)
        assert page.status_code == 200 and f'src="/static/{script}.js"' in page.text
        policy = page.headers["content-security-policy"]
        assert "default-src 'self'" in policy and "connect-src 'self'" in policy
    ours = "".join(p.read_text() for p in STATIC.glob("*.[jc]s*"))
    assert not re.search(r"https?://|[\"'`]//", ours)  # no absolute URL: nothing leaves
    script = client.get("/static/ferry.js")
    assert script.headers["content-type"].startswith("text/javascript")
    assert script.headers["cache-control"] == "no-cache"


def test_vendored_files_match_their_record() -> None:
    record = json.loads((STATIC / "vendor" / "VENDORED.json").read_text())
    on_disk = {p.name for p in (STATIC / "vendor").iterdir()} - {"VENDORED.json"}
    assert {entry["file"] for entry in record} == on_disk
    for entry in record:
        data = (STATIC / "vendor" / entry["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], entry["file"]
        assert entry["version"] and entry["license"] in {"MIT", "Apache-2.0"}


def test_other_host_names_are_refused(client: TestClient) -> None:
    """A web page cannot reach the dashboard by rebinding its own name to 127.0.0.1."""
    assert client.get("/api/projects", headers={"host": "attacker.example"}).status_code == 400


class Inline(Executor):
    """Runs what is submitted at once: background refreshes, made deterministic."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        future.set_result(fn(*args, **kwargs))
        return future


def test_a_stale_listing_is_served_while_it_is_listed_again(tmp_path: Path) -> None:
    now = [0.0]
    rubicon = Rubicon(root_dir=str(tmp_path / "root"))
    project = rubicon.create_project("p")
    project.log_experiment("first")
    tracking = TrackingSource(
        [("root", rubicon)], max_age=60, clock=lambda: now[0], refresher=Inline()
    )
    with TestClient(create_app(tracking, ModelSource([]), allowed_hosts=["testserver"])) as client:
        query = {"root": 0, "project": "p"}
        total = lambda: client.get("/api/experiments", params=query).json()["total"]  # noqa: E731
        assert total() == 1
        project.log_experiment("second")
        now[0] = 59
        assert total() == 1
        now[0] = 61
        assert total() == 1  # served at once; listed again behind it
        assert total() == 2
        project.log_experiment("third")
        assert client.get("/api/experiments", params={**query, "refresh": "1"}).json()["total"] == 3


def test_prefetch_lists_every_project_before_any_page_asks(filled: Filled) -> None:
    store = KeyRecorder(LocalStore(str(filled[0])))
    tracking = TrackingSource([(str(filled[0]), Rubicon(stores=[store]))], refresher=Inline())
    tracking.prefetch()
    listed = len(store.keys)
    assert listed > 12  # the project, its experiments and their tags
    with TestClient(create_app(tracking, ModelSource([]), allowed_hosts=["testserver"])) as client:
        assert rows(client)["total"] == 12
    assert len(store.keys) == listed  # the page found it ready


def test_a_series_is_read_again_only_when_it_grew(tmp_path: Path) -> None:
    rubicon = Rubicon(root_dir=str(tmp_path / "root"))
    run = rubicon.create_project("p").log_experiment("run")
    for step in range(5):
        run.log_metric("loss", 1 / (step + 1), step=step)
    now = [0.0]
    tracking = TrackingSource([("root", rubicon)], clock=lambda: now[0], refresher=Inline())
    with TestClient(create_app(tracking, ModelSource([]), allowed_hosts=["testserver"])) as client:
        project = {"root": 0, "project": "p"}
        query = {**project, "ids": run.id, "metric": "loss"}
        count = lambda: client.get("/api/series", params=query).json()["runs"][0]["count"]  # noqa: E731
        assert count() == 5
        run.log_metric("loss", 0.1, step=5)
        assert count() == 5  # from memory: nothing says it changed
        client.get("/api/experiments", params={**project, "refresh": "1"})
        assert count() == 6  # a reload reads series again
        client.get("/api/columns", params=project)  # the listing now has metric values
        run.log_metric("loss", 0.05, step=6)
        now[0] = 100
        client.get("/api/experiments", params=project)  # stale: listed again behind it
        assert count() == 7  # the listing's latest value is newer than the series' last


@pytest.mark.s3
def test_an_s3_root_reads_the_same(
    s3_server: LocalS3Server, bucket: str, dev_credentials: None
) -> None:
    url = f"s3://{bucket}/rubicon"
    options = {"endpoint_url": s3_server.url, "region": "us-east-1"}
    info = fill(Rubicon(root_dir=url, **options), experiments=3, steps=30)
    tracking = TrackingSource.open([url], **options)
    with TestClient(create_app(tracking, ModelSource([]), allowed_hosts=["testserver"])) as client:
        assert client.get("/api/projects").json()["projects"][0]["experiments"] == 3
        page = rows(
            client, where="auc > 0", columns="metric:auc,param:optimizer", sort="name", desc="0"
        )
        assert names(page) == ["gbm-00", "gbm-01", "gbm-02"]
        ids = ",".join(r["id"] for r in info["runs"])
        series = client.get("/api/series", params={**REF, "ids": ids, "metric": "accuracy"})
        assert [r["count"] for r in series.json()["runs"]] == [30, 30, 30]


def test_model_records_are_read_in_modelstores_shape() -> None:
    nested = {  # modelstore's get_model_info: model, storage, code, extra
        "model": {
            "domain": "churn",
            "model_id": "e7a1",
            "model_type": {"library": "sklearn", "type": "RandomForestClassifier"},
            "parameters": {"n_estimators": 20},
        },
        "storage": {"type": "aws-s3", "path": "s3://b/operatorai-model-store/churn/e7a1"},
        "code": {"runtime": "python:3.11", "created": "2026/11/27/10:00:00"},
        "modelstore": "0.0.81",
        "extra": {"auc": 0.91},
    }
    assert summary(nested) == {
        "model_id": "e7a1",
        "created_at": "2026/11/27/10:00:00",
        "flavour": "sklearn",
        "model_type": "sklearn.RandomForestClassifier",
        "extra_metadata": {"auc": 0.91},
    }


def test_several_roots_are_shown_side_by_side(filled: Filled, tmp_path: Path) -> None:
    other = Rubicon(root_dir=str(tmp_path / "other"))
    other.create_project(PROJECT).log_experiment("elsewhere")
    tracking = TrackingSource.open([str(filled[0]), str(tmp_path / "other")])
    with TestClient(create_app(tracking, ModelSource([]), allowed_hosts=["testserver"])) as client:
        answer = client.get("/api/projects").json()
        assert answer["roots"] == [str(filled[0]), str(tmp_path / "other")]
        counts = {(p["root"], p["name"]): p["experiments"] for p in answer["projects"]}
        assert counts == {(0, PROJECT): 12, (1, PROJECT): 1}
        assert names(rows(client, root=1)) == ["elsewhere"]
