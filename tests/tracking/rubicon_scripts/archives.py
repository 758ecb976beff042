"""Run by rubicon-ml's own venv: archives made by ferry read back, and archives made here.

python archives.py read LOCAL REMOTE    unpack REMOTE's archives of "Archived" into LOCAL
python archives.py write LOCAL REMOTE   log two experiments in LOCAL, archive them to REMOTE
"""

import json
import sys

from rubicon_ml import Rubicon

mode, local, remote = sys.argv[1:4]
rb = Rubicon(persistence="filesystem", root_dir=local)
if mode == "read":
    project = rb.create_project("Archived")
    project.experiments_from_archive(Rubicon(persistence="filesystem", root_dir=remote))
    print(
        json.dumps(
            {
                e.id: {
                    "name": e.name,
                    "metrics": {m.name: m.value for m in e.metrics()},
                    "artifacts": {a.name: a.get_data().decode() for a in e.artifacts()},
                }
                for e in project.experiments()
            }
        )
    )
else:
    project = rb.create_project("Archived")
    ids = []
    for i in range(2):
        experiment = project.log_experiment(f"run-{i}", tags=["archived"])
        experiment.log_metric("accuracy", i / 10)
        experiment.log_artifact(data_bytes=f"weights {i}".encode(), name="model.bin")
        ids.append(experiment.id)
    Rubicon(persistence="filesystem", root_dir=remote).create_project("Archived")
    path = project.archive(remote_rubicon=Rubicon(persistence="filesystem", root_dir=remote))
    print(json.dumps({"ids": ids, "path": path}))
