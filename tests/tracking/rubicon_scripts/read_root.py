"""Run by rubicon-ml's own venv: read a root with rubicon-ml and print what it sees."""

import json
import sys

from rubicon_ml import Rubicon

rb = Rubicon(persistence="filesystem", root_dir=sys.argv[1])
seen = {"projects": [p.name for p in rb.projects()]}
project = rb.get_project("Example Project")
experiments = {}
for experiment in project.experiments():
    experiments[experiment.id] = {
        "name": experiment.name,
        "model_name": experiment.model_name,
        "tags": sorted(experiment.tags),
        "comments": sorted(experiment.comments),
        "metrics": {
            m.name: [m.value, m.directionality, sorted(m.tags)] for m in experiment.metrics()
        },
        "parameters": {p.name: p.value for p in experiment.parameters()},
        "features": {f.name: f.importance for f in experiment.features()},
        "artifacts": {a.name: a.get_data().decode("latin-1") for a in experiment.artifacts()},
        "dataframes": {
            d.name: d.get_data().to_dict(orient="list") for d in experiment.dataframes()
        },
    }
seen["experiments"] = experiments
seen["project_artifacts"] = {a.name: a.get_data().decode() for a in project.artifacts()}
seen["to_df_names"] = list(project.to_df()["name"])
seen["by_tag"] = [e.name for e in project.experiments(tags=["base*"])]
print(json.dumps(seen, default=str))
