"""Run the same script with rubicon-ml (in its own venv) and with ferry, on the same root,
and print what each saw: the two outputs must match.

    python behaviour.py rubicon|ferry ROOT SCRATCH

ROOT is read only (written beforehand by the test); SCRATCH is a folder of this run's own.
"""

import io
import json
import logging
import os
import sys
import uuid
import warnings

LIB, ROOT, SCRATCH = sys.argv[1:4]
if LIB == "rubicon":
    from rubicon_ml import Rubicon, RubiconJSON, set_failure_mode
else:
    from ferry.tracking import Rubicon, RubiconJSON, set_failure_mode

seen = {}


def caught(call):
    """What ``call`` returned (or raised), and the warnings it gave, by category."""
    with warnings.catch_warnings(record=True) as found:
        warnings.simplefilter("always")
        try:
            result = call()
        except Exception as exc:
            result = f"raised {type(exc).__name__}: {str(exc).splitlines()[0]}"
    shown = [
        f"{w.category.__name__}: {w.message}"
        for w in found
        if "RubiconJSON" not in str(w.message)  # rubicon-ml deprecates it; ferry does not
    ]
    return result, shown


rb = Rubicon(persistence="filesystem", root_dir=ROOT)
project = rb.get_project("Example Project")
experiments, seen["experiments_warnings"] = caught(project.experiments)
by_name = {e.name: e for e in experiments}
parent, child = by_name["parent run"], by_name["child run"]

seen["str"] = {
    "project": str(project),
    "experiment": str(child),
    "metric": str(parent.metric("accuracy")),
    "parameter": str(parent.parameter("optimizer")),
    "feature": str(parent.feature("age")),
    "artifact": str(parent.artifacts()[0]),
    "dataframe": str(parent.dataframes()[0]),
}
seen["children"] = [e.id for e in parent.get_child_experiments()]
seen["parents"] = [e.id for e in child.get_parent_experiments()]
seen["no_children"] = [e.id for e in child.get_child_experiments()]
seen["multiple"] = caught(lambda: project.experiment(name="dup").id)[1]
seen["multiple_artifacts"] = caught(lambda: parent.artifact(name="twice").id)[1]
seen["tag_slice"] = type(parent.tags[0:1]).__name__
seen["tag_key"] = child.tags["parent"]
seen["recursive_dataframes"] = sorted(d.name for d in project.dataframes(recursive=True))
seen["flat_dataframes"] = sorted(d.name for d in project.dataframes())
frame = rb.get_project_as_df("Example Project")
seen["as_df"] = [list(frame["name"]), sorted(frame.columns)]
seen["dask_df"] = caught(lambda: rb.get_project_as_dask_df("Example Project") is not None)[1]

artifact = parent.artifact(name="obj.pkl")
seen["unpickle"] = caught(lambda: artifact.get_data(unpickle=True))
seen["data_property"] = caught(lambda: len(artifact.data))[1]
with artifact.temporary_download() as folder:
    seen["temporary_download"] = [sorted(os.listdir(folder)), os.path.isdir(folder)]
seen["temporary_download_gone"] = os.path.exists(folder)
zipped = parent.artifact(name="folder.zip")
with zipped.temporary_download(unzip=True) as folder:
    seen["temporary_unzip"] = sorted(os.listdir(folder))

query = RubiconJSON(rubicon_objects=rb)
found = query.search("$..experiment[?(@.name == 'child run')]")
seen["json_child"] = [m.value["id"] for m in found]
seen["json_high"] = sorted(m.value["name"] for m in query.search("$..metric[?(@.value > 0.5)]"))
seen["json_params"] = sorted(m.value["name"] for m in query.search("$..parameter[*]"))
seen["json_projects"] = [p["name"] for p in query.json["project"]]
only = RubiconJSON(experiments=[child, parent])
seen["json_experiments"] = [e["name"] for e in only.json["experiment"]]
seen["json_bad"] = caught(lambda: RubiconJSON(projects=["not a project"]))[0].split(":")[0]

set_failure_mode("warn")
result, shown = caught(lambda: rb.get_project("missing"))
seen["failure_warn"] = [result, ["No project with name 'missing' found." in w for w in shown]]
set_failure_mode("log")
stream = io.StringIO()
handler = logging.StreamHandler(stream)
logging.getLogger().addHandler(handler)
result = rb.get_project("missing")
seen["failure_log"] = [result, "No project with name 'missing'" in stream.getvalue()]
logging.getLogger().removeHandler(handler)
set_failure_mode("raise")
seen["failure_bad_mode"] = caught(lambda: set_failure_mode("ignore"))[0]

name = f"shared-{uuid.uuid4().hex}"
Rubicon(persistence="memory").create_project(name)
seen["memory_shared"] = name in [p.name for p in Rubicon(persistence="memory").projects()]

both = Rubicon(
    composite_config=[
        {"persistence": "filesystem", "root_dir": os.path.join(SCRATCH, "a")},
        {"persistence": "filesystem", "root_dir": os.path.join(SCRATCH, "b")},
    ]
)
seen["composite_missing"] = caught(lambda: both.get_project("missing"))[0].split(":")[:2]
print(json.dumps(seen, default=str))
