"""Run by rubicon-ml's own venv: write a root with rubicon-ml and print what it wrote."""

import json
import sys

import numpy as np
import pandas as pd
from rubicon_ml import Rubicon

rb = Rubicon(persistence="filesystem", root_dir=sys.argv[1])
project = rb.create_project(
    "Example Project",
    description="written by rubicon-ml",
    training_metadata=[("s3://bucket/a.parquet", "SELECT * FROM a")],
)
one = project.log_experiment(
    "experiment one",
    model_name="RandomForest",
    branch_name="main",
    commit_hash="abc123",
    tags=["baseline", "rf"],
    comments=["initial comment"],
)
one.log_metric("accuracy", 0.93, tags=["score"])
one.log_metric("Log Loss", 0.21, directionality="loss")
one.log_parameter("n_estimators", 100)
one.log_parameter("layers", [64, 32])
one.log_parameter("np_int", np.int64(7))
one.log_feature("credit score", importance=0.25)
one.log_artifact(data_bytes=b"raw bytes", name="raw.bin", tags=["raw"])
one.log_artifact(data_object={"k": [1, 2]}, name="obj.pkl")
one.log_dataframe(pd.DataFrame({"x": [1, 2], "y": ["a", "b"]}), name="frame")
one.add_tags(["added"])
one.remove_tags(["rf"])
one.add_comments(["second comment"])
two = project.log_experiment("experiment two")
two.log_metric("accuracy", 0.5)
project.log_artifact(data_bytes=b"project bytes", name="project.bin")
print(json.dumps({"project_id": project.id, "one": one.id, "two": two.id}))
